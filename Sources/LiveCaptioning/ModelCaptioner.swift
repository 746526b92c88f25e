import Captioning
import Foundation
import MusicTagging

/// A trained MusCaps model as the live pipeline's captioner: greedy or beam-search decoding of the
/// context's chunk features, with the decoder state allocated once here (no allocation per step).
public final class ModelCaptioner: ContextCaptioner {
    public let identifier: String
    public let bundle: CaptioningModelBundle
    private let decoder: CaptionDecoder

    /// Loads a checkpoint saved by `muscaps train` (model, vocabulary, extractor id). The model must have
    /// been trained on the features the daemon computes: `featureSize` values per window (musicnn's 753-d
    /// max_pool unless told otherwise; the daemon also checks the extractor id).
    public init(bundle: CaptioningModelBundle, beamWidth: Int, maxChunks: Int = 128, featureSize: Int = Musicnn.featureChannels) throws {
        guard bundle.model.configuration.audioFeatureSize == featureSize else {
            throw CaptionerError(message: "captioning model expects \(bundle.model.configuration.audioFeatureSize)-d features; the daemon computes \(featureSize)-d features")
        }
        self.bundle = bundle
        identifier = "muscaps-\(bundle.model.configuration.variant.rawValue)-\(bundle.extractor)"
        decoder = try CaptionDecoder(model: bundle.model, beamWidth: beamWidth, maxChunks: maxChunks)
    }

    /// The tagging model the captioner was trained with ("mtt" for musicnn-mtt), if it says.
    public var taggerName: String? { bundle.musicnnModel?.rawValue }

    /// The extractor the captioner was trained with.
    public var extractorKind: FeatureExtractorKind? { FeatureExtractorKind(extractorId: bundle.extractor) }

    /// Throws (the decoder's reason) when the features do not fit the model; the pipeline reports it.
    public func caption(features: UnsafeBufferPointer<Float>, chunks: Int, dimension: Int) throws -> String {
        guard chunks > 0 else { return "" }
        guard dimension == bundle.model.configuration.audioFeatureSize else {
            throw CaptionerError(message: "\(dimension)-d features for a model of \(bundle.model.configuration.audioFeatureSize)-d features")
        }
        return try decoder.decode(features: features, chunkCount: chunks).sentence(bundle.vocabulary)
    }
}

public struct CaptionerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
