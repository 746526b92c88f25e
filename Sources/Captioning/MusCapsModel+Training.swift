import NeuralCore

extension MusCapsModel {
    // MARK: Public training API

    /// Training-mode forward pass (BatchNorm on batch statistics, dropout on): returns the mean
    /// cross-entropy over the non-`<pad>` targets and keeps every activation for `backward()`.
    ///
    /// `dropoutMask`, when given, is the decoder dropout's per-element factor `[batchSize, steps, H]`
    /// (0 or 1/(1 − p); for replaying PyTorch's masks); otherwise masks are drawn from `generator`.
    @discardableResult
    public func forwardTraining(_ batch: CaptionBatch, dropoutMask: [Float]? = nil) throws -> Float {
        try validate(batch)
        if batch.batchSize < 2 {
            throw CaptioningError.invalidBatch("training needs at least 2 rows per batch (BatchNorm1d on batch statistics; the reference drops the last short batch)")
        }
        if let dropoutMask, dropoutMask.count != batch.batchSize * batch.steps * configuration.decoderHiddenSize {
            throw CaptioningError.invalidBatch("dropout mask has \(dropoutMask.count) values, expected [\(batch.batchSize), \(batch.steps), \(configuration.decoderHiddenSize)]")
        }
        run(batch, training: true, dropoutMask: dropoutMask)
        return workspace.result.loss
    }

    /// Evaluation-mode forward pass (BatchNorm on running statistics, no dropout): the validation loss.
    /// Does not prepare a backward pass.
    @discardableResult
    public func forwardEvaluation(_ batch: CaptionBatch) throws -> Float {
        try validate(batch)
        run(batch, training: false, dropoutMask: nil)
        return workspace.result.loss
    }

    /// Number of non-`<pad>` targets in the last forward pass (the loss is their mean).
    public var lastTargetCount: Int { workspace.result.count }
    /// Σ of the per-target losses of the last forward pass.
    public var lastLossSum: Double { workspace.result.sum }

    /// The logits of the last forward pass, batch-first `[batchSize, captionLength − 1, vocabularySize]` (a copy).
    /// Positions past a caption's last non-`<pad>` target are not computed (they cannot affect the loss) and
    /// read 0.
    public func lastLogits() -> Tensor {
        let ws = workspace, b = ws.batch, t = max(ws.captionLength - 1, 0), v = vocabularySize
        var scalars = [Float](repeating: 0, count: b * t * v)
        scalars.withUnsafeMutableBufferPointer { out in
            for step in 0..<ws.steps {
                for sorted in 0..<ws.stepRows[step] {
                    (out.baseAddress! + (ws.order[sorted] * t + step) * v)
                        .update(from: ws.logits.pointer + (ws.stepOffsets[step] + sorted) * v, count: v)
                }
            }
        }
        return Tensor(shape: [b, t, v], scalars: scalars)
    }

    /// Backward pass of the last `forwardTraining`: overwrites every parameter's `gradient` with
    /// d(loss)/d(parameter) (frozen parameters get none).
    public func backward() {
        precondition(workspace.lastPass == .training, "backward() needs a preceding forwardTraining(_:)")
        zeroGradients()
        let ws = workspace, c = configuration
        let b = ws.batch, rows = ws.packedRows, h = c.encoderHiddenSize
        // logits = dropout(h_dec) · Wᵀ + b_d
        output.backward(input: ws.dropped.pointer, outputGradient: ws.logitGradient.pointer, rows: rows,
                        inputGradient: ws.decoderOutputGradient.pointer)
        Dropout.apply(ws.decoderOutputGradient.pointer, mask: ws.dropoutMask.pointer, count: rows * h,
                      into: ws.decoderOutputGradient.pointer)
        // Variant: dL/d(h_dec) → dL/da (and the embedding gradient when trainable).
        switch c.variant {
        case .earlyFusion, .lateFusion: backwardFusion()
        case .attention: backwardAttention()
        }
        if !c.freezeWordEmbeddings {
            wordEmbedding.backward(tokens: ws.inputTokens.pointer, rows: rows, outputGradient: ws.embeddingGradient.pointer)
        }
        // a = ReLU(BN(W_a ã + b_a))
        Activation.reluBackward(output: ws.audio.pointer, outputGradient: ws.audioGradient.pointer, count: b * h,
                                into: ws.audioGradient.pointer)
        batchNorm.backward(outputGradient: ws.audioGradient.pointer, batch: b, inputGradient: ws.audioScratch.pointer)
        audioLinear.backward(input: ws.pooled.pointer, outputGradient: ws.audioScratch.pointer, rows: b)
        ws.lastPass = .none
    }

