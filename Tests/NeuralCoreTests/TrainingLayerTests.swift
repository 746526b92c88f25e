import XCTest
@testable import NeuralCore

/// The training layers against PyTorch (fixture from Tools/torch_reference/make_fixtures.py) and against
/// central finite differences of their own forward passes.
final class TrainingLayerTests: XCTestCase {
    private var generator = SeededGenerator(seed: 99)

    private func random(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in scale * generator.nextNormal() } }

    // MARK: LSTM over a sequence

    /// Runs the LSTM over x (time-major) and returns outputs, plus (after backward with dOut = r) the input,
    /// h0 and c0 gradients. Parameter gradients are accumulated into the layer.
    private func runLSTM(_ lstm: LSTMLayer, x: [Float], h0: [Float], c0: [Float], r: [Float]?, batch: Int, steps: Int)
        -> (y: [Float], dx: [Float], dh0: [Float], dc0: [Float]) {
        let cache = LSTMSequenceCache()
        cache.reserve(steps: steps, batch: batch, hiddenSize: lstm.hiddenSize)
        let rows = steps * batch, n = lstm.hiddenSize
        x.withUnsafeBufferPointer { lstm.projectInput($0.baseAddress!, ldx: lstm.inputSize, rows: rows, into: cache.gates(0)) }
        h0.withUnsafeBufferPointer { h in c0.withUnsafeBufferPointer { c in lstm.forwardSequence(cache, h0: h.baseAddress!, c0: c.baseAddress!) } }
        let y = Array(UnsafeBufferPointer(start: cache.outputs, count: rows * n))
        guard let r else { return (y, [], [], []) }
        var dh0 = [Float](repeating: 0, count: batch * n), dc0 = dh0
        var dx = [Float](repeating: 0, count: rows * lstm.inputSize)
        r.withUnsafeBufferPointer { lstm.backwardSequence(cache, outputGradient: $0.baseAddress!, dh0: &dh0, dc0: &dc0) }
        x.withUnsafeBufferPointer { lstm.accumulateInputWeightGradient(cache.gradientGates(0), $0.baseAddress!, ldx: lstm.inputSize, rows: rows) }
        lstm.backpropagateInput(cache.gradientGates(0), rows: rows, into: &dx, lddx: lstm.inputSize)
        return (y, dx, dh0, dc0)
    }

    func testLSTMSequenceMatchesPyTorch() throws {
        let f = try TrainingFixtures.layers()
        let batch = 3, steps = 4, inputs = 7, n = 5
        var g = SeededGenerator(seed: 1)
        let lstm = LSTMLayer(name: "lstm", naming: .lstm, inputSize: inputs, hiddenSize: n, generator: &g)
        for p in lstm.parameters { p.load(try f.tensor(p.name)) }
        XCTAssertEqual(lstm.parameters.map(\.name), ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"])
        // Batch-first API (nn.LSTM(batch_first=True)).
        let x = try f.tensor("lstm.x").scalars, r = try f.tensor("lstm.r").scalars
        let h0 = try f.tensor("lstm.h0").scalars, c0 = try f.tensor("lstm.c0").scalars
        let cache = LSTMSequenceCache()
        var y = [Float](repeating: 0, count: batch * steps * n), dx = [Float](repeating: 0, count: x.count)
        var dh0 = [Float](repeating: 0, count: batch * n), dc0 = dh0
        lstm.forward(batchFirst: x, batch: batch, steps: steps, h0: h0, c0: c0, into: &y, cache: cache)
        lstm.backward(batchFirst: r, cache: cache, inputGradient: &dx, dh0: &dh0, dc0: &dc0)
        assertMatches(y, try f.tensor("lstm.y").scalars, tolerance: 1e-5, "y")
        assertMatches(dx, try f.tensor("lstm.grad.x").scalars, tolerance: 1e-4, "dx")
        assertMatches(dh0, try f.tensor("lstm.grad.h0").scalars, tolerance: 1e-4, "dh0")
        assertMatches(dc0, try f.tensor("lstm.grad.c0").scalars, tolerance: 1e-4, "dc0")
        for p in lstm.parameters {
            assertMatches(p.gradientArray, try f.tensor("lstm.grad.\(p.name.dropFirst(5))").scalars, tolerance: 1e-4, p.name)
        }
        // The time-major building blocks the models use give the same.
        for p in lstm.parameters { p.zeroGradient() }
        let result = runLSTM(lstm, x: timeMajor(x, batch: batch, steps: steps, width: inputs), h0: h0, c0: c0,
                             r: timeMajor(r, batch: batch, steps: steps, width: n), batch: batch, steps: steps)
        assertMatches(batchFirst(result.y, batch: batch, steps: steps, width: n), y, tolerance: 1e-6, "time-major y")
        assertMatches(batchFirst(result.dx, batch: batch, steps: steps, width: inputs), dx, tolerance: 1e-6, "time-major dx")
    }

    func testLSTMSequenceGradientsMatchFiniteDifferences() {
        let batch = 2, steps = 5, inputs = 3, n = 4
        var g = SeededGenerator(seed: 2)
        let lstm = LSTMLayer(name: "l", naming: .lstm, inputSize: inputs, hiddenSize: n, generator: &g)
        for p in lstm.parameters { for i in 0..<p.count { p.value[i] *= 3 } }  // stronger non-linearity
        let x = TestVector(random(steps * batch * inputs)), h0 = TestVector(random(batch * n, scale: 0.5))
        let c0 = TestVector(random(batch * n, scale: 0.5))
        let r = random(steps * batch * n)
        let analytic = runLSTM(lstm, x: x.array, h0: h0.array, c0: c0.array, r: r, batch: batch, steps: steps)
        let loss = { weightedSum(self.runLSTM(lstm, x: x.array, h0: h0.array, c0: c0.array, r: nil, batch: batch, steps: steps).y, r) }
        for p in lstm.parameters {
            checkFiniteDifferences(p.name, values: p.value, count: p.count, analytic: p.gradientArray, loss: loss)
        }
        checkFiniteDifferences("x", values: x.pointer, count: x.count, analytic: analytic.dx, loss: loss)
        checkFiniteDifferences("h0", values: h0.pointer, count: h0.count, analytic: analytic.dh0, loss: loss)
        checkFiniteDifferences("c0", values: c0.pointer, count: c0.count, analytic: analytic.dc0, loss: loss)
    }

    // MARK: LSTM cell

    /// One step; returns (h', c') and, with r1/r2, dL/dx, dL/dh, dL/dc for L = Σ r1⊙h' + Σ r2⊙c'.
    private func runCell(_ cell: LSTMLayer, x: [Float], h: [Float], c: [Float], r1: [Float]?, r2: [Float]?, rows: Int)
        -> (h1: [Float], c1: [Float], dx: [Float], dh: [Float], dc: [Float]) {
        let n = cell.hiddenSize
        var gates = [Float](repeating: 0, count: rows * 4 * n)
        var h1 = [Float](repeating: 0, count: rows * n), c1 = h1, tc = h1
        cell.refreshBias()
        x.withUnsafeBufferPointer { cell.projectInput($0.baseAddress!, ldx: cell.inputSize, rows: rows, into: &gates) }
        h.withUnsafeBufferPointer { cell.projectRecurrent($0.baseAddress!, ldh: n, rows: rows, into: &gates) }
        c.withUnsafeBufferPointer { cell.cellForward(gates: &gates, cellIn: $0.baseAddress!, rows: rows, cellOut: &c1, tanhCellOut: &tc, hiddenOut: &h1) }
        guard let r1, var dc = r2 else { return (h1, c1, [], [], []) }
        var dGates = [Float](repeating: 0, count: rows * 4 * n)
        c.withUnsafeBufferPointer { cIn in
            LSTMLayer.cellBackward(gates: gates, cellIn: cIn.baseAddress!, tanhCell: tc, dHidden: r1, dCell: &dc, rows: rows, hidden: n, dGates: &dGates)
        }
        var dx = [Float](repeating: 0, count: rows * cell.inputSize), dh = [Float](repeating: 0, count: rows * n)
        x.withUnsafeBufferPointer { cell.accumulateInputWeightGradient(dGates, $0.baseAddress!, ldx: cell.inputSize, rows: rows) }
        h.withUnsafeBufferPointer { cell.accumulateRecurrentWeightGradient(dGates, $0.baseAddress!, ldh: n, rows: rows) }
        cell.accumulateBiasGradient(dGates, rows: rows)
        cell.backpropagateInput(dGates, rows: rows, into: &dx, lddx: cell.inputSize)
        cell.backpropagateRecurrent(dGates, rows: rows, into: &dh, ldh: n)
        return (h1, c1, dx, dh, dc)
    }

    func testLSTMCellMatchesPyTorch() throws {
        let f = try TrainingFixtures.layers()
        var g = SeededGenerator(seed: 3)
        let cell = LSTMLayer(name: "cell", naming: .cell, inputSize: 6, hiddenSize: 5, generator: &g)
        XCTAssertEqual(cell.parameters.map(\.name), ["cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh"])
        for p in cell.parameters { p.load(try f.tensor(p.name)) }
        let result = runCell(cell, x: try f.tensor("cell.x").scalars, h: try f.tensor("cell.h").scalars, c: try f.tensor("cell.c").scalars,
                             r1: try f.tensor("cell.r1").scalars, r2: try f.tensor("cell.r2").scalars, rows: 3)
        assertMatches(result.h1, try f.tensor("cell.h1").scalars, tolerance: 1e-5, "h'")
        assertMatches(result.c1, try f.tensor("cell.c1").scalars, tolerance: 1e-5, "c'")
        assertMatches(result.dx, try f.tensor("cell.grad.x").scalars, tolerance: 1e-4, "dx")
        assertMatches(result.dh, try f.tensor("cell.grad.h").scalars, tolerance: 1e-4, "dh")
        assertMatches(result.dc, try f.tensor("cell.grad.c").scalars, tolerance: 1e-4, "dc")
        for p in cell.parameters {
            assertMatches(p.gradientArray, try f.tensor("cell.grad.\(p.name.dropFirst(5))").scalars, tolerance: 1e-4, p.name)
        }
    }

    func testLSTMCellGradientsMatchFiniteDifferences() {
        let rows = 3, inputs = 4, n = 3
        var g = SeededGenerator(seed: 4)
        let cell = LSTMLayer(name: "c", naming: .cell, inputSize: inputs, hiddenSize: n, generator: &g)
        for p in cell.parameters { for i in 0..<p.count { p.value[i] *= 3 } }
        let x = TestVector(random(rows * inputs)), h = TestVector(random(rows * n)), c = TestVector(random(rows * n))
        let r1 = random(rows * n), r2 = random(rows * n)
        let analytic = runCell(cell, x: x.array, h: h.array, c: c.array, r1: r1, r2: r2, rows: rows)
        let loss = { () -> Double in
            let out = self.runCell(cell, x: x.array, h: h.array, c: c.array, r1: nil, r2: nil, rows: rows)
            return weightedSum(out.h1, r1) + weightedSum(out.c1, r2)
        }
        for p in cell.parameters { checkFiniteDifferences(p.name, values: p.value, count: p.count, analytic: p.gradientArray, loss: loss) }
        checkFiniteDifferences("x", values: x.pointer, count: x.count, analytic: analytic.dx, loss: loss)
        checkFiniteDifferences("h", values: h.pointer, count: h.count, analytic: analytic.dh, loss: loss)
        checkFiniteDifferences("c", values: c.pointer, count: c.count, analytic: analytic.dc, loss: loss)
    }

    // MARK: Weight-normalised linear, linear, embedding

    func testWeightNormLinearMatchesPyTorch() throws {
        let f = try TrainingFixtures.layers()
        var g = SeededGenerator(seed: 5)
        let dense = WeightNormLinear(name: "wn", inputSize: 6, outputSize: 9, generator: &g)
        XCTAssertEqual(dense.parameters.map(\.name), ["wn.bias", "wn.weight_g", "wn.weight_v"])
        XCTAssertEqual(dense.gain.shape, [9, 1])
        for p in dense.parameters { p.load(try f.tensor(p.name)) }
        dense.refreshWeight()
        let x = try f.tensor("wn.x").scalars, r = try f.tensor("wn.r").scalars
        var y = [Float](repeating: 0, count: 5 * 9), dx = [Float](repeating: 0, count: 5 * 6)
        dense.forward(x, rows: 5, into: &y)
        assertMatches(y, try f.tensor("wn.y").scalars, tolerance: 1e-5, "y")
        dense.backward(input: x, outputGradient: r, rows: 5, inputGradient: &dx)
        assertMatches(dx, try f.tensor("wn.grad.x").scalars, tolerance: 1e-4, "dx")
        for p in dense.parameters {
            assertMatches(p.gradientArray, try f.tensor("wn.grad.\(p.name.dropFirst(3))").scalars, tolerance: 1e-4, p.name)
        }
    }

    func testWeightNormAndPlainLinearGradientsMatchFiniteDifferences() {
        var g = SeededGenerator(seed: 6)
        let dense = WeightNormLinear(name: "wn", inputSize: 4, outputSize: 5, generator: &g)
        for o in 0..<5 { dense.gain.value[o] *= 1.7 }
        let linear = Linear(name: "lin", inputSize: 5, outputSize: 3, generator: &g)
        let rows = 3
        let x = TestVector(random(rows * 4))
        let r = random(rows * 3)
        // L = Σ r ⊙ tanh(linear(wn(x))).
        func forward(_ keep: Bool) -> (loss: Double, hidden: [Float], pre: [Float]) {
            dense.refreshWeight()
            var hidden = [Float](repeating: 0, count: rows * 5), pre = [Float](repeating: 0, count: rows * 3)
            dense.forward(x.pointer, rows: rows, into: &hidden)
            linear.forward(hidden, rows: rows, into: &pre)
            return (weightedSum(pre.map { Foundation.tanh($0) }, r), hidden, pre)
        }
        let (_, hidden, pre) = forward(true)
        let dPre = zip(pre, r).map { (1 - Foundation.tanh($0) * Foundation.tanh($0)) * $1 }
        var dHidden = [Float](repeating: 0, count: rows * 5), dx = [Float](repeating: 0, count: rows * 4)
        linear.backward(input: hidden, outputGradient: dPre, rows: rows, inputGradient: &dHidden)
        dense.backward(input: x.pointer, outputGradient: dHidden, rows: rows, inputGradient: &dx)
        let loss = { forward(false).loss }
        for p in dense.parameters + linear.parameters {
            checkFiniteDifferences(p.name, values: p.value, count: p.count, analytic: p.gradientArray, loss: loss)
        }
        checkFiniteDifferences("x", values: x.pointer, count: x.count, analytic: dx, loss: loss)
    }

    func testEmbeddingLookupAndPaddingRowGetsNoGradient() {
        var g = SeededGenerator(seed: 7)
        let table = Embedding(name: "emb", count: 6, dimension: 3, paddingIndex: 0, frozen: false, generator: &g)
        let tokens: [Int32] = [2, 0, 2, 5]
        var out = [Float](repeating: 0, count: 12)
        table.forward(tokens: tokens, rows: 4, into: &out)
        XCTAssertEqual(Array(out[0..<3]), Array(table.weight.values[6..<9]))
        XCTAssertEqual(Array(out[3..<6]), Array(table.weight.values[0..<3]))
        let dOut: [Float] = (0..<12).map { Float($0) }
        table.backward(tokens: tokens, rows: 4, outputGradient: dOut)
        XCTAssertEqual(Array(table.weight.gradients[0..<3]), [0, 0, 0], "padding row")
        XCTAssertEqual(Array(table.weight.gradients[6..<9]), [Float(6), 8, 10], "row 2 twice")
        XCTAssertEqual(Array(table.weight.gradients[15..<18]), [9, 10, 11])
        let frozen = Embedding(name: "f", count: 6, dimension: 3, paddingIndex: 0, frozen: true, generator: &g)
        frozen.backward(tokens: tokens, rows: 4, outputGradient: dOut)
        XCTAssertTrue(frozen.weight.gradients.allSatisfy { $0 == 0 })
        XCTAssertFalse(frozen.weight.requiresGradient)
    }

    // MARK: BatchNorm1d

    func testBatchNormTrainingAndEvaluationMatchPyTorch() throws {
        let f = try TrainingFixtures.layers()
        let bn = BatchNorm1d(name: "bn", features: 5)
        XCTAssertEqual(bn.stateTensors.map(\.name), ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        bn.weight.load(try f.tensor("bn.weight")); bn.bias.load(try f.tensor("bn.bias"))
        bn.runningMean.load(try f.tensor("bn.running_mean.before")); bn.runningVariance.load(try f.tensor("bn.running_var.before"))
        let x = try f.tensor("bn.x").scalars, r = try f.tensor("bn.r").scalars
        var y = [Float](repeating: 0, count: 30), dx = y
        bn.forwardTraining(x, batch: 6, into: &y)
        assertMatches(y, try f.tensor("bn.y").scalars, tolerance: 1e-5, "y (training)")
        assertMatches(bn.runningMean.valueArray, try f.tensor("bn.running_mean.after").scalars, tolerance: 1e-5, "running_mean")
        assertMatches(bn.runningVariance.valueArray, try f.tensor("bn.running_var.after").scalars, tolerance: 1e-5, "running_var (unbiased)")
        XCTAssertEqual(bn.batchesTracked.value[0], 1)
        bn.backward(outputGradient: r, batch: 6, inputGradient: &dx)
        assertMatches(dx, try f.tensor("bn.grad.x").scalars, tolerance: 1e-4, "dx")
        assertMatches(bn.weight.gradientArray, try f.tensor("bn.grad.weight").scalars, tolerance: 1e-4, "dγ")
        assertMatches(bn.bias.gradientArray, try f.tensor("bn.grad.bias").scalars, tolerance: 1e-4, "dβ")
        bn.forwardEvaluation(x, batch: 6, into: &y)
        assertMatches(y, try f.tensor("bn.y_eval").scalars, tolerance: 1e-5, "y (evaluation)")
        // The folded affine map is the evaluation-mode map.
        let (scale, shift) = bn.evaluationAffine()
        let folded = x.indices.map { x[$0] * scale[$0 % 5] + shift[$0 % 5] }
        assertMatches(folded, y, tolerance: 1e-5, "folded affine")
    }

    func testBatchNormGradientsMatchFiniteDifferences() {
        let bn = BatchNorm1d(name: "bn", features: 3)
        for j in 0..<3 { bn.weight.value[j] = 1 + 0.5 * generator.nextNormal(); bn.bias.value[j] = generator.nextNormal() }
        let x = TestVector(random(4 * 3))
        let r = random(4 * 3)
        var y = [Float](repeating: 0, count: 12), dx = y
        bn.forwardTraining(x.pointer, batch: 4, into: &y)
        bn.backward(outputGradient: r, batch: 4, inputGradient: &dx)
        let loss = { () -> Double in
            var out = [Float](repeating: 0, count: 12)
            bn.forwardTraining(x.pointer, batch: 4, into: &out, updateRunningStatistics: false)
            return weightedSum(out.map { Foundation.tanh($0) }, r)
        }
        // Backward of Σ r ⊙ tanh(y): dy = r (1 − tanh² y).
        let dy = zip(y, r).map { (1 - Foundation.tanh($0) * Foundation.tanh($0)) * $1 }
        for p in bn.parameters { p.zeroGradient() }
        bn.forwardTraining(x.pointer, batch: 4, into: &y, updateRunningStatistics: false)
        bn.backward(outputGradient: dy, batch: 4, inputGradient: &dx)
        for p in bn.parameters { checkFiniteDifferences(p.name, values: p.value, count: p.count, analytic: p.gradientArray, loss: loss) }
        checkFiniteDifferences("x", values: x.pointer, count: x.count, analytic: dx, loss: loss)
    }

    // MARK: Masked soft attention

    /// â and β for L = Σ r1⊙â + Σ r2⊙β; with `backward`, returns dL/dh and dL/dfeatures too.
    private func runAttention(_ attention: SoftAttention, h: [Float], features: [Float], counts: [Int32], r1: [Float], r2: [Float],
                              batch: Int, chunks: Int, backward: Bool) -> (loss: Double, beta: [Float], attended: [Float], dh: [Float], dFeatures: [Float]) {
        let a = attention.attentionSize, k = attention.featureSize, q = attention.querySize
        var projected = [Float](repeating: 0, count: batch * chunks * a), query = [Float](repeating: 0, count: batch * a)
        var u = projected, beta = [Float](repeating: 0, count: batch * chunks), attended = [Float](repeating: 0, count: batch * k)
        attention.featureProjection.forward(features, rows: batch * chunks, into: &projected)
        attention.queryProjection.forward(h, rows: batch, into: &query)
        attention.weights(projected: projected, query: query, counts: counts, batch: batch, chunks: chunks, tanhOut: &u, into: &beta)
        attention.attend(beta: beta, features: features, batch: batch, chunks: chunks, into: &attended)
        let loss = weightedSum(attended, r1) + weightedSum(beta, r2)
        guard backward else { return (loss, beta, attended, [], []) }
        var dBeta = beta, dFeatures = [Float](repeating: 0, count: features.count)
        attention.attendBackward(beta: beta, features: features, outputGradient: r1, batch: batch, chunks: chunks,
                                 betaGradient: &dBeta, featureGradient: &dFeatures)
        for i in dBeta.indices { dBeta[i] += r2[i] }
        var dProjected = [Float](repeating: 0, count: projected.count), dQuery = [Float](repeating: 0, count: query.count)
        attention.weightsBackward(beta: beta, tanh: u, betaGradient: dBeta, counts: counts, batch: batch, chunks: chunks,
                                  projectedGradient: &dProjected, queryGradient: &dQuery)
        var dh = [Float](repeating: 0, count: batch * q)
        attention.queryProjection.backward(input: h, outputGradient: dQuery, rows: batch, inputGradient: &dh)
        attention.featureProjection.backward(input: features, outputGradient: dProjected, rows: batch * chunks,
                                             inputGradient: &dFeatures, accumulateInputGradient: true)
        return (loss, beta, attended, dh, dFeatures)
    }

    func testMaskedAttentionMatchesPyTorch() throws {
        let f = try TrainingFixtures.layers()
        var g = SeededGenerator(seed: 8)
        let attention = SoftAttention(name: "att", featureSize: 7, querySize: 5, attentionSize: 4, generator: &g)
        XCTAssertEqual(attention.parameters.map(\.name), ["att.audio_projection.weight", "att.audio_projection.bias",
                                                          "att.query_projection.weight", "att.query_projection.bias",
                                                          "att.linear.weight", "att.linear.bias"])
        for p in attention.parameters { p.load(try f.tensor(p.name)) }
        let counts = try f.tensor("att.counts").scalars.map { Int32($0) }
        let result = runAttention(attention, h: try f.tensor("att.h").scalars, features: try f.tensor("att.features").scalars,
                                  counts: counts, r1: try f.tensor("att.r1").scalars, r2: try f.tensor("att.r2").scalars,
                                  batch: 3, chunks: 4, backward: true)
        assertMatches(result.beta, try f.tensor("att.beta").scalars, tolerance: 1e-5, "β")
        XCTAssertEqual(result.beta[1 * 4 + 2], 0); XCTAssertEqual(result.beta[1 * 4 + 3], 0); XCTAssertEqual(result.beta[2 * 4 + 3], 0)
        assertMatches(result.attended, try f.tensor("att.attended").scalars, tolerance: 1e-5, "â")
        assertMatches(result.dh, try f.tensor("att.grad.h").scalars, tolerance: 1e-4, "dh")
        assertMatches(result.dFeatures, try f.tensor("att.grad.features").scalars, tolerance: 1e-4, "dfeatures")
        for p in attention.parameters {
            // The score bias cancels in the softmax: both gradients are rounding noise around 0.
            let floor: Float = p.name == "att.linear.bias" ? 1e6 : 0.1
            let reference = try f.tensor("att.grad.\(p.name.dropFirst(4))").scalars
            if p.name == "att.linear.bias" {
                XCTAssertLessThan(abs(p.gradientArray[0]), 1e-5); XCTAssertLessThan(abs(reference[0]), 1e-5)
            } else {
                assertMatches(p.gradientArray, reference, tolerance: 1e-4, floorFraction: floor, p.name)
            }
        }
    }

    func testMaskedAttentionGradientsMatchFiniteDifferences() {
        var g = SeededGenerator(seed: 9)
        let attention = SoftAttention(name: "att", featureSize: 3, querySize: 4, attentionSize: 5, generator: &g)
        for p in attention.parameters { for i in 0..<p.count { p.value[i] *= 2 } }
        let batch = 2, chunks = 3
        let counts: [Int32] = [3, 2]
        let h = TestVector(random(batch * 4)), features = TestVector(random(batch * chunks * 3))
        let r1 = random(batch * 3), r2 = random(batch * chunks)
        let analytic = runAttention(attention, h: h.array, features: features.array, counts: counts, r1: r1, r2: r2,
                                    batch: batch, chunks: chunks, backward: true)
        let loss = {
            self.runAttention(attention, h: h.array, features: features.array, counts: counts, r1: r1, r2: r2,
                              batch: batch, chunks: chunks, backward: false).loss
        }
        for p in attention.parameters {
            checkFiniteDifferences(p.name, values: p.value, count: p.count, analytic: p.gradientArray, loss: loss)
        }
        checkFiniteDifferences("h", values: h.pointer, count: h.count, analytic: analytic.dh, loss: loss)
        checkFiniteDifferences("features", values: features.pointer, count: features.count, analytic: analytic.dFeatures, loss: loss)
        // The masked chunk (row 1, chunk 2) gets exactly nothing.
        XCTAssertEqual(Array(analytic.dFeatures[(1 * chunks + 2) * 3..<(1 * chunks + 3) * 3]), [0, 0, 0])
    }

    func testReLUAndDropoutGradientsMatchFiniteDifferences() {
        // L = Σ r ⊙ tanh(dropout(relu(x))), with a fixed dropout mask (p = 0.4).
        let count = 40
        let x = TestVector(random(count))
        for i in 0..<count where abs(x.pointer[i]) < 0.05 { x.pointer[i] = 0.3 }  // keep clear of the kink at 0
        let r = random(count)
        var mask = [Float](repeating: 0, count: count)
        Dropout.fillMask(&mask, count: count, probability: 0.4, generator: &generator)
        XCTAssertTrue(mask.allSatisfy { $0 == 0 || abs($0 - 1 / 0.6) < 1e-6 })
        XCTAssertTrue(mask.contains(0) && mask.contains { $0 > 0 })
        func forward() -> (activated: [Float], dropped: [Float]) {
            var activated = [Float](repeating: 0, count: count), dropped = activated
            Activation.relu(x.pointer, count: count, into: &activated)
            Dropout.apply(activated, mask: mask, count: count, into: &dropped)
            return (activated, dropped)
        }
        let (activated, dropped) = forward()
        let dDropped = zip(dropped, r).map { (1 - Foundation.tanh($0) * Foundation.tanh($0)) * $1 }
        var dActivated = [Float](repeating: 0, count: count), dx = dActivated
        Dropout.apply(dDropped, mask: mask, count: count, into: &dActivated)
        Activation.reluBackward(output: activated, outputGradient: dActivated, count: count, into: &dx)
        checkFiniteDifferences("x", values: x.pointer, count: count, analytic: dx, step: 1e-2) {
            weightedSum(forward().dropped.map { Foundation.tanh($0) }, r)
        }
    }

    // MARK: Cross-entropy, Adam, clipping

    func testCrossEntropyIgnoringPaddingMatchesPyTorch() throws {
        let f = try TrainingFixtures.layers()
        let logits = try f.tensor("ce.logits").scalars
        let targets = try f.tensor("ce.targets").scalars.map { Int32($0) }
        var gradient = [Float](repeating: .nan, count: logits.count)
        let result = CrossEntropy.lossAndGradient(logits: logits, rows: 7, classes: 11, targets: targets, ignoreIndex: 0, gradient: &gradient)
        XCTAssertEqual(result.count, 5)
        assertMatches([result.loss], try f.tensor("ce.loss").scalars, tolerance: 1e-6, "loss")
        assertMatches(gradient, try f.tensor("ce.grad").scalars, tolerance: 1e-5, "dlogits")
        XCTAssertEqual(Array(gradient[11..<22]), [Float](repeating: 0, count: 11), "ignored row")
        // Nothing to count: 0 and no gradient (PyTorch would give NaN).
        let none = CrossEntropy.lossAndGradient(logits: logits, rows: 1, classes: 11, targets: [0], ignoreIndex: 0, gradient: &gradient)
        XCTAssertEqual(none.loss, 0); XCTAssertEqual(none.count, 0)
    }

    func testCrossEntropyGradientMatchesFiniteDifferences() {
        let logits = TestVector(random(4 * 6, scale: 2))
        let targets: [Int32] = [1, 0, 5, 2]
        var gradient = [Float](repeating: 0, count: logits.count)
        _ = CrossEntropy.lossAndGradient(logits: logits.pointer, rows: 4, classes: 6, targets: targets, ignoreIndex: 0, gradient: &gradient)
        checkFiniteDifferences("logits", values: logits.pointer, count: logits.count, analytic: gradient) {
            CrossEntropy.lossAndGradient(logits: logits.pointer, rows: 4, classes: 6, targets: targets, ignoreIndex: 0, gradient: nil).sum / 3
        }
    }

    func testAdamFollowsPyTorchsFormula() {
        let p = Parameter(name: "w", shape: [3])
        p.load([0.5, -1, 2])
        let adam = Adam(parameters: [p], learningRate: 0.1)
        var m = [Double](repeating: 0, count: 3), v = m, theta = [0.5, -1.0, 2.0]
        let gradients: [[Float]] = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [1, 1, 1]]
        for (t, g) in gradients.enumerated() {
            for i in 0..<3 { p.gradient[i] = g[i] }
            adam.step()
            for i in 0..<3 {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i]); v[i] = 0.999 * v[i] + 0.001 * Double(g[i] * g[i])
                let mHat = m[i] / (1 - pow(0.9, Double(t + 1))), vHat = v[i] / (1 - pow(0.999, Double(t + 1)))
                theta[i] -= 0.1 * mHat / (vHat.squareRoot() + 1e-8)
            }
            assertMatches(p.valueArray, theta.map { Float($0) }, tolerance: 1e-6, "θ after step \(t + 1)")
        }
        // Frozen parameters are skipped.
        let frozen = Parameter(name: "f", shape: [2], requiresGradient: false)
        XCTAssertTrue(Adam(parameters: [frozen, p]).parameters.map(\.name) == ["w"])
        // State round trip.
        let copy = Adam(parameters: [p], learningRate: 0.1)
        copy.loadState(Dictionary(uniqueKeysWithValues: adam.stateTensors().map { ($0.name, $0.tensor) }))
        XCTAssertEqual(copy.stepCount, 3)
    }

    func testGradientClippingFollowsClipGradNorm() {
        let a = Parameter(name: "a", shape: [2]), b = Parameter(name: "b", shape: [1])
        a.gradient[0] = 3; a.gradient[1] = 0; b.gradient[0] = 4
        let frozen = Parameter(name: "f", shape: [1], requiresGradient: false)
        frozen.gradient[0] = 100
        XCTAssertEqual(GradientClipping.clipNorm([a, b, frozen], maxNorm: 10), 5)
        XCTAssertEqual(a.gradientArray, [3, 0], "no change under the limit")
        XCTAssertEqual(GradientClipping.clipNorm([a, b, frozen], maxNorm: 1), 5)
        XCTAssertEqual(a.gradient[0], 3 / (5 + 1e-6), accuracy: 1e-7)
        XCTAssertEqual(b.gradient[0], 4 / (5 + 1e-6), accuracy: 1e-7)
    }

    func testFastMathAccuracy() {
        var worstExp: Double = 0, worstTanh: Double = 0, worstSigmoid: Double = 0
        var x: Float = -30
        while x < 30 {
            let e = Double(FastMath.exp(x)), reference = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(e - reference) / reference)
            worstTanh = max(worstTanh, abs(Double(FastMath.tanh(x)) - Foundation.tanh(Double(x))))
            worstSigmoid = max(worstSigmoid, abs(Double(FastMath.sigmoid(x)) - 1 / (1 + Foundation.exp(-Double(x)))))
            x += 0.001_37
        }
        XCTAssertLessThan(worstExp, 3e-7)
        XCTAssertLessThan(worstTanh, 3e-7)
        XCTAssertLessThan(worstSigmoid, 2e-7)
        XCTAssertEqual(FastMath.exp(-200), FastMath.exp(-87.3))
        XCTAssertTrue(FastMath.exp(200).isFinite)
        XCTAssertEqual(FastMath.tanh(50), 1)
        XCTAssertEqual(FastMath.sigmoid(-200), 0, accuracy: 1e-30)
    }
}
