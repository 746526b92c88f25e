import CBLASRuntime
import Foundation

/// Adam exactly as `torch.optim.Adam` (amsgrad off, not maximising), over the parameters that require a
/// gradient:
///
///   g ← g + λθ (only if weightDecay λ ≠ 0: L2, not AdamW)
///   m ← m + (1 − β1)(g − m)          v ← β2·v + (1 − β2)·g²
///   θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
public final class Adam {
    public let parameters: [Parameter]
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// Number of steps taken (t).
    public private(set) var stepCount = 0
    private let firstMoments: [FloatBuffer]
    private let secondMoments: [FloatBuffer]

    /// Parameters with `requiresGradient == false` (and buffers) are ignored.
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.parameters = parameters.filter { $0.role == .parameter && $0.requiresGradient }
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = self.parameters.map { FloatBuffer(capacity: $0.count) }
        secondMoments = self.parameters.map { FloatBuffer(capacity: $0.count) }
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let stepSize = Float(Double(learningRate) / (1 - Foundation.pow(Double(beta1), t)))
        let correction2Root = Float((1 - Foundation.pow(Double(beta2), t)).squareRoot())
        let b1 = beta1, b2 = beta2, eps = epsilon, decay = weightDecay
        for index in 0..<parameters.count {
            let parameter = parameters[index]
            let m = firstMoments[index].pointer, v = secondMoments[index].pointer
            let theta = parameter.value, gradient = parameter.gradient, count = parameter.count
            Adam.update(theta: theta, gradient: gradient, m: m, v: v, count: count, beta1: b1, beta2: b2,
                        stepSize: stepSize, correction2Root: correction2Root, epsilon: eps, weightDecay: decay)
            parameter.markModified()
        }
    }

    /// The element-wise update, in 8-wide SIMD in optimised builds (the scalar loop over four possibly aliasing
    /// pointers does not vectorise). Unoptimised builds take the scalar loop only: generic SIMD code is ~50×
    /// slower there. Release-mode test runs cover the SIMD path.
    static func update(theta: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                       v: UnsafeMutablePointer<Float>, count: Int, beta1 b1: Float, beta2 b2: Float,
                       stepSize: Float, correction2Root: Float, epsilon eps: Float, weightDecay decay: Float) {
        var i = 0
        #if !DEBUG
        typealias V8 = SIMD8<Float>
        while i + 8 <= count {
            var g = UnsafeRawPointer(gradient + i).loadUnaligned(as: V8.self)
            var t = UnsafeRawPointer(theta + i).loadUnaligned(as: V8.self)
            if decay != 0 { g += decay * t }  // L2 penalty added to the gradient, as PyTorch does
            var mi = UnsafeRawPointer(m + i).loadUnaligned(as: V8.self)
            var vi = UnsafeRawPointer(v + i).loadUnaligned(as: V8.self)
            mi += (1 - b1) * (g - mi)
            vi = b2 * vi + (1 - b2) * g * g
            t -= stepSize * mi / (vi.squareRoot() / correction2Root + eps)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: V8.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: V8.self)
            UnsafeMutableRawPointer(theta + i).storeBytes(of: t, as: V8.self)
            i += 8
        }
        #endif
        while i < count {
            let g = decay == 0 ? gradient[i] : gradient[i] + decay * theta[i]
            m[i] += (1 - b1) * (g - m[i])
            v[i] = b2 * v[i] + (1 - b2) * g * g
            theta[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + eps)
            i += 1
        }
    }

    /// The optimiser state for checkpoints: `<name>.exp_avg`, `<name>.exp_avg_sq` and `step`.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = [("step", Tensor(shape: [], scalars: [Float(stepCount)]))]
        for (index, p) in parameters.enumerated() {
            result.append(("\(p.name).exp_avg", Tensor(shape: p.shape, scalars: Array(UnsafeBufferPointer(start: firstMoments[index].pointer, count: p.count)))))
            result.append(("\(p.name).exp_avg_sq", Tensor(shape: p.shape, scalars: Array(UnsafeBufferPointer(start: secondMoments[index].pointer, count: p.count)))))
        }
        return result
    }

    /// Restores `stateTensors()` output (missing moments stay zero).
    public func loadState(_ tensors: [String: Tensor]) {
        if let step = tensors["step"]?.scalars.first { stepCount = Int(step) }
        for (index, p) in parameters.enumerated() {
            if let m = tensors["\(p.name).exp_avg"], m.count == p.count {
                m.scalars.withUnsafeBufferPointer { firstMoments[index].pointer.update(from: $0.baseAddress!, count: p.count) }
            }
            if let v = tensors["\(p.name).exp_avg_sq"], v.count == p.count {
                v.scalars.withUnsafeBufferPointer { secondMoments[index].pointer.update(from: $0.baseAddress!, count: p.count) }
            }
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_` (2-norm): the total norm is the norm of all gradients of the
/// parameters that require one, taken together; if it exceeds `maxNorm` every gradient is multiplied by
/// maxNorm/(total + 1e-6). Returns the total norm before clipping.
public enum GradientClipping {
    @discardableResult
    public static func clipNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        var squares = 0.0
        for index in 0..<parameters.count where parameters[index].role == .parameter && parameters[index].requiresGradient {
            squares += MatrixOps.sumOfSquares(parameters[index].gradient, count: parameters[index].count)
        }
        let total = Float(squares.squareRoot())
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 {
            for index in 0..<parameters.count where parameters[index].role == .parameter && parameters[index].requiresGradient {
                muscaps_sscal(Int32(parameters[index].count), coefficient, parameters[index].gradient, 1)
            }
        }
        return total
    }
}
