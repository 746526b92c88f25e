// See include/muscaps_blas.h for why OpenBLAS is loaded here rather than linked.
#define _GNU_SOURCE
#include "muscaps_blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

// CBLAS's enum values (cblas.h): part of its ABI, so they are stable.
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

// --- Choosing the kernel -------------------------------------------------------------------------------------

muscaps_cpu_features muscaps_cpu_features_detect(void) {
    muscaps_cpu_features features = {0};
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return features;
    bool osxsave = ecx & (1u << 27), avx = ecx & (1u << 28), fma = ecx & (1u << 12);
    if (!osxsave || !avx) return features;
    // The OS must save the vector registers on context switches (XCR0), or using them corrupts other processes'
    // state: bits 1–2 for the 256-bit YMM state, bits 5–7 for the AVX-512 mask and ZMM state.
    unsigned xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    bool ymm_saved = (xcr0_low & 0x6) == 0x6;
    bool zmm_saved = ymm_saved && (xcr0_low & 0xE0) == 0xE0;
    if (!ymm_saved || __get_cpuid_max(0, NULL) < 7) return features;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    features.fma = fma;
    features.avx2 = ebx & (1u << 5);
    features.avx512f = zmm_saved && (ebx & (1u << 16));
    features.avx512dq = zmm_saved && (ebx & (1u << 17));
    features.avx512bw = zmm_saved && (ebx & (1u << 30));
    features.avx512vl = zmm_saved && (ebx & (1u << 31));
#endif
    return features;
}

const char *muscaps_blas_choose_coretype(muscaps_cpu_features f, const char *user_coretype,
                                         muscaps_blas_choice_source *source) {
    // A user's setting wins: some machines set it on purpose (older OpenBLAS builds compute wrong results on
    // some CPUs with their auto-detected kernels), and it is how one compares kernels.
    if (user_coretype && *user_coretype) {
        if (source) *source = MUSCAPS_BLAS_CHOICE_ENVIRONMENT;
        return user_coretype;
    }
    // By features, not model: SkylakeX is OpenBLAS's AVX-512 (F/BW/DQ/VL) set, and Haswell its AVX2+FMA set.
    // For float32 these are also the kernels of the newer names it knows (Cooperlake and SapphireRapids add
    // only bfloat16 routines on top of SkylakeX; Zen uses the Haswell SGEMM), so choosing by features loses
    // nothing on CPUs OpenBLAS recognises and gives CPUs it does not know the same kernels.
    if (source) *source = MUSCAPS_BLAS_CHOICE_CPU_FEATURES;
    // (The AVX-512 kernels also use AVX2 and FMA instructions; every CPU with AVX-512 has them.)
    bool avx2_fma = f.avx2 && f.fma;
    if (avx2_fma && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) return "SkylakeX";
    if (avx2_fma) return "Haswell";
    if (source) *source = MUSCAPS_BLAS_CHOICE_LIBRARY;
    return NULL;
}

// --- Loading OpenBLAS ----------------------------------------------------------------------------------------

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef float (*sdot_fn)(int, const float *, int, const float *, int);
typedef void (*sscal_fn)(int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_string_fn)(void);

static struct {
    sgemm_fn sgemm;
    sgemv_fn sgemv;
    sdot_fn sdot;
    sscal_fn sscal;
    set_threads_fn set_threads;
    get_threads_fn get_threads;
    get_string_fn corename;
    get_string_fn config;
    const char *requested;
    muscaps_blas_choice_source choice;
    char requested_storage[64];
    char path[4096];
    char error[1024];
} blas;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_bool loaded = false;

// Debian installs the runtime library as libopenblas.so.0 (an alternatives link to the pthread or OpenMP
// build); the unversioned name exists only with the -dev package.
static const char *const library_names[] = {"libopenblas.so.0", "libopenblas.so"};

