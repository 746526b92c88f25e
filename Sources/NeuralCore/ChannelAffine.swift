/// A per-channel affine map y = scale · x + shift: what an inference-mode batch normalisation is.
///
/// Batch norm is folded into this form once at load time (scale = γ/√(σ²+ε), shift = β − μ·scale), so the
/// forward pass never touches the running statistics. Where a BN directly precedes a dense layer it can be
/// folded further into that layer's weights (`Dense.foldingInputAffine`).
public struct ChannelAffine: Sendable {
    public var scale: [Float]
    public var shift: [Float]

    public init(scale: [Float], shift: [Float]) {
        precondition(scale.count == shift.count)
        self.scale = scale
        self.shift = shift
    }

    /// Inference-mode batch normalisation with TensorFlow's formula (`tf.nn.batch_normalization`).
    public init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float) {
        precondition(gamma.count == beta.count && beta.count == mean.count && mean.count == variance.count)
        var scale = [Float](repeating: 0, count: gamma.count)
        var shift = scale
        for c in gamma.indices {
            scale[c] = gamma[c] / (variance[c] + epsilon).squareRoot()
            shift[c] = beta[c] - mean[c] * scale[c]
        }
        self.init(scale: scale, shift: shift)
    }

    public var channels: Int { scale.count }

    /// Applies the map in place to `rows` rows of `channels` values each.
    @inlinable
    public func apply(to buffer: UnsafeMutablePointer<Float>, rows: Int) {
        let channels = scale.count
        scale.withUnsafeBufferPointer { s in
            shift.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = buffer + r * channels
                    for c in 0..<channels { row[c] = row[c] * s[c] + b[c] }
                }
            }
        }
    }
}
