/// y = x · Wᵀ + b with W stored `[outputs, inputs]` (PyTorch's `nn.Linear`), forward and backward.
///
/// Backward passes *accumulate* into the parameter gradients (PyTorch's convention); a model zeroes them
/// once per backward pass.
public final class Linear {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter
    public let bias: Parameter?

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// PyTorch's default initialisation: W and b uniform in ±1/√inputs. Names: `<prefix>.weight`, `<prefix>.bias`.
    public init(name prefix: String, inputSize: Int, outputSize: Int, bias: Bool = true, generator: inout SeededGenerator) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = Parameter(name: "\(prefix).weight", shape: [outputSize, inputSize])
        self.bias = bias ? Parameter(name: "\(prefix).bias", shape: [outputSize]) : nil
        let bound = 1 / Float(inputSize).squareRoot()
        generator.fillUniform(weight.value, count: weight.count, bound: bound)
        if let b = self.bias { generator.fillUniform(b.value, count: b.count, bound: bound) }
    }

    /// y[rows×outputs] = x[rows×inputs] · Wᵀ + b.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        MatrixOps.multiplyTransposed(x, ldx: inputSize, rows: rows, weight: weight.value, ldw: inputSize,
                                     outputs: outputSize, inputs: inputSize, into: y, ldy: outputSize)
        if let bias { MatrixOps.addRowVector(bias.value, to: y, ldy: outputSize, rows: rows, columns: outputSize) }
    }

    /// Given dL/dy, accumulates dL/dW += dyᵀx and dL/db += Σ dy; writes (or adds, `accumulateInputGradient`)
    /// dL/dx = dy · W when `inputGradient` is given.
    public func backward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, rows: Int,
                         inputGradient dx: UnsafeMutablePointer<Float>? = nil, accumulateInputGradient: Bool = false) {
        if weight.requiresGradient {
            MatrixOps.accumulateTransposedProduct(dy, lddy: outputSize, x, ldx: inputSize, rows: rows,
                                                  outputs: outputSize, inputs: inputSize, into: weight.gradient, lddw: inputSize)
        }
        if let bias, bias.requiresGradient {
            MatrixOps.accumulateColumnSums(dy, lddy: outputSize, rows: rows, columns: outputSize, into: bias.gradient)
        }
        if let dx {
            MatrixOps.multiply(dy, lddy: outputSize, rows: rows, weight: weight.value, ldw: inputSize,
                               outputs: outputSize, inputs: inputSize, into: dx, lddx: inputSize,
                               beta: accumulateInputGradient ? 1 : 0)
        }
    }
}

/// A weight-normalised linear layer (`torch.nn.utils.weight_norm(nn.Linear(...))`, dim = 0):
/// W[o, :] = g[o] · v[o, :] / ‖v[o, :]‖, y = x · Wᵀ + b.
///
/// Parameters, in `state_dict` order: `<prefix>.bias` [out], `<prefix>.weight_g` [out, 1],
/// `<prefix>.weight_v` [out, in]. The effective weight is rebuilt by `refreshWeight()` (the model calls it
/// at the start of every training forward pass; it costs one pass over v).
public final class WeightNormLinear {
    public let inputSize: Int
    public let outputSize: Int
    public let bias: Parameter
    public let gain: Parameter
    public let direction: Parameter
    public var parameters: [Parameter] { [bias, gain, direction] }

    /// The effective weight W `[outputs, inputs]` as of the last `refreshWeight()`.
    public let effectiveWeight: FloatBuffer
    /// ‖v[o, :]‖ as of the last `refreshWeight()`.
    let norms: FloatBuffer
    /// dL/dW scratch for the backward pass.
    let weightGradient: FloatBuffer

