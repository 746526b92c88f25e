/// A fully connected layer y = x · W + b with W stored `[inputs, outputs]` (TensorFlow's layout).
public struct Dense: Sendable {
    public let inputs: Int
    public let outputs: Int
    public private(set) var weight: [Float]
    public private(set) var bias: [Float]

    public init(weight: Tensor, bias: Tensor) {
        precondition(weight.rank == 2 && bias.count == weight.shape[1])
        inputs = weight.shape[0]
        outputs = weight.shape[1]
        self.weight = weight.scalars
        self.bias = bias.scalars
    }

    /// The same layer applied after `affine` on its input: (x·s + t)·W + b = x·(diag(s)W) + (t·W + b).
    public func foldingInputAffine(_ affine: ChannelAffine) -> Dense {
        precondition(affine.channels == inputs)
        var folded = self
        for i in 0..<inputs {
            for o in 0..<outputs {
                folded.bias[o] += affine.shift[i] * weight[i * outputs + o]
                folded.weight[i * outputs + o] = weight[i * outputs + o] * affine.scale[i]
            }
        }
        return folded
    }

    /// y[rows × outputs] = x[rows × inputs] · W + b.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            bias.withUnsafeBufferPointer { b in (y + r * outputs).update(from: b.baseAddress!, count: outputs) }
        }
        weight.withUnsafeBufferPointer { w in
            if rows == 1 {
                BLAS.gemv(m: inputs, n: outputs, a: w.baseAddress!, lda: outputs, transpose: true, x: x, beta: 1, y: y)
            } else {
                BLAS.gemm(m: rows, n: outputs, k: inputs, a: x, lda: inputs, b: w.baseAddress!, ldb: outputs,
                          beta: 1, c: y, ldc: outputs)
            }
        }
    }
}
