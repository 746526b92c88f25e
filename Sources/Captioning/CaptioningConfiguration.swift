/// Hyper-parameters of a MusCaps model. Defaults are the paper's (Section IV-B) and the reference
/// configuration's (`configs/models/*.yaml`): 300-d word embeddings (GloVe), 256 hidden units in encoder
/// and decoder, attention size 256, dropout 0.25; audio features are musicnn's 753-d `max_pool` per 3 s chunk.
///
/// Stored as JSON in the `configuration` metadata entry of a saved model. Decoding tolerates missing keys
/// (they take the defaults), so files written before a field existed still load.
public struct CaptioningConfiguration: Codable, Sendable, Equatable {
    /// The three MusCaps encoders (paper Section III-C/D, Fig. 2–3).
    public enum Variant: String, Codable, Sendable, CaseIterable {
        /// Encoder LSTM over [a, w_t]; decoder LSTMCell (h0 = c0 = a) over the encoder outputs.
        case earlyFusion = "early"
        /// Encoder LSTM over w_t; decoder LSTMCell (h0 = c0 = a) over [h_enc_t, a].
        case lateFusion = "late"
        /// Encoder LSTMCell over [w_t, a, h_dec_{t-1}]; soft attention over the chunk features;
        /// decoder LSTMCell over [â_t, h_enc_t]; all four states start at a.
        case attention
    }

    public var variant: Variant
    /// k: size of one chunk's audio feature (753 = musicnn MTT `max_pool`).
    public var audioFeatureSize: Int
    /// d: word embedding size (300 = GloVe 6B 300d).
    public var wordEmbeddingSize: Int
    /// H_enc. The reference initialises decoder states with the audio embedding a ∈ R^H_enc, so H_dec must equal it.
    public var encoderHiddenSize: Int
    /// H_dec (must equal `encoderHiddenSize`).
    public var decoderHiddenSize: Int
    /// Size of the attention MLP (attention variant only).
    public var attentionSize: Int
    /// Dropout on the decoder's hidden state before the output layer (`dropout_decoder`).
    public var dropout: Float
    /// Whether the word embeddings stay fixed (the reference freezes GloVe).
    public var freezeWordEmbeddings: Bool
    /// Token id of `<pad>`: ignored by the loss, never given an embedding gradient (reference: 0).
    public var padIndex: Int
    /// BatchNorm1d on the audio embedding: ε and running-statistics momentum (PyTorch defaults).
    public var batchNormEpsilon: Float
    public var batchNormMomentum: Float

    public init(variant: Variant = .earlyFusion, audioFeatureSize: Int = 753, wordEmbeddingSize: Int = 300,
                encoderHiddenSize: Int = 256, decoderHiddenSize: Int = 256, attentionSize: Int = 256,
                dropout: Float = 0.25, freezeWordEmbeddings: Bool = true, padIndex: Int = 0,
                batchNormEpsilon: Float = 1e-5, batchNormMomentum: Float = 0.1) {
        self.variant = variant
        self.audioFeatureSize = audioFeatureSize
        self.wordEmbeddingSize = wordEmbeddingSize
        self.encoderHiddenSize = encoderHiddenSize
        self.decoderHiddenSize = decoderHiddenSize
        self.attentionSize = attentionSize
        self.dropout = dropout
        self.freezeWordEmbeddings = freezeWordEmbeddings
        self.padIndex = padIndex
        self.batchNormEpsilon = batchNormEpsilon
        self.batchNormMomentum = batchNormMomentum
    }

    private enum CodingKeys: String, CodingKey {
        case variant, audioFeatureSize, wordEmbeddingSize, encoderHiddenSize, decoderHiddenSize, attentionSize
        case dropout, freezeWordEmbeddings, padIndex, batchNormEpsilon, batchNormMomentum
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CaptioningConfiguration()
        variant = try c.decodeIfPresent(Variant.self, forKey: .variant) ?? d.variant
        audioFeatureSize = try c.decodeIfPresent(Int.self, forKey: .audioFeatureSize) ?? d.audioFeatureSize
        wordEmbeddingSize = try c.decodeIfPresent(Int.self, forKey: .wordEmbeddingSize) ?? d.wordEmbeddingSize
        encoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize) ?? d.encoderHiddenSize
        decoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .decoderHiddenSize) ?? d.decoderHiddenSize
        attentionSize = try c.decodeIfPresent(Int.self, forKey: .attentionSize) ?? d.attentionSize
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? d.dropout
        freezeWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .freezeWordEmbeddings) ?? d.freezeWordEmbeddings
        padIndex = try c.decodeIfPresent(Int.self, forKey: .padIndex) ?? d.padIndex
        batchNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .batchNormEpsilon) ?? d.batchNormEpsilon
        batchNormMomentum = try c.decodeIfPresent(Float.self, forKey: .batchNormMomentum) ?? d.batchNormMomentum
    }

    /// Throws `CaptioningError.invalidConfiguration` naming the first problem.
    public func validate() throws {
        func fail(_ reason: String) throws -> Never { throw CaptioningError.invalidConfiguration(reason) }
        if audioFeatureSize < 1 { try fail("audioFeatureSize must be positive (got \(audioFeatureSize))") }
        if wordEmbeddingSize < 1 { try fail("wordEmbeddingSize must be positive (got \(wordEmbeddingSize))") }
        if encoderHiddenSize < 1 { try fail("encoderHiddenSize must be positive (got \(encoderHiddenSize))") }
        if decoderHiddenSize != encoderHiddenSize {
            try fail("decoderHiddenSize (\(decoderHiddenSize)) must equal encoderHiddenSize (\(encoderHiddenSize)): the decoder state starts as the audio embedding")
        }
        if variant == .attention && attentionSize < 1 { try fail("attentionSize must be positive (got \(attentionSize))") }
        if !(dropout >= 0 && dropout < 1) { try fail("dropout must be in [0, 1) (got \(dropout))") }
        if padIndex < 0 { try fail("padIndex must not be negative (got \(padIndex))") }
        if !(batchNormEpsilon > 0) { try fail("batchNormEpsilon must be positive") }
        if !(batchNormMomentum >= 0 && batchNormMomentum <= 1) { try fail("batchNormMomentum must be in [0, 1]") }
    }
}

/// Errors of the captioning model. Descriptions are one line.
public enum CaptioningError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case invalidBatch(String)
    case incompatibleWeights(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(reason): return "invalid captioning configuration: \(reason)"
        case let .invalidBatch(reason): return "invalid caption batch: \(reason)"
        case let .incompatibleWeights(reason): return "incompatible captioning weights: \(reason)"
        }
    }
}
