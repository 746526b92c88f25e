import Foundation
import MusicTagging
import NeuralCore

/// Everything inference needs from one file: the network, its vocabulary and the id of the feature
/// extractor it was trained on. The CLI (`caption`, `eval`, `search`) and the daemon load models only
/// through `CaptioningModelBundle.load(_:)`.
///
/// File format: a safetensors file written by `MusCapsModel.save(to:extraMetadata:)` (tensors named as the
/// reference's `state_dict`, the configuration JSON in the `configuration` metadata entry) with these
/// extra metadata entries:
///
/// | key | value |
/// |---|---|
/// | `vocabulary` | JSON list of the words, `<pad> <unk> <sos> <eos>` first (id = position) |
/// | `extractor` | feature extractor id: `musicnn-mtt` (753-d `max_pool` per 3 s window), `musicnn-msd`, `hcnn-mtt` (256-d embedding per 5 s window); the feature size is the configuration's `audioFeatureSize` |
/// | `provenance` | JSON: what produced the file (dataset, epoch, validation loss, seed, version) |
/// | `training_state` | JSON, only in the trainer's `last.safetensors`: what `--resume` needs |
///
/// Extra tensors or metadata are ignored, so a training checkpoint is also a model.
public struct CaptioningModelBundle {
    public static let vocabularyKey = "vocabulary"
    public static let extractorKey = "extractor"
    public static let provenanceKey = "provenance"
    public static let trainingStateKey = "training_state"
    /// Where a shipped default model lives, relative to a `Models/` folder (see `ModelLocator`).
    public static let defaultModelPath = "captioning/default.safetensors"

    public let model: MusCapsModel
    public let vocabulary: Vocabulary
    /// Feature extractor id, e.g. "musicnn-mtt".
    public let extractor: String
    /// All metadata of the file (including the entries above).
    public let metadata: [String: String]

    public init(model: MusCapsModel, vocabulary: Vocabulary, extractor: String, metadata: [String: String] = [:]) throws {
        guard vocabulary.count == model.vocabularySize else {
            throw CaptioningBundleError.vocabularyMismatch(path: "<memory>", words: vocabulary.count, outputs: model.vocabularySize)
        }
        self.model = model
        self.vocabulary = vocabulary
        self.extractor = extractor
        self.metadata = metadata
    }

    /// Loads a model file. Every failure (missing file, not safetensors, truncated, missing or
    /// mismatched tensors, no vocabulary) is a one-line error naming the file.
    public static func load(_ url: URL) throws -> CaptioningModelBundle {
        let file = try SafetensorsFile(contentsOf: url)
        return try load(file: file, url: url)
    }

    static func load(file: SafetensorsFile, url: URL) throws -> CaptioningModelBundle {
        let path = url.path
        guard file.metadata[MusCapsModel.configurationKey] != nil else {
            throw CaptioningBundleError.notACaptioningModel(path: path)
        }
        guard let vocabularyJSON = file.metadata[vocabularyKey] else {
            throw CaptioningBundleError.missingMetadata(path: path, key: vocabularyKey)
        }
        let vocabulary: Vocabulary
        do { vocabulary = try JSONDecoder().decode(Vocabulary.self, from: Data(vocabularyJSON.utf8)) } catch {
            throw CaptioningBundleError.malformedMetadata(path: path, key: vocabularyKey, reason: "\(error)")
        }
        let model: MusCapsModel
        do { model = try MusCapsModel(contentsOf: url) } catch let error as CaptioningError {
            throw CaptioningBundleError.incompatible(path: path, reason: "\(error)")
        }
        guard vocabulary.count == model.vocabularySize else {
            throw CaptioningBundleError.vocabularyMismatch(path: path, words: vocabulary.count, outputs: model.vocabularySize)
        }
        return CaptioningModelBundle(uncheckedModel: model, vocabulary: vocabulary,
                                     extractor: file.metadata[extractorKey] ?? "musicnn-mtt", metadata: file.metadata)
    }

    private init(uncheckedModel: MusCapsModel, vocabulary: Vocabulary, extractor: String, metadata: [String: String]) {
        model = uncheckedModel
        self.vocabulary = vocabulary
        self.extractor = extractor
        self.metadata = metadata
    }

