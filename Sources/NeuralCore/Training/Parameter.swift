/// A named tensor of a trainable model: a parameter (with a gradient) or a buffer such as BatchNorm's
/// running statistics. Names follow PyTorch's `state_dict` so checkpoints and fixtures map one to one.
///
/// Values and gradients live in fixed, manually managed storage: layers read and write them through
/// pointers with BLAS, and the optimiser updates them in place. Whoever writes `value` directly (rather
/// than through `load` or an optimiser) calls `markModified()`, so caches derived from the weights (the
/// folded inference weights of a model) know to rebuild.
public final class Parameter {
    public enum Role: String, Sendable {
        /// Learned by the optimiser (unless `requiresGradient` is switched off, e.g. frozen embeddings).
        case parameter
        /// State that is saved but not learned (running mean/variance, counters).
        case buffer
    }

    public let name: String
    public let shape: [Int]
    public let count: Int
    public let role: Role
    /// Whether the optimiser and gradient clipping see this tensor (PyTorch's `requires_grad`).
    public var requiresGradient: Bool
    public let value: UnsafeMutablePointer<Float>
    /// Gradient of the last backward pass (zeros for buffers and frozen parameters).
    public let gradient: UnsafeMutablePointer<Float>
    /// Bumped on every change of `value` made through this API (loading, optimiser steps, `markModified`).
    public private(set) var version: Int = 0

    private let valueStorage: FloatBuffer
    private let gradientStorage: FloatBuffer

    public init(name: String, shape: [Int], role: Role = .parameter, requiresGradient: Bool = true) {
        self.name = name
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.role = role
        self.requiresGradient = role == .parameter && requiresGradient
        valueStorage = FloatBuffer(capacity: count)
        gradientStorage = FloatBuffer(capacity: role == .parameter ? count : 1)
        value = valueStorage.pointer
        gradient = gradientStorage.pointer
    }

    public var values: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: value, count: count) }
    public var gradients: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: gradient, count: role == .parameter ? count : 0)
    }

    /// A copy of the value as a `Tensor`.
    public var tensor: Tensor { Tensor(shape: shape, scalars: Array(values)) }
    /// A copy of the gradient as a `Tensor`.
    public var gradientTensor: Tensor { Tensor(shape: shape, scalars: role == .parameter ? Array(gradients) : [Float](repeating: 0, count: count)) }

    /// Replaces the value; the element count must match (shapes [V, 1] and [V] are both accepted for a
    /// V-element tensor, as PyTorch's weight-norm gain is stored [V, 1]).
    public func load(_ tensor: Tensor) {
        precondition(tensor.count == count, "\(name): expected \(shape) (\(count) values), got \(tensor.shape)")
        tensor.scalars.withUnsafeBufferPointer { value.update(from: $0.baseAddress!, count: count) }
        markModified()
    }

    public func load(_ scalars: [Float]) { load(Tensor(shape: [scalars.count], scalars: scalars)) }

    public func zeroGradient() {
        if role == .parameter { gradient.update(repeating: 0, count: count) }
    }

    public func markModified() { version &+= 1 }
}
