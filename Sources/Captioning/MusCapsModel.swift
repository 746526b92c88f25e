import Foundation
import NeuralCore

/// The MusCaps captioning network (Manco et al. 2021, eqs. 1–8; `ilaria-manco/muscaps`
/// `models/cnn_lstm_caption.py` and `models/cnn_attention_lstm.py`) on pre-extracted chunk features,
/// with hand-written backward passes.
///
/// Common front: ã = mean of the row's valid chunk features; a = ReLU(BatchNorm1d(W_a ã + b_a)) ∈ R^H.
/// Then, with w_t the (frozen) embedding of input token t and teacher forcing (inputs = tokens 0…T−2):
///
/// | variant | encoder | decoder input | initial states |
/// |---|---|---|---|
/// | early fusion | LSTM over [a, w_t] | h_enc_t | enc 0, dec a |
/// | late fusion | LSTM over w_t | [h_enc_t, a] | enc 0, dec a |
/// | attention | LSTMCell over [w_t, a, h_dec_{t−1}] | [â_t, h_enc_t], â_t = attention(h_enc_t, chunks) | all a |
///
/// logits_t = WeightNorm(W_d) · dropout(h_dec_t) + b_d; loss = cross-entropy over non-`<pad>` targets.
///
/// Usage (training): `forwardTraining(batch)` → loss, `backward()` → gradients in each parameter's
/// `gradient` (see `parameters`), then an optimiser (`Adam`) steps the parameters in place.
/// Usage (inference): `makeDecoderState(maxRows:maxChunks:)`, `start(_:features:chunkCount:rows:)`,
/// then `step(tokens:state:)` per token (see `MusCapsModel+Inference.swift`).
///
/// Not thread-safe (holds its workspaces); use one model per thread.
public final class MusCapsModel {
    public let configuration: CaptioningConfiguration
    public let vocabularySize: Int

    // Layers, named as in the reference's state_dict.
    public let audioLinear: Linear            // audio_linear
    public let batchNorm: BatchNorm1d         // batch_norm
    public let wordEmbedding: Embedding       // text_encoder.word_embeddings
    public let encoder: LSTMLayer             // encoder.lstm.*_l0 (fusion) / encoder.* (attention: LSTMCell)
    public let attention: SoftAttention?      // attention.* (attention variant)
    public let decoder: LSTMLayer             // decoder.lstm_cell.*
    public let output: WeightNormLinear       // decoder.dense.{bias, weight_g, weight_v}

    /// Every parameter (trainable or frozen), in the reference's `state_dict` order.
    public let parameters: [Parameter]
    /// Every saved tensor (parameters and BatchNorm buffers), in the reference's `state_dict` order.
    public let stateTensors: [Parameter]
    /// Parameters the optimiser updates (`requiresGradient`), in `state_dict` order.
    public var trainableParameters: [Parameter] { parameters.filter(\.requiresGradient) }

    /// Source of dropout masks (seeded from the model seed).
    public var generator: SeededGenerator

    let workspace = TrainingWorkspace()
    var inferenceWeights: InferenceWeights?

    /// A freshly initialised model (PyTorch's default initialisations, drawn from `seed`; embeddings N(0, 1)
    /// until pretrained vectors are loaded into `wordEmbedding.weight`).
    public init(configuration: CaptioningConfiguration = CaptioningConfiguration(), vocabularySize: Int, seed: UInt64 = 0) throws {
        try configuration.validate()
        guard vocabularySize > configuration.padIndex else {
            throw CaptioningError.invalidConfiguration("vocabulary of \(vocabularySize) tokens cannot hold <pad> at \(configuration.padIndex)")
        }
        self.configuration = configuration
        self.vocabularySize = vocabularySize
        var g = SeededGenerator(seed: seed)
        let k = configuration.audioFeatureSize, d = configuration.wordEmbeddingSize
        let h = configuration.encoderHiddenSize
        audioLinear = Linear(name: "audio_linear", inputSize: k, outputSize: h, generator: &g)
        batchNorm = BatchNorm1d(name: "batch_norm", features: h, epsilon: configuration.batchNormEpsilon,
                                momentum: configuration.batchNormMomentum)
        wordEmbedding = Embedding(name: "text_encoder.word_embeddings", count: vocabularySize, dimension: d,
                                  paddingIndex: configuration.padIndex, frozen: configuration.freezeWordEmbeddings, generator: &g)
        switch configuration.variant {
        case .earlyFusion:
            encoder = LSTMLayer(name: "encoder.lstm", naming: .lstm, inputSize: h + d, hiddenSize: h, generator: &g)
            attention = nil
            decoder = LSTMLayer(name: "decoder.lstm_cell", naming: .cell, inputSize: h, hiddenSize: h, generator: &g)
        case .lateFusion:
            encoder = LSTMLayer(name: "encoder.lstm", naming: .lstm, inputSize: d, hiddenSize: h, generator: &g)
            attention = nil
            decoder = LSTMLayer(name: "decoder.lstm_cell", naming: .cell, inputSize: 2 * h, hiddenSize: h, generator: &g)
        case .attention:
            encoder = LSTMLayer(name: "encoder", naming: .cell, inputSize: d + 2 * h, hiddenSize: h, generator: &g)
            attention = SoftAttention(name: "attention", featureSize: k, querySize: h, attentionSize: configuration.attentionSize, generator: &g)
            decoder = LSTMLayer(name: "decoder.lstm_cell", naming: .cell, inputSize: k + h, hiddenSize: h, generator: &g)
        }
        output = WeightNormLinear(name: "decoder.dense", inputSize: h, outputSize: vocabularySize, generator: &g)
        generator = SeededGenerator(seed: seed ^ 0x5DEE_CE66_D1CE_D00D)

        // state_dict order: CNNLSTMCaption registers audio_linear, batch_norm, text_encoder, encoder, decoder;
        // AttentionModel registers text_encoder, audio_linear, batch_norm, encoder, attention, decoder.
        let front: [Parameter] = audioLinear.parameters + batchNorm.stateTensors
        let embedding = wordEmbedding.parameters
        let tail = encoder.parameters + (attention?.parameters ?? []) + decoder.parameters + output.parameters
        stateTensors = configuration.variant == .attention ? embedding + front + tail : front + embedding + tail
        parameters = stateTensors.filter { $0.role == .parameter }
    }