    // MARK: Forward

    func validate(_ batch: CaptionBatch) throws {
        func fail(_ reason: String) throws -> Never { throw CaptioningError.invalidBatch(reason) }
        let b = batch.batchSize, l = batch.maxChunks, t = batch.captionLength, k = configuration.audioFeatureSize
        if b < 1 { try fail("empty batch") }
        if l < 1 { try fail("maxChunks must be at least 1") }
        if t < 2 { try fail("captions need at least 2 tokens (<sos> and one target), got length \(t)") }
        if batch.features.count != b * l * k { try fail("features hold \(batch.features.count) values, expected [\(b), \(l), \(k)]") }
        if batch.chunkCounts.count != b { try fail("\(batch.chunkCounts.count) chunk counts for \(b) rows") }
        if batch.tokens.count != b * t { try fail("tokens hold \(batch.tokens.count) ids, expected [\(b), \(t)]") }
        // Index loops: iterators allocate in unoptimised builds, and the training step allocates nothing.
        for row in 0..<b where batch.chunkCounts[row] < 1 || Int(batch.chunkCounts[row]) > l {
            try fail("row \(row) has \(batch.chunkCounts[row]) valid chunks; must be 1…\(l)")
        }
        for i in 0..<(b * t) where batch.tokens[i] < 0 || Int(batch.tokens[i]) >= vocabularySize {
            try fail("token id \(batch.tokens[i]) outside the vocabulary of \(vocabularySize)")
        }
    }

    /// The shared forward pass; `training` selects BatchNorm's mode and dropout.
    func run(_ batch: CaptionBatch, training: Bool, dropoutMask: [Float]?) {
        let c = configuration, ws = workspace
        let b = batch.batchSize, l = batch.maxChunks, t = batch.captionLength
        let k = c.audioFeatureSize, h = c.encoderHiddenSize, v = vocabularySize
        let pad = Int32(c.padIndex)
        ws.lastPass = .none
        ws.captionLength = t
        // Rows sorted by their number of steps (up to the last non-<pad> target), then packed step by step.
        ws.plan(batch: b) { row in
            var last = 0
            for j in 1..<t where batch.tokens[row * t + j] != pad { last = j }
            return last
        }
        ws.reserve(configuration: c, vocabularySize: v, batch: b, chunks: l)
        let steps = ws.steps, rows = ws.packedRows

        // ã: mean over the row's valid chunks (rows in sorted order from here on).
        batch.features.withUnsafeBufferPointer { f in
            let features = f.baseAddress!, pooled = ws.pooled.pointer
            for sorted in 0..<b {
                let row = ws.order[sorted]
                let n = Int(batch.chunkCounts[row]), out = pooled + sorted * k
                ws.counts.pointer[sorted] = batch.chunkCounts[row]
                out.update(repeating: 0, count: k)
                for i in 0..<n {
                    let chunk = features + (row * l + i) * k
                    for j in 0..<k { out[j] += chunk[j] }
                }
                let inverse = 1 / Float(n)
                for j in 0..<k { out[j] *= inverse }
                if c.variant == .attention {
                    (ws.features.pointer + sorted * l * k).update(from: features + row * l * k, count: l * k)
                }
            }
        }

        // a = ReLU(BatchNorm1d(W_a ã + b_a)).
        audioLinear.forward(ws.pooled.pointer, rows: b, into: ws.audioPre.pointer)
        if training {
            batchNorm.forwardTraining(ws.audioPre.pointer, batch: b, into: ws.audioNorm.pointer)
        } else {
            batchNorm.forwardEvaluation(ws.audioPre.pointer, batch: b, into: ws.audioNorm.pointer)
        }
        Activation.relu(ws.audioNorm.pointer, count: b * h, into: ws.audio.pointer)

        // Teacher forcing, packed: row offset(s) + i is sorted row i at step s; input tokens[·, s], target tokens[·, s + 1].
        for step in 0..<steps {
            for sorted in 0..<ws.stepRows[step] {
                let row = ws.order[sorted], r = ws.stepOffsets[step] + sorted
                ws.inputTokens.pointer[r] = batch.tokens[row * t + step]
                ws.targets.pointer[r] = batch.tokens[row * t + step + 1]
            }
        }
        wordEmbedding.forward(tokens: ws.inputTokens.pointer, rows: rows, into: ws.embedded.pointer)

        switch c.variant {
        case .earlyFusion, .lateFusion: forwardFusion()
        case .attention: forwardAttention()
        }

        // Dropout on h_dec (decoder.dropout in the reference), then one GEMM for all steps' logits.
        let hidden = ws.decoder.outputs
        let mask = ws.dropoutMask.pointer
        if training {
            if let dropoutMask {
                // Batch-first [B, T − 1, H] → packed.
                for step in 0..<steps {
                    for sorted in 0..<ws.stepRows[step] {
                        let source = (ws.order[sorted] * (t - 1) + step) * h, target = (ws.stepOffsets[step] + sorted) * h
                        for j in 0..<h { mask[target + j] = dropoutMask[source + j] }
                    }
                }
            } else {
                Dropout.fillMask(mask, count: rows * h, probability: c.dropout, generator: &generator)
            }
        } else {
            mask.update(repeating: 1, count: rows * h)
        }
        Dropout.apply(hidden, mask: mask, count: rows * h, into: ws.dropped.pointer)
        output.refreshWeight()
        output.forward(ws.dropped.pointer, rows: rows, into: ws.logits.pointer)
        ws.result = CrossEntropy.lossAndGradient(logits: ws.logits.pointer, rows: rows, classes: v, targets: ws.targets.pointer,
                                                 ignoreIndex: pad, gradient: training ? ws.logitGradient.pointer : nil)
        ws.lastPass = training ? .training : .evaluation
    }