    /// PyTorch's initialisation: an `nn.Linear` (uniform ±1/√in), then g = ‖w_row‖, v = w.
    public init(name prefix: String, inputSize: Int, outputSize: Int, generator: inout SeededGenerator) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        bias = Parameter(name: "\(prefix).bias", shape: [outputSize])
        gain = Parameter(name: "\(prefix).weight_g", shape: [outputSize, 1])
        direction = Parameter(name: "\(prefix).weight_v", shape: [outputSize, inputSize])
        effectiveWeight = FloatBuffer(capacity: outputSize * inputSize)
        norms = FloatBuffer(capacity: outputSize)
        weightGradient = FloatBuffer(capacity: outputSize * inputSize)
        let bound = 1 / Float(inputSize).squareRoot()
        generator.fillUniform(direction.value, count: direction.count, bound: bound)
        generator.fillUniform(bias.value, count: bias.count, bound: bound)
        for o in 0..<outputSize {
            gain.value[o] = Float(MatrixOps.sumOfSquares(direction.value + o * inputSize, count: inputSize).squareRoot())
        }
        refreshWeight()
    }

    /// W = g · v / ‖v‖, row by row.
    public func refreshWeight() {
        let v = direction.value, w = effectiveWeight.pointer
        for o in 0..<outputSize {
            let norm = Float(MatrixOps.sumOfSquares(v + o * inputSize, count: inputSize).squareRoot())
            norms.pointer[o] = norm
            let scale = gain.value[o] / norm
            let row = v + o * inputSize, out = w + o * inputSize
            for i in 0..<inputSize { out[i] = row[i] * scale }
        }
    }

    /// y[rows×outputs] = x · Wᵀ + b with the effective weight.
    public func forward(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into y: UnsafeMutablePointer<Float>) {
        MatrixOps.multiplyTransposed(x, ldx: ldx ?? inputSize, rows: rows, weight: effectiveWeight.pointer, ldw: inputSize,
                                     outputs: outputSize, inputs: inputSize, into: y, ldy: outputSize)
        MatrixOps.addRowVector(bias.value, to: y, ldy: outputSize, rows: rows, columns: outputSize)
    }

    /// Accumulates the gradients of b, g and v; writes (or adds) dL/dx = dy · W when `inputGradient` is given.
    ///
    /// With dW = dyᵀx and v̂ = v/‖v‖: dL/dg = dW·v̂ (row-wise), dL/dv = (g/‖v‖)(dW − (dW·v̂) v̂).
    public func backward(input x: UnsafePointer<Float>, ldx: Int? = nil, outputGradient dy: UnsafePointer<Float>, rows: Int,
                         inputGradient dx: UnsafeMutablePointer<Float>? = nil, accumulateInputGradient: Bool = false) {
        MatrixOps.accumulateColumnSums(dy, lddy: outputSize, rows: rows, columns: outputSize, into: bias.gradient)
        let dW = weightGradient.pointer
        MatrixOps.accumulateTransposedProduct(dy, lddy: outputSize, x, ldx: ldx ?? inputSize, rows: rows,
                                              outputs: outputSize, inputs: inputSize, into: dW, lddw: inputSize, beta: 0)
        let v = direction.value
        for o in 0..<outputSize {
            let norm = norms.pointer[o], row = v + o * inputSize, dRow = dW + o * inputSize
            var dot: Float = 0
            for i in 0..<inputSize { dot += dRow[i] * row[i] }
            let dg = dot / norm
            gain.gradient[o] += dg
            let scale = gain.value[o] / norm, projection = dg / norm
            let dv = direction.gradient + o * inputSize
            for i in 0..<inputSize { dv[i] += scale * (dRow[i] - projection * row[i]) }
        }
        if let dx {
            MatrixOps.multiply(dy, lddy: outputSize, rows: rows, weight: effectiveWeight.pointer, ldw: inputSize,
                               outputs: outputSize, inputs: inputSize, into: dx, lddx: inputSize,
                               beta: accumulateInputGradient ? 1 : 0)
        }
    }
}

/// A lookup table `[count, dimension]` (`nn.Embedding`), optionally frozen, with PyTorch's `padding_idx`
/// semantics: the padding row never receives a gradient. Parameter: `<prefix>.weight`.
public final class Embedding {
    public let count: Int
    public let dimension: Int
    public let paddingIndex: Int?
    public let weight: Parameter
    public var parameters: [Parameter] { [weight] }

    /// Initialised N(0, 1) like `nn.Embedding`; load pretrained vectors (GloVe) with `weight.load`.
    public init(name prefix: String, count: Int, dimension: Int, paddingIndex: Int?, frozen: Bool, generator: inout SeededGenerator) {
        self.count = count
        self.dimension = dimension
        self.paddingIndex = paddingIndex
        weight = Parameter(name: "\(prefix).weight", shape: [count, dimension], requiresGradient: !frozen)
        for i in 0..<weight.count { weight.value[i] = generator.nextNormal() }
    }

    public var isFrozen: Bool { !weight.requiresGradient }

    /// out[r, :] = E[tokens[r], :] for `rows` tokens (rows of `out` are `ldOut` apart).
    public func forward(tokens: UnsafePointer<Int32>, rows: Int, into out: UnsafeMutablePointer<Float>, ldOut: Int? = nil) {
        let ld = ldOut ?? dimension
        for r in 0..<rows {
            let token = Int(tokens[r])
            precondition(token >= 0 && token < count, "token id \(token) outside the vocabulary of \(count)")
            (out + r * ld).update(from: weight.value + token * dimension, count: dimension)
        }
    }

    /// Scatter-adds dL/dout into the rows of the gradient (skipping the padding row); no-op when frozen.
    public func backward(tokens: UnsafePointer<Int32>, rows: Int, outputGradient dOut: UnsafePointer<Float>, ldOut: Int? = nil) {
        guard weight.requiresGradient else { return }
        let ld = ldOut ?? dimension
        for r in 0..<rows {
            let token = Int(tokens[r])
            if token == paddingIndex { continue }
            let g = weight.gradient + token * dimension, d = dOut + r * ld
            for j in 0..<dimension { g[j] += d[j] }
        }
    }
}
