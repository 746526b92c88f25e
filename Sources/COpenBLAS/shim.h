// OpenBLAS (pthread build): cblas_sgemm/sgemv for convolutions (im2col) and dense layers.
// Debian keeps cblas.h under the multiarch openblas-pthread directory; pkg-config "openblas" adds it to the path.
#include <cblas.h>

/// Sets the number of BLAS threads (exposed so callers need not know OpenBLAS's own symbol).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