static void load_library(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *choice = muscaps_blas_choose_coretype(muscaps_cpu_features_detect(), user, &blas.choice);
    if (choice) {
        snprintf(blas.requested_storage, sizeof blas.requested_storage, "%s", choice);
        blas.requested = blas.requested_storage;
    }
    bool set_here = choice && blas.choice == MUSCAPS_BLAS_CHOICE_CPU_FEATURES;
    if (set_here) setenv("OPENBLAS_CORETYPE", choice, 1);
    void *handle = NULL;
    for (size_t i = 0; i < sizeof library_names / sizeof *library_names && !handle; i++) {
        handle = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
    }
    // OpenBLAS read the variable in its constructor during dlopen; put the environment back as the user had it.
    if (set_here) unsetenv("OPENBLAS_CORETYPE");
    if (!handle) {
        snprintf(blas.error, sizeof blas.error, "cannot load OpenBLAS (libopenblas.so.0): %s; install Debian's libopenblas0",
                 dlerror());
        return;
    }
    blas.sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    blas.sgemv = (sgemv_fn)dlsym(handle, "cblas_sgemv");
    blas.sdot = (sdot_fn)dlsym(handle, "cblas_sdot");
    blas.sscal = (sscal_fn)dlsym(handle, "cblas_sscal");
    blas.set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    blas.get_threads = (get_threads_fn)dlsym(handle, "openblas_get_num_threads");
    blas.corename = (get_string_fn)dlsym(handle, "openblas_get_corename");
    blas.config = (get_string_fn)dlsym(handle, "openblas_get_config");
    if (!blas.sgemm || !blas.sgemv || !blas.sdot || !blas.sscal || !blas.set_threads || !blas.get_threads ||
        !blas.corename || !blas.config) {
        snprintf(blas.error, sizeof blas.error, "the library loaded as libopenblas.so.0 lacks OpenBLAS's CBLAS symbols");
        return;
    }
    Dl_info info;
    if (dladdr((void *)blas.sgemm, &info) && info.dli_fname) snprintf(blas.path, sizeof blas.path, "%s", info.dli_fname);
    atomic_store_explicit(&loaded, true, memory_order_release);
}

bool muscaps_blas_load(void) {
    if (atomic_load_explicit(&loaded, memory_order_acquire)) return true;
    pthread_once(&load_once, load_library);
    return atomic_load_explicit(&loaded, memory_order_acquire);
}

const char *muscaps_blas_error(void) {
    return muscaps_blas_load() ? NULL : blas.error;
}

/// Every numeric entry point needs the library; without it there is no result to return, so stop with the reason.
static inline void require_library(void) {
    if (__builtin_expect(atomic_load_explicit(&loaded, memory_order_acquire), 1)) return;
    if (!muscaps_blas_load()) {
        fprintf(stderr, "error: %s\n", blas.error);
        exit(70);  // EX_SOFTWARE
    }
}

const char *muscaps_blas_corename(void) { require_library(); return blas.corename(); }
const char *muscaps_blas_config(void) { require_library(); return blas.config(); }
const char *muscaps_blas_requested_coretype(void) { require_library(); return blas.requested; }
muscaps_blas_choice_source muscaps_blas_choice(void) { require_library(); return blas.choice; }
const char *muscaps_blas_library_path(void) { require_library(); return blas.path; }

void muscaps_sgemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    require_library();
    blas.sgemm(CBLAS_ROW_MAJOR, transpose_a ? CBLAS_TRANS : CBLAS_NO_TRANS, transpose_b ? CBLAS_TRANS : CBLAS_NO_TRANS,
               m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void muscaps_sgemv(bool transpose, int m, int n, float alpha, const float *a, int lda,
                   const float *x, int incx, float beta, float *y, int incy) {
    require_library();
    blas.sgemv(CBLAS_ROW_MAJOR, transpose ? CBLAS_TRANS : CBLAS_NO_TRANS, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

float muscaps_sdot(int n, const float *x, int incx, const float *y, int incy) {
    require_library();
    return blas.sdot(n, x, incx, y, incy);
}

void muscaps_sscal(int n, float alpha, float *x, int incx) {
    require_library();
    blas.sscal(n, alpha, x, incx);
}

void muscaps_blas_set_threads(int threads) { require_library(); blas.set_threads(threads); }
int muscaps_blas_threads(void) { require_library(); return blas.get_threads(); }
