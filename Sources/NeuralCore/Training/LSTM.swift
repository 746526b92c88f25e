/// One LSTM layer's parameters and maths (PyTorch's `nn.LSTM` with one layer, or `nn.LSTMCell`), with the
/// forward and backward passes split into the pieces a model needs to fuse work across steps:
///
/// - input projections for all steps at once (one GEMM over `steps × batch` rows) or for a column block
///   of W_ih only (inputs that are concatenations, some constant over time),
/// - one GEMM per step for the recurrent term (all four gates of all rows at once),
/// - the element-wise cell update, in place on the gate pre-activations,
/// - weight gradients as single GEMMs over all steps after the backward recurrence.
///
/// Gates are PyTorch's order i, f, g, o in blocks of `hiddenSize`:
///   i = σ(·), f = σ(·), g = tanh(·), o = σ(·), c' = f⊙c + i⊙g, h' = o⊙tanh(c'),
/// each pre-activation being W_ih·x + b_ih + W_hh·h + b_hh.
///
/// Parameter names: `<prefix>.weight_ih_l0` … for `.lstm`, `<prefix>.weight_ih` … for `.cell`, in the
/// order weight_ih [4H, I], weight_hh [4H, H], bias_ih [4H], bias_hh [4H].
public final class LSTMLayer {
    public enum Naming: Sendable { case lstm, cell }

    public let inputSize: Int
    public let hiddenSize: Int
    public let weightIH: Parameter
    public let weightHH: Parameter
    public let biasIH: Parameter
    public let biasHH: Parameter
    public var parameters: [Parameter] { [weightIH, weightHH, biasIH, biasHH] }

    /// b_ih + b_hh, refreshed by `refreshBias()`.
    public let combinedBias: FloatBuffer

