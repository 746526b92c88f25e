// libsoxr: band-limited sample-rate conversion; librosa's default resampler (soxr_hq) is the same library.
#include <soxr.h>
