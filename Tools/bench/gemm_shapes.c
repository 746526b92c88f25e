// musicnn's GEMMs, one window's worth, on each BLAS this machine has: OpenBLAS (kernels chosen by
// OPENBLAS_CORETYPE, as the environment of this process sets it), BLIS and oneDNN (both dispatch on CPU features
// at run time). Prints per-backend time per window (median of interleaved repetitions), the error of each
// result against a double-precision reference, and the machine's peak SGEMM throughput (the "GEMM bound").
//
// Built and run by Tools/bench/gemm_backends.sh (one process per OpenBLAS kernel: OpenBLAS reads
// OPENBLAS_CORETYPE once, when it loads). Libraries are dlopen-ed with RTLD_LOCAL, so their identically named
// CBLAS symbols do not clash. This is a measuring harness, not a GEMM implementation.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { int m, n, k, lda; int beta_one; const char *layer; } Shape;

// The GEMMs TimeFreqConv2D issues for one 187-frame window (Sources/NeuralCore/Conv2D.swift): im2col blocks of
// at most 2^19 floats, or kernelTime shifted GEMMs when the kernel spans every frequency.
static int window_shapes(Shape *out) {
    struct { int in_freq, kt, kf, filters; const char *name; } convs[] = {
        {96, 7, 38, 204, "timbral 7x38"}, {96, 7, 67, 204, "timbral 7x67"}, {96, 128, 1, 51, "temporal 128x1"},
        {96, 64, 1, 51, "temporal 64x1"}, {96, 32, 1, 51, "temporal 32x1"}, {561, 7, 561, 64, "mid-end 1"},
        {64, 7, 64, 64, "mid-end 2"}, {64, 7, 64, 64, "mid-end 3"},
    };
    int count = 0, frames = 187;
    for (size_t c = 0; c < sizeof convs / sizeof *convs; c++) {
        int out_freq = convs[c].in_freq - convs[c].kf + 1, patch = convs[c].kt * convs[c].kf;
        if (convs[c].kf == convs[c].in_freq) {
            for (int dt = 0; dt < convs[c].kt; dt++)
                out[count++] = (Shape){frames, convs[c].filters, convs[c].in_freq, convs[c].in_freq, dt > 0, convs[c].name};
        } else {
            int row = out_freq * patch, block = (1 << 19) / row;
            if (block > frames) block = frames;
            for (int start = 0; start < frames; start += block) {
                int f = frames - start < block ? frames - start : block;
                out[count++] = (Shape){f * out_freq, convs[c].filters, patch, patch, 0, convs[c].name};
            }
        }
    }
    out[count++] = (Shape){1, 200, 1506, 1506, 0, "dense 200"};
    out[count++] = (Shape){1, 50, 200, 200, 0, "dense 50"};
    return count;
}

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t, const float *, int64_t, float, float *, int64_t);

typedef struct {
    const char *name;
    cblas_sgemm_fn cblas;
    dnnl_sgemm_fn dnnl;
    void (*set_threads)(int);
    int split;  // 2: two persistent threads each run half the rows single-threaded
} Backend;

static void sgemm(const Backend *b, int m, int n, int k, const float *a, int lda, const float *bm, int ldb, float beta, float *c, int ldc) {
    if (b->dnnl) b->dnnl('N', 'N', m, n, k, 1.0f, a, lda, bm, ldb, beta, c, ldc);
    else b->cblas(101, 111, 111, m, n, k, 1.0f, a, lda, bm, ldb, beta, c, ldc);
}

// --- the row split: a persistent helper thread takes the lower half of every GEMM --------------------------
static struct {
    pthread_barrier_t start, done;
    const Backend *backend;
    int m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float beta, *c;
    int quit;
} job;

static void *helper(void *unused) {
    (void)unused;
    for (;;) {
        pthread_barrier_wait(&job.start);
        if (job.quit) return NULL;
        int top = job.m / 2;
        sgemm(job.backend, job.m - top, job.n, job.k, job.a + (size_t)top * job.lda, job.lda, job.b, job.ldb, job.beta,
              job.c + (size_t)top * job.ldc, job.ldc);
        pthread_barrier_wait(&job.done);
    }
}

