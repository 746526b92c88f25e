import NeuralCore

/// Activations of the last forward pass, kept for the backward pass, and the backward pass's scratch.
/// Sequence tensors are time-major (`[steps, batch, ·]`, row r = t·B + b) so that every step's rows are
/// one contiguous matrix for BLAS; the public API stays batch-first. Buffers only grow, so a training loop
/// allocates nothing after its largest batch.
final class TrainingWorkspace {
    enum Pass { case none, training, evaluation }

    var batch = 0, chunks = 0, steps = 0
    var lastPass = Pass.none
    var result = CrossEntropy.Result(loss: 0, count: 0, sum: 0)

    let features = FloatBuffer()          // [B, L, k] (attention)
    let counts = Int32Buffer()            // [B]
    let pooled = FloatBuffer()            // [B, k]
    let audioPre = FloatBuffer()          // [B, H]  W_a ã + b_a
    let audioNorm = FloatBuffer()         // [B, H]  BatchNorm output
    let audio = FloatBuffer()             // [B, H]  a = ReLU(BN(·))
    let inputTokens = Int32Buffer()       // [T'·B]
    let targets = Int32Buffer()           // [T'·B]
    let embedded = FloatBuffer()          // [T'·B, d]
    let encoder = LSTMSequenceCache()
    let decoder = LSTMSequenceCache()
    let constantGates = FloatBuffer()     // [B, 4H]
    let gateSum = FloatBuffer()           // [B, 4H]
    let dropoutMask = FloatBuffer()       // [T'·B, H]
    let dropped = FloatBuffer()           // [T'·B, H]
    let logits = FloatBuffer()            // [T'·B, V]
    let logitGradient = FloatBuffer()     // [T'·B, V]
    let decoderOutputGradient = FloatBuffer()  // [T'·B, H]
    let encoderOutputGradient = FloatBuffer()  // [T'·B, H]
    let audioGradient = FloatBuffer()     // [B, H]
    let audioScratch = FloatBuffer()      // [B, H]
    let embeddingGradient = FloatBuffer() // [T'·B, d]

    // Attention variant.
    let projected = FloatBuffer()         // [B·L, A]   W_a^att a_i + b
    let chunkGates = FloatBuffer()        // [B·L, 4H]  W_ih^dec[:, :k] a_i
    let attentionTanh = FloatBuffer()     // [T', B, L, A]
    let beta = FloatBuffer()              // [T', B, L]
    let query = FloatBuffer()             // [T', B, A]
    let queryGradient = FloatBuffer()     // [T', B, A]
    let projectedGradient = FloatBuffer() // [B·L, A]
    let chunkGateGradient = FloatBuffer() // [B·L, 4H]
    let betaGradient = FloatBuffer()      // [B, L]
    let encoderHiddenGradient = FloatBuffer()  // [B, H]
    let decoderHiddenGradient = FloatBuffer()  // [B, H]
    let encoderHiddenCarry = FloatBuffer(), encoderCellCarry = FloatBuffer()  // [B, H]
    let decoderHiddenCarry = FloatBuffer(), decoderCellCarry = FloatBuffer()  // [B, H]

    func reserve(configuration c: CaptioningConfiguration, vocabularySize v: Int, batch b: Int, chunks l: Int, steps t: Int) {
        batch = b; chunks = l; steps = t
        let k = c.audioFeatureSize, d = c.wordEmbeddingSize, h = c.encoderHiddenSize, rows = t * b
        counts.reserve(b)
        pooled.reserve(b * k)
        audioPre.reserve(b * h); audioNorm.reserve(b * h); audio.reserve(b * h)
        audioGradient.reserve(b * h); audioScratch.reserve(b * h)
        inputTokens.reserve(rows); targets.reserve(rows)
        embedded.reserve(rows * d)
        encoder.reserve(steps: t, batch: b, hiddenSize: h)
        decoder.reserve(steps: t, batch: b, hiddenSize: h)
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
            attentionTanh.reserve(t * b * l * a)
            beta.reserve(t * b * l); betaGradient.reserve(b * l)
            query.reserve(t * b * a); queryGradient.reserve(t * b * a)
            encoderHiddenGradient.reserve(b * h); decoderHiddenGradient.reserve(b * h)
            encoderHiddenCarry.reserve(b * h); encoderCellCarry.reserve(b * h)
            decoderHiddenCarry.reserve(b * h); decoderCellCarry.reserve(b * h)
        }
    }
}
