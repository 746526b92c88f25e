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
    /// activated gates (i, f, g, o); the biases come from `combinedBias` (call `refreshBias()` after changing
    /// `biasIH`/`biasHH`; `forwardSequence` does); writes c' = f⊙c + i⊙g, tanh(c') and h' = o⊙tanh(c'). All [rows, H] contiguous
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

    // MARK: Whole sequences, batch-first

    /// `nn.LSTM(batch_first=True)` with given (or zero) h0, c0: y[B, T, H] from x[B, T, I]. Keeps what the
    /// backward pass needs in `cache` (which stores everything time-major internally, so each step's rows
    /// are one contiguous matrix for the per-step GEMM; the input projection of all steps is one GEMM).
    public func forward(batchFirst x: UnsafePointer<Float>, batch: Int, steps: Int, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                        into y: UnsafeMutablePointer<Float>, cache: LSTMSequenceCache) {
        cache.reserve(steps: steps, batch: batch, hiddenSize: hiddenSize)
        let input = cache.inputBuffer.reserve(steps * batch * inputSize)
        LSTMSequenceCache.transpose(x, outer: batch, inner: steps, width: inputSize, into: input)
        projectInput(input, ldx: inputSize, rows: steps * batch, into: cache.gates(0))
        forwardSequence(cache, h0: h0, c0: c0)
        LSTMSequenceCache.transpose(cache.outputs, outer: steps, inner: batch, width: hiddenSize, into: y)
    }

    /// Backward of `forward(batchFirst:…)` for dL/dy [B, T, H]: accumulates every parameter gradient and
    /// writes dL/dx [B, T, I], dL/dh0, dL/dc0 [B, H] where asked.
    public func backward(batchFirst dy: UnsafePointer<Float>, cache: LSTMSequenceCache, inputGradient dx: UnsafeMutablePointer<Float>?,
                         dh0: UnsafeMutablePointer<Float>? = nil, dc0: UnsafeMutablePointer<Float>? = nil) {
        let steps = cache.steps, batch = cache.batch, rows = steps * batch
        let dOut = cache.outputGradientBuffer.reserve(rows * hiddenSize)
        LSTMSequenceCache.transpose(dy, outer: batch, inner: steps, width: hiddenSize, into: dOut)
        backwardSequence(cache, outputGradient: dOut, dh0: dh0, dc0: dc0)
        accumulateInputWeightGradient(cache.gradientGates(0), cache.inputBuffer.pointer, ldx: inputSize, rows: rows)
        if let dx {
            let dIn = cache.inputGradientBuffer.reserve(rows * inputSize)
            backpropagateInput(cache.gradientGates(0), rows: rows, into: dIn, lddx: inputSize)
            LSTMSequenceCache.transpose(dIn, outer: steps, inner: batch, width: inputSize, into: dx)
        }
    }

    // MARK: Whole sequences, time-major

    /// Runs the recurrence over the cache's steps. Before the call, `cache.gates(t)` must hold the input
    /// contribution W_ih·x_t of every active row (biases excluded; see `projectInput`). `h0`, `c0` are
    /// [batch, H] (nil = zeros). Step t updates only its first `cache.rows(t)` rows (all rows unless the cache
    /// was reserved with per-step row counts). Afterwards `cache.hidden(t + 1)` is h_t and `cache.hidden(0)` h0.
    public func forwardSequence(_ cache: LSTMSequenceCache, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?) {
        let batch = cache.batch, n = hiddenSize
        precondition(cache.hiddenSize == n)
        refreshBias()
        let stateCount = batch * n
        if let h0 { cache.hidden(0).update(from: h0, count: stateCount) } else { cache.hidden(0).update(repeating: 0, count: stateCount) }
        if let c0 { cache.cell(0).update(from: c0, count: stateCount) } else { cache.cell(0).update(repeating: 0, count: stateCount) }
        for t in 0..<cache.steps {
            let rows = cache.rows(t)
            projectRecurrent(cache.hidden(t), ldh: n, rows: rows, into: cache.gates(t))
            cellForward(gates: cache.gates(t), cellIn: cache.cell(t), rows: rows,
                        cellOut: cache.cell(t + 1), tanhCellOut: cache.tanhCell(t), hiddenOut: cache.hidden(t + 1))
        }
    }

    /// Backward through a sequence run by `forwardSequence`. `outputGradient` is dL/dh_t for every step in the
    /// cache's (packed) output layout (nil = zeros). Fills `cache.gradientGates`, accumulates the W_hh and bias
    /// gradients, and writes dL/dh0, dL/dc0 [batch, H] when asked. (The W_ih gradient depends on how the input
    /// was laid out: call `accumulateInputWeightGradient` with `cache.gradientGates(0)` over `cache.packedRows`.)
    public func backwardSequence(_ cache: LSTMSequenceCache, outputGradient: UnsafePointer<Float>?,
                                 dh0: UnsafeMutablePointer<Float>? = nil, dc0: UnsafeMutablePointer<Float>? = nil) {
        let batch = cache.batch, n = hiddenSize, stateCount = batch * n
        let dh = cache.runningHiddenGradient.pointer, dc = cache.runningCellGradient.pointer
        let dhTotal = cache.totalHiddenGradient.pointer
        // Rows join the backward recurrence as t decreases (row counts never grow with t), and a row's carries
        // stay zero until it joins: only prefixes are ever written.
        dh.update(repeating: 0, count: stateCount)
        dc.update(repeating: 0, count: stateCount)
        for t in stride(from: cache.steps - 1, through: 0, by: -1) {
            let rows = cache.rows(t), count = rows * n
            if let outputGradient {
                let d = outputGradient + cache.offset(t) * n
                for j in 0..<count { dhTotal[j] = dh[j] + d[j] }
            } else {
                dhTotal.update(from: dh, count: count)
            }
            LSTMLayer.cellBackward(gates: cache.gates(t), cellIn: cache.cell(t), tanhCell: cache.tanhCell(t),
                                   dHidden: dhTotal, dCell: dc, rows: rows, hidden: n, dGates: cache.gradientGates(t))
            if t > 0 || dh0 != nil {
                backpropagateRecurrent(cache.gradientGates(t), rows: rows, into: dh, ldh: n)
            }
        }
        if let dh0 { dh0.update(from: dh, count: stateCount) }
        if let dc0 { dc0.update(from: dc, count: stateCount) }
        let rows = cache.packedRows
        accumulateRecurrentWeightGradient(cache.gradientGates(0), cache.previousHidden(), ldh: n, rows: rows)
        accumulateBiasGradient(cache.gradientGates(0), rows: rows)
    }
}

