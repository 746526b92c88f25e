import NeuralCore

/// Step-by-step decoding that carries the LSTM states (the reference re-runs the whole prefix per token).
///
///     let state = model.makeDecoderState(maxRows: 5, maxChunks: 120)
///     try model.start(state, features: f, chunkCount: n, rows: 5)    // one track, 5 beams
///     var tokens = [Int32](repeating: sos, count: 5)
///     for _ in 0..<22 {
///         let logits = model.step(tokens: tokens, state: state)        // [rows, V]
///         … choose tokens / parents, state.selectRows(parents) …
///     }
///
/// `step` allocates nothing (all buffers live in the state and the model's inference weights). Each LSTM
/// and the output layer is one matrix product per step for all rows (one GEMV per row up to
/// `MatrixOps.gemvRowLimit` rows, one GEMM beyond).
extension MusCapsModel {
    /// Builds (or rebuilds, when a parameter changed since) the folded inference weights. `start` calls it.
    public func prepareForInference() {
        if let weights = inferenceWeights, weights.version == weightsVersion { return }
        inferenceWeights = InferenceWeights(model: self)
    }

    /// A decoding state for up to `maxRows` rows (beams or tracks) of tracks with up to `maxChunks` chunks.
    public func makeDecoderState(maxRows: Int, maxChunks: Int) -> DecoderState {
        DecoderState(model: self, maxRows: maxRows, maxChunks: maxChunks)
    }

    /// Starts decoding one track (`features` `[chunkCount, k]`) on `rows` identical rows (1 for greedy,
    /// the beam width for beam search).
    public func start(_ state: DecoderState, features: UnsafeBufferPointer<Float>, chunkCount: Int, rows: Int = 1) throws {
        var count = Int32(chunkCount)
        try withUnsafePointer(to: &count) { counts in
            try start(state, features: features, sources: 1, chunkStride: chunkCount,
                      chunkCounts: UnsafeBufferPointer(start: counts, count: 1), rowsPerSource: rows)
        }
    }

    public func start(_ state: DecoderState, features: [Float], chunkCount: Int, rows: Int = 1) throws {
        try features.withUnsafeBufferPointer { try start(state, features: $0, chunkCount: chunkCount, rows: rows) }
    }