    /// Adds the per-row vector `constant[b]` ([B, 4H]) to every step's gates of a (packed) sequence cache.
    private func addConstantGates(_ constant: UnsafePointer<Float>, to cache: LSTMSequenceCache) {
        let width = 4 * cache.hiddenSize
        for step in 0..<cache.steps {
            let gates = cache.gates(step), count = cache.rows(step) * width
            for j in 0..<count { gates[j] += constant[j] }
        }
    }

    /// Σ over steps of the gate gradients, per row: [B, 4H].
    private func sumGateGradients(_ cache: LSTMSequenceCache, into sum: UnsafeMutablePointer<Float>) {
        let width = 4 * cache.hiddenSize
        sum.update(repeating: 0, count: cache.batch * width)
        for step in 0..<cache.steps {
            let g = cache.gradientGates(step), count = cache.rows(step) * width
            for j in 0..<count { sum[j] += g[j] }
        }
    }

    /// Early fusion: encoder LSTM over [a, w_t] (h0 = c0 = 0), decoder over h_enc_t (h0 = c0 = a).
    /// Late fusion: encoder LSTM over w_t (h0 = c0 = 0), decoder over [h_enc_t, a] (h0 = c0 = a).
    /// The time-constant a contributes W·a once per row instead of once per step.
    private func forwardFusion() {
        let c = configuration, ws = workspace
        let b = ws.batch, rows = ws.packedRows, d = c.wordEmbeddingSize, h = c.encoderHiddenSize
        let a = ws.audio.pointer
        if c.variant == .earlyFusion {
            // x_t = [a, w_t] (encoders.py: torch.cat((audio_embeds, word_embeds), dim=2))
            encoder.projectInput(ws.embedded.pointer, ldx: d, rows: rows, columns: h..<(h + d), into: ws.encoder.gates(0))
            encoder.projectInput(a, ldx: h, rows: b, columns: 0..<h, into: ws.constantGates.pointer)
            addConstantGates(ws.constantGates.pointer, to: ws.encoder)
            encoder.forwardSequence(ws.encoder, h0: nil, c0: nil)
            decoder.projectInput(ws.encoder.outputs, ldx: h, rows: rows, into: ws.decoder.gates(0))
        } else {
            encoder.projectInput(ws.embedded.pointer, ldx: d, rows: rows, into: ws.encoder.gates(0))
            encoder.forwardSequence(ws.encoder, h0: nil, c0: nil)
            // x_dec_t = [h_enc_t, a] (encoders.py: torch.cat((lstm_out, audio_embeds), dim=2))
            decoder.projectInput(ws.encoder.outputs, ldx: h, rows: rows, columns: 0..<h, into: ws.decoder.gates(0))
            decoder.projectInput(a, ldx: h, rows: b, columns: h..<(2 * h), into: ws.constantGates.pointer)
            addConstantGates(ws.constantGates.pointer, to: ws.decoder)
        }
        decoder.forwardSequence(ws.decoder, h0: a, c0: a)
    }