    /// Writes the bundle (atomically) with `extraMetadata` added to the vocabulary and extractor entries.
    public func save(to url: URL, extraMetadata: [String: String] = [:]) throws {
        var entries = extraMetadata
        entries[Self.vocabularyKey] = String(decoding: try JSONEncoder().encode(vocabulary), as: UTF8.self)
        entries[Self.extractorKey] = extractor
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try model.save(to: url, extraMetadata: entries)
    }

    /// The musicnn weights the extractor id names ("musicnn-mtt" → mtt), if it is a musicnn extractor.
    public var musicnnModel: MusicnnModelName? { Self.musicnnModel(forExtractor: extractor) }

    public static func musicnnModel(forExtractor id: String) -> MusicnnModelName? {
        guard id.hasPrefix("musicnn-") else { return nil }
        return MusicnnModelName(rawValue: String(id.dropFirst("musicnn-".count)))
    }

    /// A feature extractor matching the model (the same windows and features it was trained on). A model
    /// trained on Harmonic CNN features needs the converted weights (`hcnnWeights`, default
    /// `Models/hcnn/HCNN_MTT.safetensors`), and they must compute the same extractor id.
    public func makeFeatureExtractor(workers: Int = 1, hcnnWeights: String? = nil) throws -> TrackFeatureExtractor {
        guard FeatureExtractorKind(extractorId: extractor) != nil else { throw CaptioningBundleError.unknownExtractor(extractor) }
        let features = try TrackFeatureExtractor(identifier: extractor, hcnnWeights: hcnnWeights, workers: workers)
        try requireCompatible(extractorId: features.identifier, featureSize: features.dimension)
        return features
    }

    /// Refuses features other than those the model was trained on: another extractor, or another size.
    public func requireCompatible(extractorId: String, featureSize: Int) throws {
        let path = "captioning model"
        guard extractorId == extractor else {
            throw CaptioningBundleError.incompatible(path: path, reason: "trained on '\(extractor)' features (\(model.configuration.audioFeatureSize)-d), given '\(extractorId)' features (\(featureSize)-d)")
        }
        guard featureSize == model.configuration.audioFeatureSize else {
            throw CaptioningBundleError.incompatible(path: path, reason: "expects \(model.configuration.audioFeatureSize)-d audio features, '\(extractorId)' gives \(featureSize)-d")
        }
    }

    /// The shipped default model, if one is installed (`Models/captioning/default.safetensors`).
    public static func locateDefault(searchDirectories: [URL] = ModelLocator.searchDirectories()) -> URL? {
        ModelLocator.locate(defaultModelPath, in: searchDirectories)
    }

    /// Resolves `--model`: the given path, else the installed default; without either, an error that
    /// says where the default was looked for and how to get a model.
    public static func resolve(_ path: String?, searchDirectories: [URL] = ModelLocator.searchDirectories()) throws -> URL {
        if let path { return URL(fileURLWithPath: path) }
        if let url = locateDefault(searchDirectories: searchDirectories) { return url }
        throw CaptioningBundleError.noDefaultModel(searched: searchDirectories.map(\.path))
    }
}

public enum CaptioningBundleError: Error, CustomStringConvertible, Equatable {
    case notACaptioningModel(path: String)
    case missingMetadata(path: String, key: String)
    case malformedMetadata(path: String, key: String, reason: String)
    case vocabularyMismatch(path: String, words: Int, outputs: Int)
    case incompatible(path: String, reason: String)
    case unknownExtractor(String)
    case noDefaultModel(searched: [String])

    public var description: String {
        switch self {
        case let .notACaptioningModel(path): return "\(path): not a captioning model (no 'configuration' metadata)"
        case let .missingMetadata(path, key): return "\(path): captioning model has no '\(key)' metadata"
        case let .malformedMetadata(path, key, reason): return "\(path): '\(key)' metadata is malformed: \(reason)"
        case let .vocabularyMismatch(path, words, outputs):
            return "\(path): vocabulary has \(words) words but the model predicts \(outputs)"
        case let .incompatible(path, reason): return "\(path): \(reason)"
        case let .unknownExtractor(id): return "unknown feature extractor '\(id)' (expected musicnn-mtt, musicnn-msd or hcnn-<name>)"
        case let .noDefaultModel(searched):
            return "no default captioning model is installed (\(CaptioningModelBundle.defaultModelPath) is in none of: \(searched.joined(separator: ", ")); set MUSCAPS_MODELS to the folder holding captioning/); pass a trained model with --model PATH (make one with `muscaps train`)"
        }
    }
}
