/// The MLP ("additive") soft attention of MusCaps (paper eqs. 4–5; `muscaps/modules/attention.py`, type
/// "mlp"), over L chunk features per row with a per-row count of valid chunks:
///
///   e_ti = w_att · tanh(W_a a_i + b_a + W_h h_t + b_h) + b_w,   β_t = softmax over the valid chunks,
///   â_t = Σ_i β_ti a_i.
///
/// Masked chunks get β = 0 exactly. (The reference's allennlp `masked_softmax` computes
/// softmax(e·mask)·mask/(Σ + 1e-13): the same weights up to that 1e-13.) The score bias b_w cancels in
/// the softmax; it is kept because the reference has it (its gradient is 0 up to rounding).
///
/// Parameters, in `state_dict` order: `<prefix>.audio_projection.{weight,bias}` [A, k], [A];
/// `<prefix>.query_projection.{weight,bias}` [A, H], [A]; `<prefix>.linear.{weight,bias}` [1, A], [1].
public final class SoftAttention {
    public let featureSize: Int
    public let querySize: Int
    public let attentionSize: Int
    public let featureProjection: Linear
    public let queryProjection: Linear
    public let score: Linear
    public var parameters: [Parameter] { featureProjection.parameters + queryProjection.parameters + score.parameters }

    public init(name prefix: String, featureSize: Int, querySize: Int, attentionSize: Int, generator: inout SeededGenerator) {
        self.featureSize = featureSize
        self.querySize = querySize
        self.attentionSize = attentionSize
        featureProjection = Linear(name: "\(prefix).audio_projection", inputSize: featureSize, outputSize: attentionSize, generator: &generator)
        queryProjection = Linear(name: "\(prefix).query_projection", inputSize: querySize, outputSize: attentionSize, generator: &generator)
        score = Linear(name: "\(prefix).linear", inputSize: attentionSize, outputSize: 1, generator: &generator)
    }

    /// Attention weights for one step. `projected` = W_a a_i + b_a for every chunk ([batch, chunks, A]),
    /// `query` = W_h h + b_h ([batch, A]), `counts[b]` valid chunks (1…chunks). Writes U = tanh(projected + query)
    /// ([batch, chunks, A]; kept for the backward pass) and β ([batch, chunks], 0 past the count).
    public func weights(projected: UnsafePointer<Float>, query: UnsafePointer<Float>, counts: UnsafePointer<Int32>,
                        batch: Int, chunks: Int, tanhOut: UnsafeMutablePointer<Float>, into beta: UnsafeMutablePointer<Float>) {
        let a = attentionSize, w = score.weight.value, bw = score.bias!.value[0]
        for b in 0..<batch {
            let n = Int(counts[b])
            precondition(n >= 1 && n <= chunks, "row \(b) has \(n) valid chunks of \(chunks)")
            let q = query + b * a, scores = beta + b * chunks
            var maximum = -Float.infinity
            for i in 0..<n {
                let p = projected + (b * chunks + i) * a, u = tanhOut + (b * chunks + i) * a
                for j in 0..<a { u[j] = FastMath.tanh(p[j] + q[j]) }  // separate loop: vectorises
                scores[i] = MatrixOps.dot(w, u, count: a) + bw
                maximum = max(maximum, scores[i])
            }
            var total: Float = 0
            for i in 0..<n { let e = FastMath.exp(scores[i] - maximum); scores[i] = e; total += e }
            let inverse = 1 / total
            for i in 0..<n { scores[i] *= inverse }
            for i in n..<chunks { scores[i] = 0 }
        }
    }

    /// Backward of `weights`: from dL/dβ, accumulates the gradients of w_att and b_w, *adds* dL/dprojected into
    /// `projectedGradient` ([batch, chunks, A]) and writes dL/dquery into `queryGradient` ([batch, A]).
    public func weightsBackward(beta: UnsafePointer<Float>, tanh u: UnsafePointer<Float>, betaGradient dBeta: UnsafePointer<Float>,
                                counts: UnsafePointer<Int32>, batch: Int, chunks: Int,
                                projectedGradient: UnsafeMutablePointer<Float>, queryGradient: UnsafeMutablePointer<Float>) {
        let a = attentionSize, w = score.weight.value, dw = score.weight.gradient
        var dBias: Float = 0
        for b in 0..<batch {
            let n = Int(counts[b]), betaRow = beta + b * chunks, dBetaRow = dBeta + b * chunks
            var weighted: Float = 0
            for i in 0..<n { weighted += betaRow[i] * dBetaRow[i] }
            let dq = queryGradient + b * a
            dq.update(repeating: 0, count: a)
            for i in 0..<n {
                let ds = betaRow[i] * (dBetaRow[i] - weighted)  // softmax backward
                dBias += ds
                let ui = u + (b * chunks + i) * a, dp = projectedGradient + (b * chunks + i) * a
                for j in 0..<a {
                    dw[j] += ds * ui[j]
                    let dz = ds * w[j] * (1 - ui[j] * ui[j])
                    dp[j] += dz
                    dq[j] += dz
                }
            }
        }
        score.bias!.gradient[0] += dBias
    }

    /// â[b] = Σ_i β[b, i] · a[b, i] for features `[batch, chunks, k]`.
    public func attend(beta: UnsafePointer<Float>, features: UnsafePointer<Float>, batch: Int, chunks: Int,
                       into out: UnsafeMutablePointer<Float>) {
        let k = featureSize
        for b in 0..<batch {
            let o = out + b * k
            o.update(repeating: 0, count: k)
            for i in 0..<chunks {
                let weight = beta[b * chunks + i]
                if weight == 0 { continue }
                let f = features + (b * chunks + i) * k
                for j in 0..<k { o[j] += weight * f[j] }
            }
        }
    }

    /// Backward of `attend`: dβ[b, i] = dâ[b] · a[b, i] (written) and, when given, dL/da[b, i] += β · dâ[b].
    public func attendBackward(beta: UnsafePointer<Float>, features: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
                               batch: Int, chunks: Int, betaGradient dBeta: UnsafeMutablePointer<Float>,
                               featureGradient: UnsafeMutablePointer<Float>? = nil) {
        let k = featureSize
        for b in 0..<batch {
            let d = dOut + b * k
            for i in 0..<chunks {
                let f = features + (b * chunks + i) * k
                var dot: Float = 0
                for j in 0..<k { dot += d[j] * f[j] }
                dBeta[b * chunks + i] = dot
                if let featureGradient {
                    let weight = beta[b * chunks + i], g = featureGradient + (b * chunks + i) * k
                    for j in 0..<k { g[j] += weight * d[j] }
                }
            }
        }
    }
}