/// Activations of one LSTM over a sequence, kept for the backward pass; grows only.
///
/// Time-major and optionally *packed* (as PyTorch's `PackedSequence`): step t holds `rows(t)` rows — the
/// first rows(t) of the batch, row counts non-increasing in t (rows sorted by length, longest first) — stored
/// one block after another, `offset(t)` rows in. Without per-step counts every step holds the whole batch.
/// gates and gradientGates [packedRows, 4H]; hidden and cell: the initial state [batch, H], then each
/// step's block [rows(t), H]; tanhCell [packedRows, H].
public final class LSTMSequenceCache {
    public private(set) var steps = 0
    public private(set) var batch = 0
    public private(set) var hiddenSize = 0
    /// Σ_t rows(t).
    public private(set) var packedRows = 0
    private var stepRows: [Int] = []
    private var stepOffsets: [Int] = []
    private var isUniform = true
    let gateBuffer = FloatBuffer(), hiddenBuffer = FloatBuffer(), cellBuffer = FloatBuffer()
    let tanhBuffer = FloatBuffer(), gradientBuffer = FloatBuffer(), previousBuffer = FloatBuffer()
    let runningHiddenGradient = FloatBuffer(), runningCellGradient = FloatBuffer(), totalHiddenGradient = FloatBuffer()
    // Batch-first API only: the time-major input copy and gradient scratch.
    let inputBuffer = FloatBuffer(), outputGradientBuffer = FloatBuffer(), inputGradientBuffer = FloatBuffer()

    public init() {}

