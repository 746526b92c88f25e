// libsndfile: decodes WAV/FLAC/OGG/Opus/MP3 (Debian's libsndfile 1.2).
#include <sndfile.h>