    /// The parameter or buffer with this `state_dict` name.
    public func stateTensor(named name: String) -> Parameter? { stateTensors.first { $0.name == name } }

    /// Sets the gradient of every parameter that requires one to zero.
    public func zeroGradients() {
        for i in 0..<parameters.count where parameters[i].requiresGradient { parameters[i].zeroGradient() }
    }

    /// The gradients of the last `backward()`, by `state_dict` name (trainable parameters only).
    public var gradients: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: trainableParameters.map { ($0.name, $0.gradientTensor) })
    }

    /// Sum of all parameter versions: changes whenever any weight is modified through the API.
    var weightsVersion: Int {
        var total = 0
        for i in 0..<stateTensors.count { total &+= stateTensors[i].version }  // index loop: no iterator boxes in debug builds
        return total
    }

    // MARK: Saving and loading

    /// Metadata key holding the configuration JSON.
    public static let configurationKey = "configuration"
    public static let formatKey = "format"
    public static let formatName = "muscaps-live.captioning.v1"

    /// Writes every state tensor (names as the reference's `state_dict`; `num_batches_tracked` as a float32
    /// scalar) with the configuration JSON and the vocabulary size in the metadata, plus `extraMetadata`
    /// (e.g. the vocabulary, provenance).
    public func save(to url: URL, extraMetadata: [String: String] = [:]) throws {
        var metadata = extraMetadata
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        metadata[MusCapsModel.configurationKey] = String(decoding: try encoder.encode(configuration), as: UTF8.self)
        metadata["vocabulary_size"] = String(vocabularySize)
        metadata[MusCapsModel.formatKey] = MusCapsModel.formatName
        try SafetensorsWriter.write(tensors: stateTensors.map { ($0.name, $0.tensor) }, metadata: metadata, to: url)
    }

    /// Loads a file written by `save(to:)` (configuration from its metadata).
    public convenience init(contentsOf url: URL) throws {
        let file = try SafetensorsFile(contentsOf: url)
        guard let json = file.metadata[MusCapsModel.configurationKey] else {
            throw CaptioningError.incompatibleWeights("\(url.path): no '\(MusCapsModel.configurationKey)' metadata")
        }
        let configuration: CaptioningConfiguration
        do { configuration = try JSONDecoder().decode(CaptioningConfiguration.self, from: Data(json.utf8)) } catch {
            throw CaptioningError.incompatibleWeights("\(url.path): configuration metadata is not valid: \(error)")
        }
        guard let embedding = file.entries["text_encoder.word_embeddings.weight"], embedding.shape.count == 2 else {
            throw CaptioningError.incompatibleWeights("\(url.path): no word embedding matrix")
        }
        try self.init(configuration: configuration, vocabularySize: embedding.shape[0])
        try loadStateTensors(from: file)
    }

    /// Copies every state tensor from `file` (a saved model or a converted PyTorch `state_dict`). Shapes
    /// must match (a `[n, 1]` tensor may stand for `[n]` and vice versa); with `strict`, every tensor must be
    /// present, otherwise missing BatchNorm counters are tolerated.
    public func loadStateTensors(from file: SafetensorsFile, strict: Bool = true) throws {
        for p in stateTensors {
            guard let entry = file.entries[p.name] else {
                if !strict && p.role == .buffer { continue }
                throw SafetensorsError.missingTensor(path: file.path, name: p.name)
            }
            guard entry.shape.reduce(1, *) == p.count, entry.shape.filter({ $0 != 1 }) == p.shape.filter({ $0 != 1 }) else {
                throw SafetensorsError.shapeMismatch(path: file.path, name: p.name, expected: p.shape, found: entry.shape)
            }
            p.load(try file.finiteTensor(p.name))
        }
        inferenceWeights = nil
    }
}
