// FFTW3, single precision (fftwf_*): real-to-complex transforms for the STFT.
#include <fftw3.h>