    /// Starts decoding `sources` tracks at once, `rowsPerSource` rows each (row r decodes track
    /// r / rowsPerSource). `features` is `[sources, chunkStride, k]`; track s uses its first
    /// `chunkCounts[s]` chunks.
    public func start(_ state: DecoderState, features: UnsafeBufferPointer<Float>, sources: Int, chunkStride: Int,
                      chunkCounts: UnsafeBufferPointer<Int32>, rowsPerSource: Int = 1) throws {
        let c = configuration
        let k = c.audioFeatureSize, d = c.wordEmbeddingSize, h = c.encoderHiddenSize, g4 = 4 * h
        let rows = sources * rowsPerSource
        guard sources >= 1, rowsPerSource >= 1, rows <= state.maxRows else {
            throw CaptioningError.invalidBatch("\(sources) tracks × \(rowsPerSource) rows do not fit a state of \(state.maxRows) rows")
        }
        guard chunkCounts.count == sources, features.count == sources * chunkStride * k else {
            throw CaptioningError.invalidBatch("features hold \(features.count) values, expected [\(sources), \(chunkStride), \(k)] with \(sources) chunk counts")
        }
        for s in 0..<sources where chunkCounts[s] < 1 || Int(chunkCounts[s]) > min(chunkStride, state.maxChunks) {
            throw CaptioningError.invalidBatch("track \(s) has \(chunkCounts[s]) chunks; must be 1…\(min(chunkStride, state.maxChunks))")
        }
        guard state.vocabularySize == vocabularySize, state.configuration == c else {
            throw CaptioningError.invalidBatch("decoder state was made for another model")
        }
        prepareForInference()
        let weights = inferenceWeights!
        state.weightsVersion = weights.version
        state.owner = ObjectIdentifier(self)
        state.sources = sources
        state.rows = rows
        state.stepCount = 0

        // a = ReLU(W'·mean(valid chunks) + b') per track (BatchNorm folded into W', b').
        let pooled = state.pooled.pointer, audio = state.audio.pointer, f = features.baseAddress!
        for s in 0..<sources {
            let n = Int(chunkCounts[s]), out = pooled + s * k
            state.chunkCounts.pointer[s] = Int32(n)
            out.update(repeating: 0, count: k)
            for i in 0..<n {
                let chunk = f + (s * chunkStride + i) * k
                for j in 0..<k { out[j] += chunk[j] }
            }
            let inverse = 1 / Float(n)
            for j in 0..<k { out[j] *= inverse }
        }
        MatrixOps.multiplyTransposed(pooled, ldx: k, rows: sources, weight: weights.audioWeight.pointer, ldw: k,
                                     outputs: h, inputs: k, into: audio, ldy: h)
        MatrixOps.addRowVector(weights.audioBias.pointer, to: audio, ldy: h, rows: sources, columns: h)
        Activation.relu(audio, count: sources * h, into: audio)

        // Time-constant gate terms.
        switch c.variant {
        case .earlyFusion:
            encoder.projectInput(audio, ldx: h, rows: sources, columns: 0..<h, into: state.encoderConstant.pointer)
        case .lateFusion:
            decoder.projectInput(audio, ldx: h, rows: sources, columns: h..<(2 * h), into: state.decoderConstant.pointer)
        case .attention:
            encoder.projectInput(audio, ldx: h, rows: sources, columns: d..<(d + h), into: state.encoderConstant.pointer)
            let att = c.attentionSize, l = state.maxChunks
            for s in 0..<sources {
                let n = Int(chunkCounts[s]), chunk = f + s * chunkStride * k
                attention!.featureProjection.forward(chunk, rows: n, into: state.projected.pointer + s * l * att)
                decoder.projectInput(chunk, ldx: k, rows: n, columns: 0..<k, into: state.chunkGates.pointer + s * l * g4)
            }
        }

        // Initial states: encoder 0 (fusion) or a (attention); decoder a.
        let width = state.encoderWidth
        for r in 0..<rows {
            let s = r / rowsPerSource, a = audio + s * h
            state.rowSource.pointer[r] = Int32(s)
            let encRow = state.encoderInput.pointer + r * width, decRow = state.decoderInput.pointer + r * 2 * h
            encRow.update(repeating: 0, count: width)
            if c.variant == .attention {
                (encRow + d).update(from: a, count: h)          // h_dec
                (encRow + d + h).update(from: a, count: h)      // h_enc
                decRow.update(from: a, count: h)
                (state.encoderCell.pointer + r * h).update(from: a, count: h)
            } else {
                decRow.update(repeating: 0, count: h)
                (state.encoderCell.pointer + r * h).update(repeating: 0, count: h)
            }
            (decRow + h).update(from: a, count: h)
            (state.decoderCell.pointer + r * h).update(from: a, count: h)
        }
    }

