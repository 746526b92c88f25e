/// A 2-D convolution over a single-channel `[time, freq]` plane, producing `filters` channels,
/// with zero padding along time only — the shape of every convolution in musicnn.
///
/// The kernel is stored as TensorFlow has it, `[kernelTime, kernelFreq, 1, filters]`, which flattened is
/// exactly the `[kernelTime·kernelFreq, filters]` right-hand matrix of an im2col GEMM.
/// Output layout: `[outTime, outFreq, filters]`, row-major, *without* bias or activation (callers fuse those
/// with what follows, e.g. the frequency max-pool).
///
/// All scratch memory is allocated in `init` for a fixed input size, so `forward` allocates nothing.
/// The im2col matrix is built for a block of output frames at a time (at most `maxColumnFloats`,
/// 2 MiB): the GEMMs stay large enough for full BLAS speed while each layer's scratch stays small
/// (musicnn's first timbral layer would need 11.7 MB for a whole window).
public final class TimeFreqConv2D: HalfSplitWork {
    public static let maxColumnFloats = 1 << 19

    public let inputTime: Int
    public let inputFreq: Int
    public let kernelTime: Int
    public let kernelFreq: Int
    public let filters: Int
    public let padTop: Int
    public let padBottom: Int
    public var outputTime: Int { inputTime + padTop + padBottom - kernelTime + 1 }
    public var outputFreq: Int { inputFreq - kernelFreq + 1 }
    public var outputCount: Int { outputTime * outputFreq * filters }

    public let bias: [Float]
    private let kernel: [Float]
    /// Zero-padded copy of the input; the pad rows are never written after init.
    private let padded: UnsafeMutablePointer<Float>
    private let paddedCount: Int
    /// im2col matrix `[blockFrames·outFreq, kernelTime·kernelFreq]`; unused when the kernel spans all frequencies.
    private let columns: UnsafeMutablePointer<Float>?
    /// Output frames per im2col block.
    private let blockFrames: Int

    public convenience init(kernel: Tensor, bias: Tensor, inputTime: Int, inputFreq: Int, padTop: Int, padBottom: Int) {
        precondition(kernel.rank == 4 && kernel.shape[2] == 1, "expected a [kt, kf, 1, filters] kernel")
        precondition(bias.count == kernel.shape[3] && kernel.shape[1] <= inputFreq)
        self.init(kernel: kernel.scalars, bias: bias.scalars, kernelTime: kernel.shape[0], kernelFreq: kernel.shape[1],
                  filters: kernel.shape[3], inputTime: inputTime, inputFreq: inputFreq, padTop: padTop, padBottom: padBottom)
    }

    /// A copy for another thread: shares the (immutable) weights, owns new scratch buffers.
    public func replica() -> TimeFreqConv2D {
        TimeFreqConv2D(kernel: kernel, bias: bias, kernelTime: kernelTime, kernelFreq: kernelFreq, filters: filters,
                       inputTime: inputTime, inputFreq: inputFreq, padTop: padTop, padBottom: padBottom)
    }

    private init(kernel: [Float], bias: [Float], kernelTime: Int, kernelFreq: Int, filters: Int,
                 inputTime: Int, inputFreq: Int, padTop: Int, padBottom: Int) {
        self.kernelTime = kernelTime
        self.kernelFreq = kernelFreq
        self.filters = filters
        self.inputTime = inputTime
        self.inputFreq = inputFreq
        self.padTop = padTop
        self.padBottom = padBottom
        self.kernel = kernel
        self.bias = bias
        paddedCount = (inputTime + padTop + padBottom) * inputFreq
        padded = .allocate(capacity: paddedCount)
        padded.initialize(repeating: 0, count: paddedCount)
        let outTime = inputTime + padTop + padBottom - kernelTime + 1
        if kernelFreq == inputFreq {
            columns = nil
            blockFrames = outTime
        } else {
            let rowFloats = (inputFreq - kernelFreq + 1) * kernelTime * kernelFreq
            blockFrames = max(1, min(outTime, Self.maxColumnFloats / rowFloats))
            let count = blockFrames * rowFloats
            columns = .allocate(capacity: count)
            columns!.initialize(repeating: 0, count: count)
        }
    }