    /// PyTorch's initialisation: everything uniform in ±1/√hidden.
    public init(name prefix: String, naming: Naming, inputSize: Int, hiddenSize: Int, generator: inout SeededGenerator) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let suffix = naming == .lstm ? "_l0" : ""
        weightIH = Parameter(name: "\(prefix).weight_ih\(suffix)", shape: [4 * hiddenSize, inputSize])
        weightHH = Parameter(name: "\(prefix).weight_hh\(suffix)", shape: [4 * hiddenSize, hiddenSize])
        biasIH = Parameter(name: "\(prefix).bias_ih\(suffix)", shape: [4 * hiddenSize])
        biasHH = Parameter(name: "\(prefix).bias_hh\(suffix)", shape: [4 * hiddenSize])
        combinedBias = FloatBuffer(capacity: 4 * hiddenSize)
        let bound = 1 / Float(hiddenSize).squareRoot()
        for p in parameters { generator.fillUniform(p.value, count: p.count, bound: bound) }
        refreshBias()
    }

    public var gateCount: Int { 4 * hiddenSize }

    public func refreshBias() {
        for j in 0..<gateCount { combinedBias.pointer[j] = biasIH.value[j] + biasHH.value[j] }
    }

    // MARK: Projections

    /// gates[rows×4H] = x[:, 0..<columns.count] · W_ih[:, columns]ᵀ + beta · gates.
    @inlinable
    public func projectInput(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, columns: Range<Int>? = nil,
                             into gates: UnsafeMutablePointer<Float>, beta: Float = 0) {
        let block = columns ?? 0..<inputSize
        MatrixOps.multiplyTransposed(x, ldx: ldx, rows: rows, weight: weightIH.value + block.lowerBound, ldw: inputSize,
                                     outputs: gateCount, inputs: block.count, into: gates, ldy: gateCount, beta: beta)
    }

    /// gates[rows×4H] += h[rows×H] · W_hhᵀ.
    @inlinable
    public func projectRecurrent(_ h: UnsafePointer<Float>, ldh: Int, rows: Int, into gates: UnsafeMutablePointer<Float>, beta: Float = 1) {
        MatrixOps.multiplyTransposed(h, ldx: ldh, rows: rows, weight: weightHH.value, ldw: hiddenSize,
                                     outputs: gateCount, inputs: hiddenSize, into: gates, ldy: gateCount, beta: beta)
    }

    /// dx[rows × columns.count] (+)= dGates · W_ih[:, columns].
    @inlinable
    public func backpropagateInput(_ dGates: UnsafePointer<Float>, rows: Int, columns: Range<Int>? = nil,
                                   into dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float = 0) {
        let block = columns ?? 0..<inputSize
        MatrixOps.multiply(dGates, lddy: gateCount, rows: rows, weight: weightIH.value + block.lowerBound, ldw: inputSize,
                           outputs: gateCount, inputs: block.count, into: dx, lddx: lddx, beta: beta)
    }

    /// dh[rows×H] (+)= dGates · W_hh.
    @inlinable
    public func backpropagateRecurrent(_ dGates: UnsafePointer<Float>, rows: Int, into dh: UnsafeMutablePointer<Float>, ldh: Int, beta: Float = 0) {
        MatrixOps.multiply(dGates, lddy: gateCount, rows: rows, weight: weightHH.value, ldw: hiddenSize,
                           outputs: gateCount, inputs: hiddenSize, into: dh, lddx: ldh, beta: beta)
    }

    /// dW_ih[:, columns] += dGatesᵀ · x over `rows` rows.
    @inlinable
    public func accumulateInputWeightGradient(_ dGates: UnsafePointer<Float>, _ x: UnsafePointer<Float>, ldx: Int, rows: Int,
                                              columns: Range<Int>? = nil) {
        let block = columns ?? 0..<inputSize
        MatrixOps.accumulateTransposedProduct(dGates, lddy: gateCount, x, ldx: ldx, rows: rows, outputs: gateCount,
                                              inputs: block.count, into: weightIH.gradient + block.lowerBound, lddw: inputSize)
    }

    /// dW_hh += dGatesᵀ · h over `rows` rows (h: the state *entering* each step).
    @inlinable
    public func accumulateRecurrentWeightGradient(_ dGates: UnsafePointer<Float>, _ h: UnsafePointer<Float>, ldh: Int, rows: Int) {
        MatrixOps.accumulateTransposedProduct(dGates, lddy: gateCount, h, ldx: ldh, rows: rows, outputs: gateCount,
                                              inputs: hiddenSize, into: weightHH.gradient, lddw: hiddenSize)
    }

    /// db_ih += Σ dGates and db_hh += Σ dGates.
    public func accumulateBiasGradient(_ dGates: UnsafePointer<Float>, rows: Int) {
        MatrixOps.accumulateColumnSums(dGates, lddy: gateCount, rows: rows, columns: gateCount, into: biasIH.gradient)
        MatrixOps.accumulateColumnSums(dGates, lddy: gateCount, rows: rows, columns: gateCount, into: biasHH.gradient)
    }

    // MARK: Element-wise cell

    /// One step for `rows` rows: `gates` holds the pre-activations without biases and is overwritten with the
    /// activated gates (i, f, g, o); writes c' = f⊙c + i⊙g, tanh(c') and h' = o⊙tanh(c'). All [rows, H] contiguous
    /// except `gates` [rows, 4H].
    @inlinable
    public func cellForward(gates: UnsafeMutablePointer<Float>, cellIn: UnsafePointer<Float>, rows: Int,
                            cellOut: UnsafeMutablePointer<Float>, tanhCellOut: UnsafeMutablePointer<Float>,
                            hiddenOut: UnsafeMutablePointer<Float>) {
        LSTMLayer.cellForward(gates: gates, bias: combinedBias.pointer, cellIn: cellIn, rows: rows, hidden: hiddenSize,
                              cellOut: cellOut, tanhCellOut: tanhCellOut, hiddenOut: hiddenOut)
    }

    @inlinable
    public static func cellForward(gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, cellIn: UnsafePointer<Float>,
                                   rows: Int, hidden n: Int, cellOut: UnsafeMutablePointer<Float>,
                                   tanhCellOut: UnsafeMutablePointer<Float>, hiddenOut: UnsafeMutablePointer<Float>) {
        // Short loops over few pointers each, so LLVM vectorises them (with its runtime alias checks).
        for r in 0..<rows {
            let g = gates + r * 4 * n, c0 = cellIn + r * n, c1 = cellOut + r * n
            let tc = tanhCellOut + r * n, h = hiddenOut + r * n
            for j in 0..<(2 * n) { g[j] = FastMath.sigmoid(g[j] + bias[j]) }                     // i, f
            for j in (2 * n)..<(3 * n) { g[j] = FastMath.tanh(g[j] + bias[j]) }                  // g
            for j in (3 * n)..<(4 * n) { g[j] = FastMath.sigmoid(g[j] + bias[j]) }               // o
            let i = UnsafePointer(g), f = UnsafePointer(g + n), u = UnsafePointer(g + 2 * n), o = UnsafePointer(g + 3 * n)
            for j in 0..<n { c1[j] = f[j] * c0[j] + i[j] * u[j] }
            for j in 0..<n { tc[j] = FastMath.tanh(c1[j]) }
            for j in 0..<n { h[j] = o[j] * tc[j] }
        }
    }

    /// Backward through one step's cell. In: the activated `gates`, the cell state entering the step, tanh(c'),
    /// `dHidden` = dL/dh' (total), and `dCell` = dL/dc' from later steps. Out: `dGates` = dL/d(pre-activations)
    /// and `dCell` overwritten with dL/dc (the cell state entering the step).
    @inlinable
    public static func cellBackward(gates: UnsafePointer<Float>, cellIn: UnsafePointer<Float>, tanhCell: UnsafePointer<Float>,
                                    dHidden: UnsafePointer<Float>, dCell: UnsafeMutablePointer<Float>, rows: Int, hidden n: Int,
                                    dGates: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let g = gates + r * 4 * n, c0 = cellIn + r * n, tc = tanhCell + r * n
            let dh = dHidden + r * n, dc = dCell + r * n, dg = dGates + r * 4 * n
            for j in 0..<n {
                let i = g[j], f = g[n + j], u = g[2 * n + j], o = g[3 * n + j], t = tc[j]
                let dcTotal = dc[j] + dh[j] * o * (1 - t * t)
                dg[j] = dcTotal * u * i * (1 - i)
                dg[n + j] = dcTotal * c0[j] * f * (1 - f)
                dg[2 * n + j] = dcTotal * i * (1 - u * u)
                dg[3 * n + j] = dh[j] * t * o * (1 - o)
                dc[j] = dcTotal * f
            }
        }
    }

    // MARK: Whole sequences

    /// Runs the recurrence over `steps` steps for `batch` rows. Before the call, `cache.gates[t]` must hold the
    /// input contribution W_ih·x_t for every step (biases excluded; see `projectInput`). `h0`, `c0` are
    /// [batch, H] (nil = zeros). Afterwards `cache.hidden[t + 1]` is h_t (and `cache.hidden[0]` = h0).
    public func forwardSequence(_ cache: LSTMSequenceCache, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?) {
        let steps = cache.steps, batch = cache.batch, n = hiddenSize
        precondition(cache.hiddenSize == n)
        refreshBias()
        let stateCount = batch * n
        if let h0 { cache.hidden(0).update(from: h0, count: stateCount) } else { cache.hidden(0).update(repeating: 0, count: stateCount) }
        if let c0 { cache.cell(0).update(from: c0, count: stateCount) } else { cache.cell(0).update(repeating: 0, count: stateCount) }
        for t in 0..<steps {
            projectRecurrent(cache.hidden(t), ldh: n, rows: batch, into: cache.gates(t))
            cellForward(gates: cache.gates(t), cellIn: cache.cell(t), rows: batch,
                        cellOut: cache.cell(t + 1), tanhCellOut: cache.tanhCell(t), hiddenOut: cache.hidden(t + 1))
        }
    }

    /// Backward through a sequence run by `forwardSequence`. `outputGradient` is dL/dh_t for every step
    /// ([steps, batch, H], nil = zeros). Fills `cache.gradientGates`, accumulates the W_hh and bias gradients,
    /// and writes dL/dh0, dL/dc0 when asked. (The W_ih gradient depends on how the input was laid out: call
    /// `accumulateInputWeightGradient` with `cache.gradientGates`.)
    public func backwardSequence(_ cache: LSTMSequenceCache, outputGradient: UnsafePointer<Float>?,
                                 dh0: UnsafeMutablePointer<Float>? = nil, dc0: UnsafeMutablePointer<Float>? = nil) {
        let steps = cache.steps, batch = cache.batch, n = hiddenSize, stateCount = batch * n
        let dh = cache.runningHiddenGradient.pointer, dc = cache.runningCellGradient.pointer
        let dhTotal = cache.totalHiddenGradient.pointer
        dh.update(repeating: 0, count: stateCount)
        dc.update(repeating: 0, count: stateCount)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            if let outputGradient {
                let d = outputGradient + t * stateCount
                for j in 0..<stateCount { dhTotal[j] = dh[j] + d[j] }
            } else {
                dhTotal.update(from: dh, count: stateCount)
            }
            LSTMLayer.cellBackward(gates: cache.gates(t), cellIn: cache.cell(t), tanhCell: cache.tanhCell(t),
                                   dHidden: dhTotal, dCell: dc, rows: batch, hidden: n, dGates: cache.gradientGates(t))
            if t > 0 || dh0 != nil {
                backpropagateRecurrent(cache.gradientGates(t), rows: batch, into: dh, ldh: n)
            }
        }
        if let dh0 { dh0.update(from: dh, count: stateCount) }
        if let dc0 { dc0.update(from: dc, count: stateCount) }
        let rows = steps * batch
        accumulateRecurrentWeightGradient(cache.gradientGates(0), cache.hidden(0), ldh: n, rows: rows)
        accumulateBiasGradient(cache.gradientGates(0), rows: rows)
    }
}