    /// Feeds one token per row (`tokens[r]`, e.g. `<sos>` first) and returns the next-token logits
    /// `[rows, vocabularySize]` (owned by the state, valid until its next step). Allocation-free.
    @discardableResult
    public func step(tokens: UnsafePointer<Int32>, state: DecoderState) -> UnsafePointer<Float> {
        guard let weights = inferenceWeights, weights.version == state.weightsVersion, state.owner == ObjectIdentifier(self),
              state.rows > 0 else {
            preconditionFailure("step(tokens:state:) before start(…) on this model, or the weights changed since start")
        }
        let c = configuration
        let d = c.wordEmbeddingSize, h = c.encoderHiddenSize, g4 = 4 * h, v = vocabularySize
        let rows = state.rows, width = state.encoderWidth
        let encIn = state.encoderInput.pointer, decIn = state.decoderInput.pointer
        let gates = state.gates.pointer, hidden = state.hidden.pointer, tanhCell = state.tanhCell.pointer
        let hEncOffset = c.variant == .attention ? d + h : d

        // Encoder: gates = [w_t | (h_dec) | h_enc]·W_fusedᵀ (+ W·a per track) + b.
        wordEmbedding.forward(tokens: tokens, rows: rows, into: encIn, ldOut: width)
        var beta: Float = 0
        if c.variant != .lateFusion {
            for r in 0..<rows {
                (gates + r * g4).update(from: state.encoderConstant.pointer + Int(state.rowSource.pointer[r]) * g4, count: g4)
            }
            beta = 1
        }
        MatrixOps.multiplyTransposed(encIn, ldx: width, rows: rows, weight: weights.encoderWeight.pointer, ldw: width,
                                     outputs: g4, inputs: width, into: gates, ldy: g4, beta: beta)
        LSTMLayer.cellForward(gates: gates, bias: weights.encoderBias.pointer, cellIn: state.encoderCell.pointer, rows: rows,
                              hidden: h, cellOut: state.encoderCell.pointer, tanhCellOut: tanhCell, hiddenOut: hidden)
        for r in 0..<rows {
            (encIn + r * width + hEncOffset).update(from: hidden + r * h, count: h)
            (decIn + r * 2 * h).update(from: hidden + r * h, count: h)
        }

        // Decoder: gates = [h_enc | h_dec]·W_fusedᵀ (+ W·a per track, late; + Σ_i β_i W a_i, attention) + b.
        beta = 0
        switch c.variant {
        case .earlyFusion:
            break
        case .lateFusion:
            for r in 0..<rows {
                (gates + r * g4).update(from: state.decoderConstant.pointer + Int(state.rowSource.pointer[r]) * g4, count: g4)
            }
            beta = 1
        case .attention:
            let attention = self.attention!, att = c.attentionSize, l = state.maxChunks
            attention.queryProjection.forward(hidden, rows: rows, into: state.query.pointer)
            for r in 0..<rows {
                let s = Int(state.rowSource.pointer[r]), n = Int(state.chunkCounts.pointer[s])
                let weightsRow = state.beta.pointer + r * l
                attention.weights(projected: state.projected.pointer + s * l * att, query: state.query.pointer + r * att,
                                  counts: state.chunkCounts.pointer + s, batch: 1, chunks: l,
                                  tanhOut: state.attentionTanh.pointer, into: weightsRow)
                let out = gates + r * g4
                out.update(repeating: 0, count: g4)
                for i in 0..<n {
                    let w = weightsRow[i], chunk = state.chunkGates.pointer + (s * l + i) * g4
                    for j in 0..<g4 { out[j] += w * chunk[j] }
                }
            }
            beta = 1
        }
        MatrixOps.multiplyTransposed(decIn, ldx: 2 * h, rows: rows, weight: weights.decoderWeight.pointer, ldw: 2 * h,
                                     outputs: g4, inputs: 2 * h, into: gates, ldy: g4, beta: beta)
        LSTMLayer.cellForward(gates: gates, bias: weights.decoderBias.pointer, cellIn: state.decoderCell.pointer, rows: rows,
                              hidden: h, cellOut: state.decoderCell.pointer, tanhCellOut: tanhCell, hiddenOut: hidden)
        for r in 0..<rows {
            (decIn + r * 2 * h + h).update(from: hidden + r * h, count: h)
            if c.variant == .attention { (encIn + r * width + d).update(from: hidden + r * h, count: h) }
        }

        // Logits = W_d·h_dec + b_d (dropout is off at inference).
        let logits = state.logitBuffer.pointer
        for r in 0..<rows { (logits + r * v).update(from: weights.outputBias.pointer, count: v) }
        MatrixOps.multiplyTransposed(hidden, ldx: h, rows: rows, weight: weights.outputWeight.pointer, ldw: h,
                                     outputs: v, inputs: h, into: logits, ldy: v, beta: 1)
        state.stepCount += 1
        return UnsafePointer(logits)
    }

    @discardableResult
    public func step(tokens: [Int32], state: DecoderState) -> UnsafePointer<Float> {
        precondition(tokens.count == state.rows, "step: \(tokens.count) tokens for \(state.rows) rows")
        return tokens.withUnsafeBufferPointer { step(tokens: $0.baseAddress!, state: state) }
    }
}