    private func backwardFusion() {
        let c = configuration, ws = workspace
        let b = ws.batch, rows = ws.packedRows, d = c.wordEmbeddingSize, h = c.encoderHiddenSize
        let a = ws.audio.pointer, da = ws.audioGradient.pointer, scratch = ws.audioScratch.pointer
        // Decoder, h0 = c0 = a: dL/da = dL/dh0 + dL/dc0.
        decoder.backwardSequence(ws.decoder, outputGradient: ws.decoderOutputGradient.pointer, dh0: da, dc0: scratch)
        for j in 0..<(b * h) { da[j] += scratch[j] }
        let decoderGates = ws.decoder.gradientGates(0)
        if c.variant == .earlyFusion {
            decoder.accumulateInputWeightGradient(decoderGates, ws.encoder.outputs, ldx: h, rows: rows)
            decoder.backpropagateInput(decoderGates, rows: rows, into: ws.encoderOutputGradient.pointer, lddx: h)
        } else {
            decoder.accumulateInputWeightGradient(decoderGates, ws.encoder.outputs, ldx: h, rows: rows, columns: 0..<h)
            decoder.backpropagateInput(decoderGates, rows: rows, columns: 0..<h, into: ws.encoderOutputGradient.pointer, lddx: h)
            sumGateGradients(ws.decoder, into: ws.gateSum.pointer)
            decoder.accumulateInputWeightGradient(ws.gateSum.pointer, a, ldx: h, rows: b, columns: h..<(2 * h))
            decoder.backpropagateInput(ws.gateSum.pointer, rows: b, columns: h..<(2 * h), into: da, lddx: h, beta: 1)
        }
        // Encoder (h0 = c0 = 0: no gradient to propagate further).
        encoder.backwardSequence(ws.encoder, outputGradient: ws.encoderOutputGradient.pointer)
        let encoderGates = ws.encoder.gradientGates(0)
        let wordColumns = c.variant == .earlyFusion ? h..<(h + d) : 0..<d
        encoder.accumulateInputWeightGradient(encoderGates, ws.embedded.pointer, ldx: d, rows: rows, columns: wordColumns)
        if !c.freezeWordEmbeddings {
            encoder.backpropagateInput(encoderGates, rows: rows, columns: wordColumns, into: ws.embeddingGradient.pointer, lddx: d)
        }
        if c.variant == .earlyFusion {
            sumGateGradients(ws.encoder, into: ws.gateSum.pointer)
            encoder.accumulateInputWeightGradient(ws.gateSum.pointer, a, ldx: h, rows: b, columns: 0..<h)
            encoder.backpropagateInput(ws.gateSum.pointer, rows: b, columns: 0..<h, into: da, lddx: h, beta: 1)
        }
    }

