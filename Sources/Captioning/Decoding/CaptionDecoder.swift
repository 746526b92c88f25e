import NeuralCore

/// Greedy or beam-search decoding behind one interface — the one place that checks a beam width and
/// picks the decoder, for `muscaps caption/eval` and `muscapsd` alike: width 1 decodes greedily (the
/// cheaper loop, several tracks per step), wider widths run beam search.
public enum CaptionDecoder: CustomStringConvertible {
    case greedy(GreedyDecoder)
    case beam(BeamSearchDecoder)

    /// Beam widths accepted everywhere. Past 16 the validation scores no longer move (docs/RESULTS.md
    /// compares 1, 3 and 5) while the cost grows linearly, which matters for the live daemon.
    public static let beamWidths = 1...16

    /// Throws `DecoderSettingsError` unless `width` is in `beamWidths`.
    public static func validate(beamWidth width: Int) throws {
        guard beamWidths.contains(width) else { throw DecoderSettingsError(message: "beam must be between \(beamWidths.lowerBound) and \(beamWidths.upperBound), got \(width)") }
    }

    /// - Parameters:
    ///   - maxTracks: tracks a greedy decoder decodes per step (beam search takes one at a time).
    ///   - maxChunks: chunks per track the decoder state holds at first (it grows on demand).
    public init(model: MusCapsModel, beamWidth: Int, maxLength: Int = DecodingDefaults.maxLength, maxTracks: Int = 1, maxChunks: Int = 128) throws {
        try Self.validate(beamWidth: beamWidth)
        guard maxLength >= 1 else { throw DecoderSettingsError(message: "the maximum caption length must be at least 1, got \(maxLength)") }
        self = beamWidth == 1
            ? .greedy(GreedyDecoder(model: model, maxLength: maxLength, maxTracks: max(1, maxTracks), maxChunks: maxChunks))
            : .beam(BeamSearchDecoder(model: model, beamWidth: beamWidth, maxLength: maxLength, maxChunks: maxChunks))
    }

    public var beamWidth: Int {
        switch self {
        case .greedy: return 1
        case let .beam(decoder): return decoder.beamWidth
        }
    }

    /// "greedy" or "beam N", for reports.
    public var description: String { beamWidth == 1 ? "greedy" : "beam \(beamWidth)" }

    /// One track's chunk features, `[chunkCount, k]` row-major. Allocates only the returned caption.
    public func decode(features: UnsafeBufferPointer<Float>, chunkCount: Int) throws -> DecodedCaption {
        switch self {
        case let .greedy(decoder): return try decoder.decode(features: features, chunkCount: chunkCount)
        case let .beam(decoder): return try decoder.decode(features: features, chunkCount: chunkCount)
        }
    }

    public func decode(_ tracks: [Tensor]) throws -> [DecodedCaption] {
        switch self {
        case let .greedy(decoder): return try decoder.decode(tracks)
        case let .beam(decoder): return try decoder.decode(tracks)
        }
    }

    public func decode(_ track: Tensor) throws -> DecodedCaption { try decode([track])[0] }
}

/// A beam width or caption length out of range.
public struct DecoderSettingsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}
