#ifndef MUSCAPS_BLAS_H
#define MUSCAPS_BLAS_H
// The BLAS the project calls, loaded at run time so that its kernels can be chosen first.
//
// Debian's OpenBLAS is built with DYNAMIC_ARCH: when the library loads, it picks one set of kernels from the
// CPU *model* (or from OPENBLAS_CORETYPE, which it reads exactly then). A CPU newer than the library gets its
// SSE3 "Prescott" fallback — 3× slower than the AVX-512 kernels on the same chip. So nothing links
// libopenblas: the first call here (or muscaps_blas_load, which every executable calls first thing in main)
// decides the kernel from the CPU's features, sets OPENBLAS_CORETYPE for the moment of dlopen and restores
// the environment afterwards, so child processes see what the user set and nothing else.
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set features the kernels need, each usable only if the CPU has it AND the OS saves its registers.
typedef struct {
    bool avx2;
    bool fma;
    bool avx512f;
    bool avx512bw;
    bool avx512dq;
    bool avx512vl;
} muscaps_cpu_features;

/// Where the kernel choice came from.
typedef enum {
    /// The user set OPENBLAS_CORETYPE: respected as it is.
    MUSCAPS_BLAS_CHOICE_ENVIRONMENT = 0,
    /// Chosen from the CPU's features (cpuid).
    MUSCAPS_BLAS_CHOICE_CPU_FEATURES = 1,
    /// The CPU has neither AVX2+FMA nor AVX-512: OpenBLAS chose on its own.
    MUSCAPS_BLAS_CHOICE_LIBRARY = 2,
} muscaps_blas_choice_source;

/// This CPU's features (cpuid + xgetbv); all false on other architectures.
muscaps_cpu_features muscaps_cpu_features_detect(void);

/// The OPENBLAS_CORETYPE to load OpenBLAS with, given the CPU's features and the user's setting (NULL or ""
/// when unset). Returns NULL when OpenBLAS should choose itself. Pure: no global state, for tests.
const char *muscaps_blas_choose_coretype(muscaps_cpu_features features, const char *user_coretype,
                                         muscaps_blas_choice_source *source);

/// Chooses the kernel and loads OpenBLAS, once per process (thread-safe; later calls return at once).
/// Returns false when OpenBLAS cannot be loaded; muscaps_blas_error() says why. Call it at the top of main,
/// while the process has one thread (it sets and restores an environment variable).
bool muscaps_blas_load(void);
/// Why loading failed (NULL after a successful load).
const char *muscaps_blas_error(void);
/// The kernel set OpenBLAS runs (openblas_get_corename: "SkylakeX", "Haswell", "Prescott" …); loads if needed.
const char *muscaps_blas_corename(void);
/// OpenBLAS's build description (openblas_get_config); loads if needed.
const char *muscaps_blas_config(void);
/// The OPENBLAS_CORETYPE the library was loaded with (NULL when OpenBLAS chose itself).
const char *muscaps_blas_requested_coretype(void);
muscaps_blas_choice_source muscaps_blas_choice(void);
/// The file the library was loaded from.
const char *muscaps_blas_library_path(void);

// CBLAS, row-major only; the first call loads the library if muscaps_blas_load was not called.
void muscaps_sgemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void muscaps_sgemv(bool transpose, int m, int n, float alpha, const float *a, int lda,
                   const float *x, int incx, float beta, float *y, int incy);
float muscaps_sdot(int n, const float *x, int incx, const float *y, int incy);
void muscaps_sscal(int n, float alpha, float *x, int incx);
void muscaps_blas_set_threads(int threads);
int muscaps_blas_threads(void);

#ifdef __cplusplus
}
#endif
#endif