    deinit {
        padded.deallocate()
        columns?.deallocate()
        helperColumns?.deallocate()
    }

    /// im2col scratch for the helper's half when a `HalfSplitter` runs the convolution (allocated on first use).
    private var helperColumns: UnsafeMutablePointer<Float>?

    /// Convolves `input[inputTime × inputFreq]` into `output[outputTime × outputFreq × filters]`.
    /// With a `splitter`, the output frames are split in two halves computed at once (im2col and GEMM alike),
    /// each on its own core; the result is the same as without.
    public func forward(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, splitter: HalfSplitter? = nil) {
        (padded + padTop * inputFreq).update(from: input, count: inputTime * inputFreq)
        guard let splitter, outputTime >= 2 else {
            convolve(frames: 0..<outputTime, columns: columns, into: output)
            return
        }
        if let columns, helperColumns == nil {
            let count = blockFrames * outputFreq * kernelTime * kernelFreq
            helperColumns = .allocate(capacity: count)
            helperColumns!.initialize(from: columns, count: count)
        }
        splitOutput = output
        splitter.run(self)
        splitOutput = nil
    }

    /// The output of the split call in progress (`HalfSplitWork` takes no arguments).
    private var splitOutput: UnsafeMutablePointer<Float>?

    public func runHalf(_ half: Int) {
        let middle = outputTime / 2
        if half == 0 {
            convolve(frames: 0..<middle, columns: columns, into: splitOutput!)
        } else {
            convolve(frames: middle..<outputTime, columns: helperColumns, into: splitOutput!)
        }
    }

    /// Output frames `frames` (im2col blocks of at most `blockFrames`), using `columns` as im2col scratch.
    private func convolve(frames: Range<Int>, columns: UnsafeMutablePointer<Float>?, into output: UnsafeMutablePointer<Float>) {
        kernel.withUnsafeBufferPointer { kernelBuffer in
            let w = kernelBuffer.baseAddress!
            if let columns {
                // im2col: row (t, f) holds the kernelTime × kernelFreq patch whose top-left is padded[t, f].
                let patch = kernelTime * kernelFreq
                var blockStart = frames.lowerBound
                while blockStart < frames.upperBound {
                    let count = min(blockFrames, frames.upperBound - blockStart)
                    // Plain loops rather than `update(from:count:)`: the segments are 38–67 floats, where a
                    // memmove call per segment cost more than the copy (perf: 12% of the network time).
                    let kf = kernelFreq, kt = kernelTime, width = inputFreq
                    for t in 0..<count {
                        for f in 0..<outputFreq {
                            var destination = columns + (t * outputFreq + f) * patch
                            for dt in 0..<kt {
                                let source = padded + (blockStart + t + dt) * width + f
                                for i in 0..<kf { destination[i] = source[i] }
                                destination += kf
                            }
                        }
                    }
                    BLAS.gemm(m: count * outputFreq, n: filters, k: patch, a: columns, lda: patch,
                              b: w, ldb: filters, c: output + blockStart * outputFreq * filters, ldc: filters)
                    blockStart += count
                }
            } else {
                // The kernel spans every frequency, so each kernel row meets one contiguous input row:
                // sum kernelTime shifted GEMMs instead of copying patches.
                let first = frames.lowerBound
                for dt in 0..<kernelTime {
                    BLAS.gemm(m: frames.count, n: filters, k: inputFreq, a: padded + (first + dt) * inputFreq, lda: inputFreq,
                              b: w + dt * inputFreq * filters, ldb: filters,
                              beta: dt == 0 ? 0 : 1, c: output + first * filters, ldc: filters)
                }
            }
        }
    }
}
