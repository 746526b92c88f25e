import Foundation
import NeuralCore
import XCTest
@testable import Captioning

/// Small synthetic captioning problems: a few tracks with distinct random features and distinct captions.
enum TinyCaptioning {
    static let captions: [[String]] = [
        "soft piano with gentle strings".split(separator: " ").map(String.init),
        "loud rock guitar with heavy drums".split(separator: " ").map(String.init),
        "calm ambient synth pads".split(separator: " ").map(String.init),
        "upbeat electronic dance beat with synth bass".split(separator: " ").map(String.init),
    ]

    /// Tracks with `chunks[i]` chunks of `dimension` features drawn from a per-track mean plus noise.
    static func corpus(dimension: Int = 24, chunks: [Int] = [3, 5, 2, 4], seed: UInt64 = 1, captions: [[String]] = captions) -> CaptionCorpus {
        var g = SeededGenerator(seed: seed)
        var features: [Tensor] = []
        for n in chunks {
            let center = (0..<dimension).map { _ in g.nextFloat(-1, 1) }
            var values: [Float] = []
            for _ in 0..<n { values += center.map { $0 + 0.1 * g.nextFloat(-1, 1) } }
            features.append(Tensor(shape: [n, dimension], scalars: values))
        }
        return CaptionCorpus(trackIds: chunks.indices.map { "track\($0)" }, features: features,
                             pairs: captions.indices.map { CaptionCorpus.Pair(track: $0 % chunks.count, tokens: captions[$0]) })
    }

    static func vocabulary(_ corpus: CaptionCorpus) -> Vocabulary {
        Vocabulary(captions: corpus.pairs.map(\.tokens), minCount: 1)
    }

    static func configuration(_ variant: CaptioningConfiguration.Variant, dimension: Int = 24, dropout: Float = 0) -> CaptioningConfiguration {
        CaptioningConfiguration(variant: variant, audioFeatureSize: dimension, wordEmbeddingSize: 12, encoderHiddenSize: 24,
                                decoderHiddenSize: 24, attentionSize: 12, dropout: dropout, freezeWordEmbeddings: false)
    }

    static func options(epochs: Int, batchSize: Int = 4, learningRate: Float = 1e-2, seed: UInt64 = 0) -> TrainingOptions {
        var o = TrainingOptions()
        o.maxEpochs = epochs
        o.batchSize = batchSize
        o.learningRate = learningRate
        o.schedule = .constant
        o.earlyStoppingPatience = 0
        o.ciderEvery = 0
        o.seed = seed
        return o
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muscaps-captioning-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A model trained to reproduce the tiny corpus's captions (cached per variant for the test run).
    nonisolated(unsafe) static var trainedCache: [CaptioningConfiguration.Variant: (MusCapsModel, Vocabulary, TrainingState)] = [:]

    static func trained(_ variant: CaptioningConfiguration.Variant) throws -> (model: MusCapsModel, vocabulary: Vocabulary, state: TrainingState) {
        if let cached = trainedCache[variant] { return cached }
        let corpus = corpus()
        let vocabulary = vocabulary(corpus)
        let model = try MusCapsModel(configuration: configuration(variant), vocabularySize: vocabulary.count, seed: 3)
        let trainer = try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: options(epochs: 400), directory: nil)
        let state = try trainer.train(training: corpus, validation: corpus)
        trainedCache[variant] = (model, vocabulary, state)
        return (model, vocabulary, state)
    }
}

@testable import MusicTagging

enum AnalysisWindowFactory {
    /// Window i of a non-overlapping stream (starts at i·2.992 s).
    static func make(index: Int, start: Double, end: Double, silent: Bool) -> AnalysisWindow {
        AnalysisWindow(MelWindow(index: index, firstFrame: index * MelWindower.windowFrames,
                                 frames: UnsafeBufferPointer(start: nil, count: 0), levelDBFS: silent ? -100 : -12))
    }
}