static void split_sgemm(const Backend *b, int m, int n, int k, const float *a, int lda, const float *bm, int ldb, float beta, float *c, int ldc) {
    if (m < 64) { sgemm(b, m, n, k, a, lda, bm, ldb, beta, c, ldc); return; }
    job.backend = b; job.m = m; job.n = n; job.k = k; job.a = a; job.lda = lda; job.b = bm; job.ldb = ldb; job.beta = beta;
    job.c = c; job.ldc = ldc;
    pthread_barrier_wait(&job.start);
    sgemm(b, m / 2, n, k, a, lda, bm, ldb, beta, c, ldc);
    pthread_barrier_wait(&job.done);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// CPU time of the whole process (all its threads): on a machine shared with other work, this is what the
/// GEMMs cost, whatever the wait for a core was; wall time is reported beside it.
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv) {
    int repetitions = argc > 1 ? atoi(argv[1]) : 30;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    setenv("OMP_NUM_THREADS", threads == 2 ? "2" : "1", 1);  // oneDNN and BLIS here are OpenMP builds

    Backend backends[8];
    int count = 0;
    void *openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    char openblas_name[160] = "OpenBLAS";
    if (openblas) {
        char *(*corename)(void) = (char *(*)(void))dlsym(openblas, "openblas_get_corename");
        char *(*config)(void) = (char *(*)(void))dlsym(openblas, "openblas_get_config");
        snprintf(openblas_name, sizeof openblas_name, "OpenBLAS %s (%s)", strtok(strchr(config(), ' ') + 1, " "), corename());
        void (*set)(int) = (void (*)(int))dlsym(openblas, "openblas_set_num_threads");
        backends[count++] = (Backend){strdup(openblas_name), (cblas_sgemm_fn)dlsym(openblas, "cblas_sgemm"), NULL, set, 0};
        if (threads == 2) backends[count++] = (Backend){"OpenBLAS 1-thread, rows split over 2 threads", (cblas_sgemm_fn)dlsym(openblas, "cblas_sgemm"), NULL, set, 2};
    }
    void *blis = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
    if (blis) {
        const char *(*version)(void) = (const char *(*)(void))dlsym(blis, "bli_info_get_version_str");
        const char *(*arch)(int) = (const char *(*)(int))dlsym(blis, "bli_arch_string");
        int (*arch_id)(void) = (int (*)(void))dlsym(blis, "bli_arch_query_id");
        char *name = malloc(96);
        snprintf(name, 96, "BLIS %s (%s)", version(), arch(arch_id()));
        backends[count++] = (Backend){name, (cblas_sgemm_fn)dlsym(blis, "cblas_sgemm"), NULL,
                                      (void (*)(int))dlsym(blis, "bli_thread_set_num_threads"), 0};
    }
    void *dnnl = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (dnnl) {
        const struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } *(*version)(void) =
            (void *)dlsym(dnnl, "dnnl_version");
        char *name = malloc(64);
        snprintf(name, 64, "oneDNN %d.%d.%d (dnnl_sgemm)", version()->major, version()->minor, version()->patch);
        backends[count++] = (Backend){name, NULL, (dnnl_sgemm_fn)dlsym(dnnl, "dnnl_sgemm"), NULL, 0};
    }

    Shape shapes[64];
    int shape_count = window_shapes(shapes);
    double flops = 0;
    size_t a_max = 0, b_max = 0, c_max = 0;
    for (int s = 0; s < shape_count; s++) {
        flops += 2.0 * shapes[s].m * shapes[s].n * shapes[s].k;
        size_t a = (size_t)(shapes[s].m - 1) * shapes[s].lda + shapes[s].k + 7 * 561, b = (size_t)shapes[s].k * shapes[s].n,
               c = (size_t)shapes[s].m * shapes[s].n;
        if (a > a_max) a_max = a;
        if (b > b_max) b_max = b;
        if (c > c_max) c_max = c;
    }
    float *a = malloc(a_max * 4), *b = malloc(b_max * 4), *c = malloc(c_max * 4);
    srand(1);
    for (size_t i = 0; i < a_max; i++) a[i] = (float)rand() / RAND_MAX * 2 - 1;
    for (size_t i = 0; i < b_max; i++) b[i] = (float)rand() / RAND_MAX * 2 - 1;

    pthread_t helper_thread;
    pthread_barrier_init(&job.start, NULL, 2);
    pthread_barrier_init(&job.done, NULL, 2);
    pthread_create(&helper_thread, NULL, helper, NULL);

    // Accuracy: every shape against a double-precision product, relative to the largest |C| of the reference.
    printf("threads %d; %d GEMMs per window, %.3f GFLOP\n\n", threads, shape_count, flops * 1e-9);
    printf("%-52s %12s %12s %10s %12s\n", "backend", "CPU ms/win", "wall ms/win", "GFLOP/s", "max rel err");
    printf("%-52s %12s %12s %10s %12s\n", "", "(median)", "(median)", "(per CPU s)", "");
    double *times = malloc(sizeof(double) * repetitions * count), *walls = malloc(sizeof(double) * repetitions * count);
    double error[8] = {0};
    for (int bi = 0; bi < count; bi++) {
        if (backends[bi].set_threads) backends[bi].set_threads(backends[bi].split ? 1 : threads);
        for (int s = 0; s < shape_count; s += 3) {
            Shape sh = shapes[s];
            double worst = 0, scale = 0;
            (backends[bi].split ? split_sgemm : sgemm)(&backends[bi], sh.m, sh.n, sh.k, a, sh.lda, b, sh.n, 0, c, sh.n);
            for (int i = 0; i < sh.m; i += 7) for (int j = 0; j < sh.n; j++) {
                double sum = 0;
                for (int p = 0; p < sh.k; p++) sum += (double)a[(size_t)i * sh.lda + p] * b[(size_t)p * sh.n + j];
                if (fabs(sum) > scale) scale = fabs(sum);
                double e = fabs(sum - c[(size_t)i * sh.n + j]);
                if (e > worst) worst = e;
            }
            if (worst / scale > error[bi]) error[bi] = worst / scale;
        }
    }
    // Speed: repetitions interleaved across backends, so load from other processes spreads over all of them.
    for (int r = 0; r < repetitions; r++) {
        for (int bi = 0; bi < count; bi++) {
            if (backends[bi].set_threads) backends[bi].set_threads(backends[bi].split ? 1 : threads);
            double start = now(), cpu_start = cpu_now();
            for (int s = 0; s < shape_count; s++) {
                Shape sh = shapes[s];
                (backends[bi].split ? split_sgemm : sgemm)(&backends[bi], sh.m, sh.n, sh.k, a, sh.lda, b, sh.n,
                                                          sh.beta_one ? 1.0f : 0.0f, c, sh.n);
            }
            walls[bi * repetitions + r] = now() - start;
            times[bi * repetitions + r] = cpu_now() - cpu_start;
        }
    }
    for (int bi = 0; bi < count; bi++) {
        qsort(times + bi * repetitions, repetitions, sizeof(double), compare_double);
        qsort(walls + bi * repetitions, repetitions, sizeof(double), compare_double);
        double median = times[bi * repetitions + repetitions / 2], wall = walls[bi * repetitions + repetitions / 2];
        printf("%-52s %12.2f %12.2f %10.1f %12.1e\n", backends[bi].name, median * 1e3, wall * 1e3, flops / median * 1e-9, error[bi]);
    }

    // Peak: a large square SGEMM (2048³), best of 5, per backend with the same thread count.
    int n = 2048;
    float *pa = malloc((size_t)n * n * 4), *pb = malloc((size_t)n * n * 4), *pc = malloc((size_t)n * n * 4);
    for (size_t i = 0; i < (size_t)n * n; i++) { pa[i] = (float)(i % 17) * 0.01f; pb[i] = (float)(i % 13) * 0.01f; }
    printf("\npeak SGEMM %dx%dx%d, best of 5 by CPU time (GFLOP per CPU second):\n", n, n, n);
    for (int bi = 0; bi < count; bi++) {
        if (backends[bi].split) continue;
        if (backends[bi].set_threads) backends[bi].set_threads(threads);
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            double start = cpu_now();
            sgemm(&backends[bi], n, n, n, pa, n, pb, n, 0, pc, n);
            double t = cpu_now() - start;
            if (t < best) best = t;
        }
        printf("  %-50s %8.1f  -> GEMM bound %.2f ms/window\n", backends[bi].name, 2.0 * n * n * n / best * 1e-9,
               flops / (2.0 * n * n * n / best) * 1e3);
    }
    job.quit = 1;
    pthread_barrier_wait(&job.start);
    pthread_join(helper_thread, NULL);
    return 0;
}
