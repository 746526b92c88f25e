import CBLASRuntime

/// The few matrix products every layer's forward and backward pass is made of, in PyTorch's weight layout
/// (`W` is `[outputs, inputs]`, row-major, possibly a column block of a wider matrix via `ldw`).
///
/// Up to `gemvRowLimit` rows go through one GEMV per row (batch-1 decoding is memory-bound: one pass over
/// the weights; and OpenBLAS's GEMM packs the whole weight matrix on every call, which for 2–4 rows costs
/// more than a pass per row: measured 2–4× slower at 2 rows, even at 4–6, GEMM ahead from 8), more rows
/// through one GEMM. Nothing here allocates.
public enum MatrixOps {
    /// Row counts up to this use per-row GEMV in `multiplyTransposed` and `multiply`.
    public static let gemvRowLimit = 4

    /// y[rows×n] = x[rows×k] · Wᵀ + beta · y, with W `[n, k]` (leading dimension `ldw`).
    @inlinable
    public static func multiplyTransposed(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int,
        weight: UnsafePointer<Float>, ldw: Int, outputs n: Int, inputs k: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, beta: Float = 0
    ) {
        guard rows > 0, n > 0 else { return }
        if k == 0 { scale(y, ldy: ldy, rows: rows, columns: n, by: beta); return }
        if rows <= gemvRowLimit {
            for r in 0..<rows { BLAS.gemv(m: n, n: k, a: weight, lda: ldw, x: x + r * ldx, beta: beta, y: y + r * ldy) }
        } else {
            BLAS.gemm(m: rows, n: n, k: k, a: x, lda: ldx, b: weight, ldb: ldw, transposeB: true,
                      beta: beta, c: y, ldc: ldy)
        }
    }

    /// dx[rows×k] = dy[rows×n] · W + beta · dx, with W `[n, k]` (leading dimension `ldw`).
    @inlinable
    public static func multiply(
        _ dy: UnsafePointer<Float>, lddy: Int, rows: Int,
        weight: UnsafePointer<Float>, ldw: Int, outputs n: Int, inputs k: Int,
        into dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float = 0
    ) {
        guard rows > 0, k > 0 else { return }
        if n == 0 { scale(dx, ldy: lddx, rows: rows, columns: k, by: beta); return }
        if rows <= gemvRowLimit {
            for r in 0..<rows { BLAS.gemv(m: n, n: k, a: weight, lda: ldw, transpose: true, x: dy + r * lddy, beta: beta, y: dx + r * lddx) }
        } else {
            BLAS.gemm(m: rows, n: k, k: n, a: dy, lda: lddy, b: weight, ldb: ldw, beta: beta, c: dx, ldc: lddx)
        }
    }

    /// dW[n×k] = dyᵀ · x + beta · dW over `rows` rows (dy `[rows, n]`, x `[rows, k]`): a weight gradient.
    @inlinable
    public static func accumulateTransposedProduct(
        _ dy: UnsafePointer<Float>, lddy: Int, _ x: UnsafePointer<Float>, ldx: Int, rows: Int,
        outputs n: Int, inputs k: Int, into dw: UnsafeMutablePointer<Float>, lddw: Int, beta: Float = 1
    ) {
        guard n > 0, k > 0 else { return }
        if rows == 0 { scale(dw, ldy: lddw, rows: n, columns: k, by: beta); return }
        BLAS.gemm(m: n, n: k, k: rows, a: dy, lda: lddy, transposeA: true, b: x, ldb: ldx,
                  beta: beta, c: dw, ldc: lddw)
    }

    /// db[n] += Σ over rows of dy (dy `[rows, n]`, leading dimension `lddy`).
    @inlinable
    public static func accumulateColumnSums(_ dy: UnsafePointer<Float>, lddy: Int, rows: Int, columns n: Int,
                                            into db: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = dy + r * lddy
            for j in 0..<n { db[j] += row[j] }
        }
    }

    /// Adds the vector `v[n]` to every row of `y[rows×n]`.
    @inlinable
    public static func addRowVector(_ v: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, ldy: Int, rows: Int, columns n: Int) {
        for r in 0..<rows {
            let row = y + r * ldy
            for j in 0..<n { row[j] += v[j] }
        }
    }

    /// Copies `rows × columns` values between strided matrices.
    @inlinable
    public static func copy(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, columns: Int,
                            into y: UnsafeMutablePointer<Float>, ldy: Int) {
        for r in 0..<rows { (y + r * ldy).update(from: x + r * ldx, count: columns) }
    }

    @inlinable
    static func scale(_ y: UnsafeMutablePointer<Float>, ldy: Int, rows: Int, columns: Int, by beta: Float) {
        for r in 0..<rows {
            let row = y + r * ldy
            if beta == 0 { row.update(repeating: 0, count: columns) } else { for j in 0..<columns { row[j] *= beta } }
        }
    }

    /// Σ x² : BLAS dot products over blocks of 4096, the blocks summed in double.
    @inlinable
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < count {
            let n = min(4096, count - i)
            total += Double(muscaps_sdot(Int32(n), x + i, 1, x + i, 1))
            i += n
        }
        return total
    }

    /// Σ x (eight partial sums, so the loop vectorises without reassociating a single accumulator).
    @inlinable
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var partial = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            partial += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var total = partial.sum()
        while i < count { total += x[i]; i += 1 }
        return total
    }

    /// x · y (BLAS; vectorised, unlike a float reduction loop).
    @inlinable
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        muscaps_sdot(Int32(count), x, 1, y, 1)
    }
}