    /// Attention (`AttentionModel.forward`): per step t,
    ///   h1, c1 = encoder([w_t, a, h2]),  β = attention(h1, chunks),  â = Σ β_i a_i,
    ///   h2, c2 = decoder([â, h1]),       all states start at a.
    /// The decoder's input term W_ih[:, :k]·â_t = Σ_i β_ti (W_ih[:, :k] a_i) uses chunk projections computed
    /// once per batch (one GEMM) instead of a k-wide product per step.
    private func forwardAttention() {
        guard let attention else { preconditionFailure("attention variant without attention layer") }
        let c = configuration, ws = workspace
        let b = ws.batch, l = ws.chunks, rows = ws.packedRows
        let d = c.wordEmbeddingSize, h = c.encoderHiddenSize, k = c.audioFeatureSize, att = c.attentionSize, g4 = 4 * h
        let a = ws.audio.pointer, enc = ws.encoder, dec = ws.decoder
        enc.hidden(0).update(from: a, count: b * h); enc.cell(0).update(from: a, count: b * h)
        dec.hidden(0).update(from: a, count: b * h); dec.cell(0).update(from: a, count: b * h)
        encoder.refreshBias()
        decoder.refreshBias()
        // Per batch: chunk projections for the attention MLP and for the decoder input.
        attention.featureProjection.forward(ws.features.pointer, rows: b * l, into: ws.projected.pointer)
        decoder.projectInput(ws.features.pointer, ldx: k, rows: b * l, columns: 0..<k, into: ws.chunkGates.pointer)
        // Encoder input terms that do not depend on the recurrence: W·w_t for all steps, W·a per row.
        encoder.projectInput(ws.embedded.pointer, ldx: d, rows: rows, columns: 0..<d, into: enc.gates(0))
        encoder.projectInput(a, ldx: h, rows: b, columns: d..<(d + h), into: ws.constantGates.pointer)
        addConstantGates(ws.constantGates.pointer, to: enc)

        for t in 0..<ws.steps {
            let n = ws.stepRows[t], offset = ws.stepOffsets[t]
            // Encoder: + W_ih[:, d+H:]·h2_{t-1} + W_hh·h1_{t-1}
            let g1 = enc.gates(t)
            encoder.projectInput(dec.hidden(t), ldx: h, rows: n, columns: (d + h)..<(d + 2 * h), into: g1, beta: 1)
            encoder.projectRecurrent(enc.hidden(t), ldh: h, rows: n, into: g1)
            encoder.cellForward(gates: g1, cellIn: enc.cell(t), rows: n, cellOut: enc.cell(t + 1),
                                tanhCellOut: enc.tanhCell(t), hiddenOut: enc.hidden(t + 1))
            // Attention weights from h1_t.
            let query = ws.query.pointer + offset * att
            attention.queryProjection.forward(enc.hidden(t + 1), rows: n, into: query)
            let beta = ws.beta.pointer + offset * l
            attention.weights(projected: ws.projected.pointer, query: query, counts: ws.counts.pointer, batch: n, chunks: l,
                              tanhOut: ws.attentionTanh.pointer + offset * l * att, into: beta)
            // Decoder: Σ_i β_i (W_ih[:, :k] a_i) + W_ih[:, k:]·h1_t + W_hh·h2_{t-1}
            let g2 = dec.gates(t)
            for row in 0..<n {
                let out = g2 + row * g4
                out.update(repeating: 0, count: g4)
                for i in 0..<Int(ws.counts.pointer[row]) {
                    let weight = beta[row * l + i], chunk = ws.chunkGates.pointer + (row * l + i) * g4
                    for j in 0..<g4 { out[j] += weight * chunk[j] }
                }
            }
            decoder.projectInput(enc.hidden(t + 1), ldx: h, rows: n, columns: k..<(k + h), into: g2, beta: 1)
            decoder.projectRecurrent(dec.hidden(t), ldh: h, rows: n, into: g2)
            decoder.cellForward(gates: g2, cellIn: dec.cell(t), rows: n, cellOut: dec.cell(t + 1),
                                tanhCellOut: dec.tanhCell(t), hiddenOut: dec.hidden(t + 1))
        }
    }

