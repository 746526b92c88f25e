// FFTW3, double precision (fftw_*): real-to-complex transforms for the STFT, in float64 as librosa computes them.
#include <fftw3.h>