/// Activations of one LSTM over a sequence, time-major, kept for the backward pass; grows only.
///
/// gates [T, B, 4H] (pre-activations, then activated), hidden and cell [T + 1, B, H] (index 0 = initial
/// state), tanhCell [T, B, H], gradientGates [T, B, 4H].
public final class LSTMSequenceCache {
    public private(set) var steps = 0
    public private(set) var batch = 0
    public private(set) var hiddenSize = 0
    let gateBuffer = FloatBuffer(), hiddenBuffer = FloatBuffer(), cellBuffer = FloatBuffer()
    let tanhBuffer = FloatBuffer(), gradientBuffer = FloatBuffer()
    let runningHiddenGradient = FloatBuffer(), runningCellGradient = FloatBuffer(), totalHiddenGradient = FloatBuffer()

    public init() {}

    /// Sizes the cache for a sequence (reallocating only when it grows).
    public func reserve(steps: Int, batch: Int, hiddenSize: Int) {
        self.steps = steps
        self.batch = batch
        self.hiddenSize = hiddenSize
        let state = batch * hiddenSize
        gateBuffer.reserve(steps * 4 * state)
        gradientBuffer.reserve(steps * 4 * state)
        hiddenBuffer.reserve((steps + 1) * state)
        cellBuffer.reserve((steps + 1) * state)
        tanhBuffer.reserve(steps * state)
        runningHiddenGradient.reserve(state)
        runningCellGradient.reserve(state)
        totalHiddenGradient.reserve(state)
    }

    public func gates(_ t: Int) -> UnsafeMutablePointer<Float> { gateBuffer.pointer + t * batch * 4 * hiddenSize }
    public func gradientGates(_ t: Int) -> UnsafeMutablePointer<Float> { gradientBuffer.pointer + t * batch * 4 * hiddenSize }
    /// h_{t-1} entering step t (index 0 = h0; index t + 1 = output of step t).
    public func hidden(_ index: Int) -> UnsafeMutablePointer<Float> { hiddenBuffer.pointer + index * batch * hiddenSize }
    public func cell(_ index: Int) -> UnsafeMutablePointer<Float> { cellBuffer.pointer + index * batch * hiddenSize }
    public func tanhCell(_ t: Int) -> UnsafeMutablePointer<Float> { tanhBuffer.pointer + t * batch * hiddenSize }
    /// The outputs h_0 … h_{T-1} as one [T·B, H] matrix.
    public var outputs: UnsafeMutablePointer<Float> { hidden(1) }
}
