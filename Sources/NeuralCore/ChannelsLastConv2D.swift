/// A 2-D convolution over a multi-channel plane stored channels-last, `[height, width, channels]`
/// row-major, with stride 1 and zero padding that keeps the plane's size (an odd `kernel × kernel`
/// kernel, padded `kernel / 2` on every side) — PyTorch's `Conv2d(cin, cout, k, padding=k // 2)`.
///
/// Computed as an im2col GEMM: each output position's `kernel² · inputChannels` patch is one row of a
/// column matrix (with channels-last storage every patch row is `kernel` contiguous runs of
/// `kernel · inputChannels` floats, or `inputChannels` at the borders), multiplied by the weights
/// arranged `[kh, kw, cin] × cout`. Output rows are computed in blocks (`forward(rows:)`), so a caller
/// can fuse pooling or a residual sum per block, and the column matrix holds at most `maxBlockRows`
/// output rows.
///
/// Weights are taken in PyTorch's layout `[cout, cin, kh, kw]`; a batch norm that follows the
/// convolution can be folded in at load time (`outputAffine`: w′ = w·s, b′ = b·s + t).
/// All scratch is allocated in `init`; `forward` allocates nothing. Not thread-safe: `replica()` gives
/// another thread its own scratch over the same weights.
public final class ChannelsLastConv2D {
    public let height: Int
    public let width: Int
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernel: Int
    public let maxBlockRows: Int
    /// `[kh, kw, cin, cout]` (= the GEMM's right-hand `[patch, cout]` matrix), batch norm folded in.
    public let weights: [Float]
    public let bias: [Float]

    private var patch: Int { kernel * kernel * inputChannels }
    private let columns: UnsafeMutablePointer<Float>

    /// - Parameters:
    ///   - weight: `[cout, cin, k, k]` (PyTorch `Conv2d.weight`).
    ///   - outputAffine: a per-output-channel affine map applied after the convolution, folded in.
    ///   - maxBlockRows: the most output rows one `forward(rows:)` call computes.
    public convenience init(weight: Tensor, bias: Tensor, outputAffine: ChannelAffine? = nil,
                            height: Int, width: Int, maxBlockRows: Int) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3] && weight.shape[2] % 2 == 1,
                     "expected an odd square [cout, cin, k, k] kernel, got \(weight.shape)")
        let (cout, cin, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(bias.count == cout && (outputAffine?.channels ?? cout) == cout)
        var arranged = [Float](repeating: 0, count: weight.count)
        var folded = bias.scalars
        for o in 0..<cout {
            let scale = outputAffine?.scale[o] ?? 1
            if let outputAffine { folded[o] = bias.scalars[o] * scale + outputAffine.shift[o] }
            for i in 0..<cin {
                for y in 0..<k {
                    for x in 0..<k {
                        let source = ((o * cin + i) * k + y) * k + x
                        arranged[((y * k + x) * cin + i) * cout + o] = weight.scalars[source] * scale
                    }
                }
            }
        }
        self.init(weights: arranged, bias: folded, kernel: k, inputChannels: cin, outputChannels: cout,
                  height: height, width: width, maxBlockRows: maxBlockRows)
    }

    private init(weights: [Float], bias: [Float], kernel: Int, inputChannels: Int, outputChannels: Int,
                 height: Int, width: Int, maxBlockRows: Int) {
        precondition(height > 0 && width > 0 && maxBlockRows > 0)
        self.weights = weights
        self.bias = bias
        self.kernel = kernel
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.height = height
        self.width = width
        self.maxBlockRows = min(maxBlockRows, height)
        let count = self.maxBlockRows * width * kernel * kernel * inputChannels
        columns = .allocate(capacity: count)
        columns.initialize(repeating: 0, count: count)
    }

    deinit { columns.deallocate() }

    /// Another instance over the same weights with its own scratch, for another thread.
    public func replica() -> ChannelsLastConv2D {
        ChannelsLastConv2D(weights: weights, bias: bias, kernel: kernel, inputChannels: inputChannels,
                           outputChannels: outputChannels, height: height, width: width, maxBlockRows: maxBlockRows)
    }

    /// Output rows `rows` (at most `maxBlockRows` of them) of the convolution of `input`
    /// (`[height, width, inputChannels]`), bias included, into `output` (`[rows.count, width, outputChannels]`).
    public func forward(_ input: UnsafePointer<Float>, rows: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        precondition(rows.count <= maxBlockRows && rows.lowerBound >= 0 && rows.upperBound <= height)
        let k = kernel, half = kernel / 2, cin = inputChannels, patch = self.patch
        // im2col. A patch row is laid out (ky, kx, c); for each ky the kx-run is contiguous in the input
        // except where it crosses the left or right border, whose taps stay zero.
        for r in 0..<rows.count {
            let y = rows.lowerBound + r
            for x in 0..<width {
                let row = columns + (r * width + x) * patch
                for ky in 0..<k {
                    let sourceY = y + ky - half
                    let destination = row + ky * k * cin
                    if sourceY < 0 || sourceY >= height {
                        destination.update(repeating: 0, count: k * cin)
                        continue
                    }
                    let firstX = x - half
                    let lower = max(0, -firstX), upper = min(k, width - firstX)
                    if lower > 0 { destination.update(repeating: 0, count: lower * cin) }
                    (destination + lower * cin).update(from: input + (sourceY * width + firstX + lower) * cin,
                                                       count: (upper - lower) * cin)
                    if upper < k { (destination + upper * cin).update(repeating: 0, count: (k - upper) * cin) }
                }
            }
        }
        let positions = rows.count * width
        bias.withUnsafeBufferPointer { b in
            for p in 0..<positions { (output + p * outputChannels).update(from: b.baseAddress!, count: outputChannels) }
        }
        weights.withUnsafeBufferPointer { w in
            BLAS.gemm(m: positions, n: outputChannels, k: patch, a: columns, lda: patch,
                      b: w.baseAddress!, ldb: outputChannels, beta: 1, c: output, ldc: outputChannels)
        }
    }
}
