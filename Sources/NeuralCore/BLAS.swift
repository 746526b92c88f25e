import CBLASRuntime
import Foundation

/// Thin, allocation-free wrappers over CBLAS for row-major float32 matrices.
///
/// OpenBLAS is loaded at run time by `CBLASRuntime`, after its kernels have been chosen from the CPU's
/// features (see `BLASKernel`); executables call `BLAS.prepare()` first thing in `main`.
public enum BLAS {
    /// C[M×N] = alpha · A[M×K] · B[K×N] + beta · C, all row-major with leading dimensions `lda`, `ldb`, `ldc`.
    @inlinable
    public static func gemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        muscaps_sgemm(transposeA, transposeB, Int32(m), Int32(n), Int32(k), alpha,
                      a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y[M] = alpha · A[M×N] · x + beta · y (or Aᵀ · x when `transpose`), A row-major.
    @inlinable
    public static func gemv(
        m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, transpose: Bool = false,
        x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        muscaps_sgemv(transpose, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// OpenBLAS's worker thread count (it defaults to the number of cores).
    public static var threadCount: Int {
        get { Int(muscaps_blas_threads()) }
        set { muscaps_blas_set_threads(Int32(newValue)) }
    }

    /// Chooses the kernels and loads OpenBLAS now. Executables call this first thing in `main`, while the
    /// process has one thread (loading sets `OPENBLAS_CORETYPE` for the moment of `dlopen`, then restores the
    /// environment). Without it the first BLAS call loads the library. A machine without OpenBLAS gets a
    /// one-line error and exit status 70 here, before any work starts.
    public static func prepare() {
        if !muscaps_blas_load() {
            FileHandle.standardError.write(Data("error: \(String(cString: muscaps_blas_error()))\n".utf8))
            exit(70)
        }
    }

    /// The kernels in use and why they were chosen.
    public static var kernel: BLASKernel { BLASKernel.current }

    /// One line for `--version`, benchmarks and logs, e.g.
    /// "OpenBLAS 0.3.21, SkylakeX kernels (AVX-512), chosen from the CPU's features".
    public static var kernelDescription: String { kernel.description }
}