    private func backwardAttention() {
        guard let attention else { preconditionFailure("attention variant without attention layer") }
        let c = configuration, ws = workspace
        let b = ws.batch, l = ws.chunks, rows = ws.packedRows
        let d = c.wordEmbeddingSize, h = c.encoderHiddenSize, k = c.audioFeatureSize, att = c.attentionSize, g4 = 4 * h
        let state = b * h
        let enc = ws.encoder, dec = ws.decoder
        let dh1 = ws.encoderHiddenGradient.pointer, dh2 = ws.decoderHiddenGradient.pointer
        let dh1Carry = ws.encoderHiddenCarry.pointer, dc1 = ws.encoderCellCarry.pointer
        let dh2Carry = ws.decoderHiddenCarry.pointer, dc2 = ws.decoderCellCarry.pointer
        // Carries of rows that have not joined yet (shorter captions) stay zero: only prefixes are written.
        dh1Carry.update(repeating: 0, count: state); dc1.update(repeating: 0, count: state)
        dh2Carry.update(repeating: 0, count: state); dc2.update(repeating: 0, count: state)
        ws.projectedGradient.pointer.update(repeating: 0, count: b * l * att)
        ws.chunkGateGradient.pointer.update(repeating: 0, count: b * l * g4)
        let dBeta = ws.betaGradient.pointer

        for t in stride(from: ws.steps - 1, through: 0, by: -1) {
            let n = ws.stepRows[t], offset = ws.stepOffsets[t]
            // Decoder cell: dL/dh2_t = output term + carries from step t + 1.
            let dOut = ws.decoderOutputGradient.pointer + offset * h
            for j in 0..<(n * h) { dh2[j] = dOut[j] + dh2Carry[j] }
            let dg2 = dec.gradientGates(t)
            LSTMLayer.cellBackward(gates: dec.gates(t), cellIn: dec.cell(t), tanhCell: dec.tanhCell(t), dHidden: dh2, dCell: dc2,
                                   rows: n, hidden: h, dGates: dg2)
            // Through Σ_i β_i (W a_i): dβ_i = dg2 · (W a_i), d(W a_i) += β_i dg2.
            let beta = ws.beta.pointer + offset * l
            for row in 0..<n {
                let g = dg2 + row * g4
                for i in 0..<l {
                    if i >= Int(ws.counts.pointer[row]) { dBeta[row * l + i] = 0; continue }
                    let weight = beta[row * l + i]
                    let chunk = ws.chunkGates.pointer + (row * l + i) * g4
                    let dChunk = ws.chunkGateGradient.pointer + (row * l + i) * g4
                    dBeta[row * l + i] = MatrixOps.dot(g, chunk, count: g4)
                    for j in 0..<g4 { dChunk[j] += weight * g[j] }
                }
            }
            let dQuery = ws.queryGradient.pointer + offset * att
            attention.weightsBackward(beta: beta, tanh: ws.attentionTanh.pointer + offset * l * att, betaGradient: dBeta,
                                      counts: ws.counts.pointer, batch: n, chunks: l,
                                      projectedGradient: ws.projectedGradient.pointer, queryGradient: dQuery)
            // Encoder cell: dL/dh1_t = decoder input term + query term + carry from step t + 1.
            decoder.backpropagateInput(dg2, rows: n, columns: k..<(k + h), into: dh1, lddx: h)
            MatrixOps.multiply(dQuery, lddy: att, rows: n, weight: attention.queryProjection.weight.value, ldw: h,
                               outputs: att, inputs: h, into: dh1, lddx: h, beta: 1)
            for j in 0..<(n * h) { dh1[j] += dh1Carry[j] }
            let dg1 = enc.gradientGates(t)
            LSTMLayer.cellBackward(gates: enc.gates(t), cellIn: enc.cell(t), tanhCell: enc.tanhCell(t), dHidden: dh1, dCell: dc1,
                                   rows: n, hidden: h, dGates: dg1)
            // Carries into step t − 1 (at t = 0: into the initial states, all equal to a).
            decoder.backpropagateRecurrent(dg2, rows: n, into: dh2Carry, ldh: h)
            encoder.backpropagateInput(dg1, rows: n, columns: (d + h)..<(d + 2 * h), into: dh2Carry, lddx: h, beta: 1)
            encoder.backpropagateRecurrent(dg1, rows: n, into: dh1Carry, ldh: h)
        }

        // dL/da: the four initial states and the encoder's constant input term.
        let da = ws.audioGradient.pointer
        for j in 0..<state { da[j] = dh1Carry[j] + dc1[j] + dh2Carry[j] + dc2[j] }
        sumGateGradients(enc, into: ws.gateSum.pointer)
        encoder.backpropagateInput(ws.gateSum.pointer, rows: b, columns: d..<(d + h), into: da, lddx: h, beta: 1)

        // Weight gradients, each one GEMM over all (packed) steps.
        let dg1All = enc.gradientGates(0), dg2All = dec.gradientGates(0)
        let h1Previous = enc.previousHidden(), h2Previous = dec.previousHidden()
        encoder.accumulateRecurrentWeightGradient(dg1All, h1Previous, ldh: h, rows: rows)
        encoder.accumulateBiasGradient(dg1All, rows: rows)
        encoder.accumulateInputWeightGradient(dg1All, ws.embedded.pointer, ldx: d, rows: rows, columns: 0..<d)
        encoder.accumulateInputWeightGradient(ws.gateSum.pointer, ws.audio.pointer, ldx: h, rows: b, columns: d..<(d + h))
        encoder.accumulateInputWeightGradient(dg1All, h2Previous, ldx: h, rows: rows, columns: (d + h)..<(d + 2 * h))
        decoder.accumulateRecurrentWeightGradient(dg2All, h2Previous, ldh: h, rows: rows)
        decoder.accumulateBiasGradient(dg2All, rows: rows)
        decoder.accumulateInputWeightGradient(dg2All, enc.outputs, ldx: h, rows: rows, columns: k..<(k + h))
        decoder.accumulateInputWeightGradient(ws.chunkGateGradient.pointer, ws.features.pointer, ldx: k, rows: b * l, columns: 0..<k)
        attention.queryProjection.backward(input: enc.outputs, outputGradient: ws.queryGradient.pointer, rows: rows)
        attention.featureProjection.backward(input: ws.features.pointer, outputGradient: ws.projectedGradient.pointer, rows: b * l)
        if !c.freezeWordEmbeddings {
            encoder.backpropagateInput(dg1All, rows: rows, columns: 0..<d, into: ws.embeddingGradient.pointer, lddx: d)
        }
    }
}
