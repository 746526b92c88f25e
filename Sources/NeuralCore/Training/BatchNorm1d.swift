/// `nn.BatchNorm1d` over `[batch, features]` inputs: training mode (batch statistics, running-stat update)
/// and evaluation mode (running statistics), with the training-mode backward pass.
///
/// Training: μ = mean over the batch, σ² = *biased* batch variance, x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β;
/// running_mean ← (1 − m)·running_mean + m·μ, running_var ← (1 − m)·running_var + m·σ²·B/(B − 1) (the
/// *unbiased* variance), num_batches_tracked += 1. PyTorch refuses B = 1 in training mode; so do we.
///
/// Names: `<prefix>.weight` (γ), `.bias` (β), `.running_mean`, `.running_var`, `.num_batches_tracked`
/// (stored as a float32 scalar).
public final class BatchNorm1d {
    public let features: Int
    public let epsilon: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter
    public let batchesTracked: Parameter
    public var parameters: [Parameter] { [weight, bias] }
    public var stateTensors: [Parameter] { [weight, bias, runningMean, runningVariance, batchesTracked] }

    /// x̂ of the last training forward pass [batch, features] and 1/√(σ² + ε) [features].
    let normalized = FloatBuffer()
    let inverseStd = FloatBuffer()
    let scratch = FloatBuffer()

    public init(name prefix: String, features: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.features = features
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Parameter(name: "\(prefix).weight", shape: [features])
        bias = Parameter(name: "\(prefix).bias", shape: [features])
        runningMean = Parameter(name: "\(prefix).running_mean", shape: [features], role: .buffer)
        runningVariance = Parameter(name: "\(prefix).running_var", shape: [features], role: .buffer)
        batchesTracked = Parameter(name: "\(prefix).num_batches_tracked", shape: [], role: .buffer)
        weight.values.update(repeating: 1)
        runningVariance.values.update(repeating: 1)
    }

    /// Training-mode forward: y = γ·(x − μ_B)/√(σ²_B + ε) + β; updates the running statistics unless
    /// `updateRunningStatistics` is false.
    public func forwardTraining(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                                updateRunningStatistics: Bool = true) {
        precondition(batch > 1, "BatchNorm1d needs more than one row per batch in training mode (got \(batch))")
        let c = features
        let xhat = normalized.reserve(batch * c), invStd = inverseStd.reserve(c)
        let mean = scratch.reserve(2 * c), variance = mean + c
        for j in 0..<c { mean[j] = 0; variance[j] = 0 }
        for b in 0..<batch { for j in 0..<c { mean[j] += x[b * c + j] } }
        let inverseBatch = 1 / Float(batch)
        for j in 0..<c { mean[j] *= inverseBatch }
        for b in 0..<batch { for j in 0..<c { let d = x[b * c + j] - mean[j]; variance[j] += d * d } }
        for j in 0..<c {
            variance[j] *= inverseBatch
            invStd[j] = 1 / (variance[j] + epsilon).squareRoot()
        }
        for b in 0..<batch {
            for j in 0..<c {
                let n = (x[b * c + j] - mean[j]) * invStd[j]
                xhat[b * c + j] = n
                y[b * c + j] = weight.value[j] * n + bias.value[j]
            }
        }
        if updateRunningStatistics {
            let unbias = Float(batch) / Float(batch - 1)
            for j in 0..<c {
                runningMean.value[j] = (1 - momentum) * runningMean.value[j] + momentum * mean[j]
                runningVariance.value[j] = (1 - momentum) * runningVariance.value[j] + momentum * variance[j] * unbias
            }
            batchesTracked.value[0] += 1
            runningMean.markModified(); runningVariance.markModified(); batchesTracked.markModified()
        }
    }

    /// Backward of the last `forwardTraining`: accumulates dγ = Σ dy·x̂ and dβ = Σ dy and writes
    /// dx = γ/√(σ²+ε) · (dy − mean(dy) − x̂·mean(dy·x̂)).
    public func backward(outputGradient dy: UnsafePointer<Float>, batch: Int, inputGradient dx: UnsafeMutablePointer<Float>) {
        let c = features, xhat = normalized.pointer, invStd = inverseStd.pointer
        let sumDy = scratch.reserve(2 * c), sumDyXhat = sumDy + c
        for j in 0..<c { sumDy[j] = 0; sumDyXhat[j] = 0 }
        for b in 0..<batch {
            for j in 0..<c {
                sumDy[j] += dy[b * c + j]
                sumDyXhat[j] += dy[b * c + j] * xhat[b * c + j]
            }
        }
        for j in 0..<c {
            weight.gradient[j] += sumDyXhat[j]
            bias.gradient[j] += sumDy[j]
        }
        let inverseBatch = 1 / Float(batch)
        for b in 0..<batch {
            for j in 0..<c {
                let k = b * c + j
                dx[k] = weight.value[j] * invStd[j] * (dy[k] - sumDy[j] * inverseBatch - xhat[k] * sumDyXhat[j] * inverseBatch)
            }
        }
    }

    /// Evaluation-mode forward with the running statistics: y = γ(x − μ_run)/√(σ²_run + ε) + β.
    public func forwardEvaluation(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>) {
        let c = features
        for b in 0..<batch {
            for j in 0..<c {
                let scale = weight.value[j] / (runningVariance.value[j] + epsilon).squareRoot()
                y[b * c + j] = (x[b * c + j] - runningMean.value[j]) * scale + bias.value[j]
            }
        }
    }

    /// The evaluation-mode map as y = scale·x + shift (for folding into the preceding linear layer).
    public func evaluationAffine() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: features), shift = scale
        for j in 0..<features {
            scale[j] = weight.value[j] / (runningVariance.value[j] + epsilon).squareRoot()
            shift[j] = bias.value[j] - runningMean.value[j] * scale[j]
        }
        return (scale, shift)
    }
}

/// Element-wise helpers: ReLU and inverted dropout.
public enum Activation {
    /// y = max(x, 0) (in place allowed).
    public static func relu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = max(x[i], 0) }
    }

    /// dx = dy where the ReLU's *output* was positive, else 0 (PyTorch's `threshold_backward`).
    public static func reluBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, count: Int,
                                    into dx: UnsafeMutablePointer<Float>) {
        for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }
}

/// Inverted dropout (`nn.Dropout` in training mode): each element is kept with probability 1 − p and
/// scaled by 1/(1 − p). The mask holds the per-element factor (0 or 1/(1 − p)), so forward and backward
/// are both a multiplication by it.
public enum Dropout {
    /// Fills `mask` with 0 (probability p) or 1/(1 − p). p = 0 gives all ones; p = 1 all zeros.
    public static func fillMask(_ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float,
                                generator: inout SeededGenerator) {
        precondition(p >= 0 && p <= 1, "dropout probability \(p) outside [0, 1]")
        if p == 0 { mask.update(repeating: 1, count: count); return }
        if p == 1 { mask.update(repeating: 0, count: count); return }
        let keep = 1 / (1 - p)
        for i in 0..<count { mask[i] = generator.nextUnitFloat() < p ? 0 : keep }
    }

    /// y = x ⊙ mask (also the backward pass: dx = dy ⊙ mask).
    public static func apply(_ x: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = x[i] * mask[i] }
    }
}
