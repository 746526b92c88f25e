import NeuralCore

/// Activations of the last forward pass, kept for the backward pass, and the backward pass's scratch.
///
/// Rows are processed sorted by caption length (longest first; `order[i]` is the batch row at sorted
/// position i), and sequence tensors are time-major and *packed*: step t holds only the `stepRows[t]` rows
/// whose caption still has a target at t, stored at rows `stepOffsets[t] ..< stepOffsets[t + 1]` of a
/// `[packedRows, ·]` matrix (like PyTorch's PackedSequence). So every step's rows are one contiguous
/// matrix for BLAS, and no work is spent on padding (in the reference's data ~30 % of a padded batch).
/// The public API stays batch-first. Buffers only grow: a training loop allocates nothing after its
/// largest batch.
final class TrainingWorkspace {
    enum Pass { case none, training, evaluation }

    var batch = 0, chunks = 0, steps = 0, captionLength = 0
    /// Sorted position → batch row; steps (targets up to the last non-<pad>) per sorted row.
    var order: [Int] = []
    var rowSteps: [Int] = []
    /// Active rows per step (non-increasing) and their packed offsets (`stepOffsets[steps]` = packedRows).
    var stepRows: [Int] = []
    var stepOffsets: [Int] = []
    var packedRows = 0
    var lastPass = Pass.none
    var result = CrossEntropy.Result(loss: 0, count: 0, sum: 0)

    let features = FloatBuffer()          // [B, L, k] sorted rows (attention)
    let counts = Int32Buffer()            // [B]
    let pooled = FloatBuffer()            // [B, k]
    let audioPre = FloatBuffer()          // [B, H]  W_a ã + b_a
    let audioNorm = FloatBuffer()         // [B, H]  BatchNorm output
    let audio = FloatBuffer()             // [B, H]  a = ReLU(BN(·))
    let inputTokens = Int32Buffer()       // [N]  (N = packedRows)
    let targets = Int32Buffer()           // [N]
    let embedded = FloatBuffer()          // [N, d]
    let encoder = LSTMSequenceCache()
    let decoder = LSTMSequenceCache()
    let constantGates = FloatBuffer()     // [B, 4H]
    let gateSum = FloatBuffer()           // [B, 4H]
    let dropoutMask = FloatBuffer()       // [N, H]
    let dropped = FloatBuffer()           // [N, H]
    let logits = FloatBuffer()            // [N, V]
    let logitGradient = FloatBuffer()     // [N, V]
    let decoderOutputGradient = FloatBuffer()  // [N, H]
    let encoderOutputGradient = FloatBuffer()  // [N, H]
    let audioGradient = FloatBuffer()     // [B, H]
    let audioScratch = FloatBuffer()      // [B, H]
    let embeddingGradient = FloatBuffer() // [N, d]

    // Attention variant.
    let projected = FloatBuffer()         // [B·L, A]   W_a^att a_i + b
    let chunkGates = FloatBuffer()        // [B·L, 4H]  W_ih^dec[:, :k] a_i
    let attentionTanh = FloatBuffer()     // [N, L, A]
    let beta = FloatBuffer()              // [N, L]
    let query = FloatBuffer()             // [N, A]
    let queryGradient = FloatBuffer()     // [N, A]
    let projectedGradient = FloatBuffer() // [B·L, A]
    let chunkGateGradient = FloatBuffer() // [B·L, 4H]
    let betaGradient = FloatBuffer()      // [B, L]
    let encoderHiddenGradient = FloatBuffer()  // [B, H]
    let decoderHiddenGradient = FloatBuffer()  // [B, H]
    let encoderHiddenCarry = FloatBuffer(), encoderCellCarry = FloatBuffer()  // [B, H]
    let decoderHiddenCarry = FloatBuffer(), decoderCellCarry = FloatBuffer()  // [B, H]

    /// Sorts the rows by their number of steps and lays out the packed steps. `lastTarget(b)` is the index
    /// of row b's last non-<pad> token (its step count).
    func plan(batch b: Int, lastTarget: (Int) -> Int) {
        order.removeAll(keepingCapacity: true)
        rowSteps.removeAll(keepingCapacity: true)
        for row in 0..<b { order.append(row); rowSteps.append(lastTarget(row)) }
        // Stable insertion sort by steps, longest first (batches are small).
        for i in 1..<max(b, 1) {
            let row = order[i], key = rowSteps[i]
            var j = i
            while j > 0 && rowSteps[j - 1] < key { order[j] = order[j - 1]; rowSteps[j] = rowSteps[j - 1]; j -= 1 }
            order[j] = row; rowSteps[j] = key
        }
        steps = b > 0 ? rowSteps[0] : 0
        stepRows.removeAll(keepingCapacity: true)
        stepOffsets.removeAll(keepingCapacity: true)
        var offset = 0, active = b
        for t in 0..<steps {
            while active > 0 && rowSteps[active - 1] <= t { active -= 1 }
            stepRows.append(active)
            stepOffsets.append(offset)
            offset += active
        }
        stepOffsets.append(offset)
        packedRows = offset
    }

    func reserve(configuration c: CaptioningConfiguration, vocabularySize v: Int, batch b: Int, chunks l: Int) {
        batch = b; chunks = l
        let k = c.audioFeatureSize, d = c.wordEmbeddingSize, h = c.encoderHiddenSize, rows = packedRows
        counts.reserve(b)
        pooled.reserve(b * k)
        audioPre.reserve(b * h); audioNorm.reserve(b * h); audio.reserve(b * h)
        audioGradient.reserve(b * h); audioScratch.reserve(b * h)
        inputTokens.reserve(rows); targets.reserve(rows)
        embedded.reserve(rows * d)
        stepRows.withUnsafeBufferPointer { perStep in
            encoder.reserve(batch: b, hiddenSize: h, rowsPerStep: perStep)
            decoder.reserve(batch: b, hiddenSize: h, rowsPerStep: perStep)
        }
        constantGates.reserve(b * 4 * h); gateSum.reserve(b * 4 * h)
        dropoutMask.reserve(rows * h); dropped.reserve(rows * h)
        decoderOutputGradient.reserve(rows * h); encoderOutputGradient.reserve(rows * h)
        logits.reserve(rows * v); logitGradient.reserve(rows * v)
        if !c.freezeWordEmbeddings { embeddingGradient.reserve(rows * d) }
        if c.variant == .attention {
            let a = c.attentionSize
            features.reserve(b * l * k)
            projected.reserve(b * l * a); projectedGradient.reserve(b * l * a)
            chunkGates.reserve(b * l * 4 * h); chunkGateGradient.reserve(b * l * 4 * h)
            attentionTanh.reserve(rows * l * a)
            beta.reserve(rows * l); betaGradient.reserve(b * l)
            query.reserve(rows * a); queryGradient.reserve(rows * a)
            encoderHiddenGradient.reserve(b * h); decoderHiddenGradient.reserve(b * h)
            encoderHiddenCarry.reserve(b * h); encoderCellCarry.reserve(b * h)
            decoderHiddenCarry.reserve(b * h); decoderCellCarry.reserve(b * h)
        }
    }
}
