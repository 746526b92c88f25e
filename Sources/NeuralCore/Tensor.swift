/// A dense float32 tensor in row-major (C) order.
///
/// Deliberately small: the models here are a handful of convolutions, dense layers and LSTMs whose
/// inner loops are BLAS calls on flat buffers, so a shape plus a contiguous `[Float]` is all we need.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// Reinterprets the same scalars with another shape of equal size.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    /// Row `index` of a tensor seen as `[shape[0], rest...]`.
    public func row(_ index: Int) -> ArraySlice<Float> {
        let stride = shape.dropFirst().reduce(1, *)
        return scalars[(index * stride)..<((index + 1) * stride)]
    }
}
