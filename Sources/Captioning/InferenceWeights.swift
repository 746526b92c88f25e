import NeuralCore

/// Weights re-laid-out for decoding, built from the parameters by `MusCapsModel.prepareForInference()`:
///
/// - BatchNorm (running statistics) folded into the audio linear layer: a = ReLU(W' ã + b') with
///   W' = diag(s)·W_a, b' = s·b_a + (β − μ·s), s = γ/√(σ² + ε);
/// - each LSTM's per-step matrices concatenated so one step is one GEMV/GEMM per LSTM over the row
///   [inputs that change per step | recurrent state] (the time-constant audio term is added once per
///   track instead);
/// - the weight-normalised output layer as its effective weight.
final class InferenceWeights {
    let version: Int
    /// [H, k], [H]
    let audioWeight: FloatBuffer, audioBias: FloatBuffer
    /// Encoder: [4H, encoderWidth] over the row [w_t | h_dec (attention only) | h_enc]; bias b_ih + b_hh.
    let encoderWidth: Int
    let encoderWeight: FloatBuffer, encoderBias: FloatBuffer
    /// Decoder: [4H, 2H] over the row [h_enc | h_dec]; bias b_ih + b_hh.
    let decoderWeight: FloatBuffer, decoderBias: FloatBuffer
    /// Output: [V, H], [V].
    let outputWeight: FloatBuffer, outputBias: FloatBuffer

    init(model: MusCapsModel) {
        let c = model.configuration
        let k = c.audioFeatureSize, d = c.wordEmbeddingSize, h = c.encoderHiddenSize, g4 = 4 * h, v = model.vocabularySize
        version = model.weightsVersion

        let (scale, shift) = model.batchNorm.evaluationAffine()
        audioWeight = FloatBuffer(capacity: h * k)
        audioBias = FloatBuffer(capacity: h)
        for o in 0..<h {
            for i in 0..<k { audioWeight.pointer[o * k + i] = scale[o] * model.audioLinear.weight.value[o * k + i] }
            audioBias.pointer[o] = scale[o] * model.audioLinear.bias!.value[o] + shift[o]
        }

        // Column blocks (in W_ih of the source layer) that make up the fused per-step rows.
        let encoderBlocks: [(matrix: Parameter, columns: Range<Int>)]
        let decoderBlocks: [(matrix: Parameter, columns: Range<Int>)]
        let enc = model.encoder, dec = model.decoder
        switch c.variant {
        case .earlyFusion:   // encoder x = [a, w]; decoder x = h_enc
            encoderBlocks = [(enc.weightIH, h..<(h + d)), (enc.weightHH, 0..<h)]
            decoderBlocks = [(dec.weightIH, 0..<h), (dec.weightHH, 0..<h)]
        case .lateFusion:    // encoder x = w; decoder x = [h_enc, a]
            encoderBlocks = [(enc.weightIH, 0..<d), (enc.weightHH, 0..<h)]
            decoderBlocks = [(dec.weightIH, 0..<h), (dec.weightHH, 0..<h)]
        case .attention:     // encoder x = [w, a, h_dec]; decoder x = [â, h_enc]
            encoderBlocks = [(enc.weightIH, 0..<d), (enc.weightIH, (d + h)..<(d + 2 * h)), (enc.weightHH, 0..<h)]
            decoderBlocks = [(dec.weightIH, k..<(k + h)), (dec.weightHH, 0..<h)]
        }
        func fuse(_ blocks: [(matrix: Parameter, columns: Range<Int>)]) -> (FloatBuffer, Int) {
            let width = blocks.reduce(0) { $0 + $1.columns.count }
            let fused = FloatBuffer(capacity: g4 * width)
            var offset = 0
            for block in blocks {
                let ld = block.matrix.shape[1]
                MatrixOps.copy(block.matrix.value + block.columns.lowerBound, ldx: ld, rows: g4, columns: block.columns.count,
                               into: fused.pointer + offset, ldy: width)
                offset += block.columns.count
            }
            return (fused, width)
        }
        (encoderWeight, encoderWidth) = fuse(encoderBlocks)
        (decoderWeight, _) = fuse(decoderBlocks)
        encoderBias = FloatBuffer(capacity: g4)
        decoderBias = FloatBuffer(capacity: g4)
        for j in 0..<g4 {
            encoderBias.pointer[j] = enc.biasIH.value[j] + enc.biasHH.value[j]
            decoderBias.pointer[j] = dec.biasIH.value[j] + dec.biasHH.value[j]
        }

        model.output.refreshWeight()
        outputWeight = FloatBuffer(capacity: v * h)
        outputWeight.pointer.update(from: model.output.effectiveWeight.pointer, count: v * h)
        outputBias = FloatBuffer(capacity: v)
        outputBias.pointer.update(from: model.output.bias.value, count: v)
    }
}