    /// Sizes the cache for `steps` steps of the whole batch (reallocating only when it grows).
    public func reserve(steps: Int, batch: Int, hiddenSize: Int) {
        reserve(batch: batch, hiddenSize: hiddenSize, rowsPerStep: nil, steps: steps)
    }

    /// Sizes the cache for a packed sequence: step t has `rowsPerStep[t]` rows (non-increasing, ≤ batch).
    public func reserve(batch: Int, hiddenSize: Int, rowsPerStep: UnsafeBufferPointer<Int>) {
        reserve(batch: batch, hiddenSize: hiddenSize, rowsPerStep: rowsPerStep, steps: rowsPerStep.count)
    }

    private func reserve(batch: Int, hiddenSize: Int, rowsPerStep: UnsafeBufferPointer<Int>?, steps: Int) {
        self.steps = steps
        self.batch = batch
        self.hiddenSize = hiddenSize
        stepRows.removeAll(keepingCapacity: true)
        stepOffsets.removeAll(keepingCapacity: true)
        var offset = 0
        isUniform = true
        for t in 0..<steps {
            let rows = rowsPerStep?[t] ?? batch
            precondition(rows >= 0 && rows <= (t == 0 ? batch : stepRows[t - 1]), "rows per step must not grow")
            if rows != batch { isUniform = false }
            stepRows.append(rows)
            stepOffsets.append(offset)
            offset += rows
        }
        stepOffsets.append(offset)
        packedRows = offset
        let h = hiddenSize
        gateBuffer.reserve(offset * 4 * h)
        gradientBuffer.reserve(offset * 4 * h)
        hiddenBuffer.reserve((batch + offset) * h)
        cellBuffer.reserve((batch + offset) * h)
        tanhBuffer.reserve(offset * h)
        runningHiddenGradient.reserve(batch * h)
        runningCellGradient.reserve(batch * h)
        totalHiddenGradient.reserve(batch * h)
    }

    /// Rows of step t.
    public func rows(_ t: Int) -> Int { stepRows[t] }
    /// First packed row of step t (`offset(steps)` = packedRows).
    public func offset(_ t: Int) -> Int { stepOffsets[t] }

    public func gates(_ t: Int) -> UnsafeMutablePointer<Float> { gateBuffer.pointer + stepOffsets[t] * 4 * hiddenSize }
    public func gradientGates(_ t: Int) -> UnsafeMutablePointer<Float> { gradientBuffer.pointer + stepOffsets[t] * 4 * hiddenSize }
    /// The hidden state entering step `index` (index 0 = h0, [batch, H]); index t + 1 = output of step t, [rows(t), H].
    public func hidden(_ index: Int) -> UnsafeMutablePointer<Float> {
        hiddenBuffer.pointer + (index == 0 ? 0 : batch + stepOffsets[index - 1]) * hiddenSize
    }
    public func cell(_ index: Int) -> UnsafeMutablePointer<Float> {
        cellBuffer.pointer + (index == 0 ? 0 : batch + stepOffsets[index - 1]) * hiddenSize
    }
    public func tanhCell(_ t: Int) -> UnsafeMutablePointer<Float> { tanhBuffer.pointer + stepOffsets[t] * hiddenSize }
    /// The outputs of all steps as one [packedRows, H] matrix.
    public var outputs: UnsafeMutablePointer<Float> { hidden(1) }

    /// The state entering each step, packed like the outputs ([packedRows, H]: row offset(t) + b = h_{t−1}[b]) —
    /// the right-hand side of the W_hh gradient. Without packing that is simply hidden(0…T−1); packed, it is
    /// gathered into scratch (once per call).
    public func previousHidden() -> UnsafeMutablePointer<Float> {
        if isUniform { return hidden(0) }
        let h = hiddenSize, out = previousBuffer.reserve(packedRows * h)
        for t in 0..<steps { (out + stepOffsets[t] * h).update(from: hidden(t), count: stepRows[t] * h) }
        return out
    }

    /// [outer, inner, width] → [inner, outer, width].
    static func transpose(_ x: UnsafePointer<Float>, outer: Int, inner: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        for o in 0..<outer {
            for i in 0..<inner { (y + (i * outer + o) * width).update(from: x + (o * inner + i) * width, count: width) }
        }
    }
}
