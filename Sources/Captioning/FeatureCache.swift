import AudioIO
import Foundation
import MusicTagging
import NeuralCore

/// Audio features of one track: one row per non-overlapping window of the extractor (musicnn 2.992 s,
/// Harmonic CNN 5 s).
public struct TrackFeatures: Sendable {
    public let trackId: String
    /// `[chunks, dimension]`.
    public let features: Tensor
    /// Length of the audio in seconds.
    public let duration: Double
    /// `[chunks, tags]`: musicnn's tag probabilities per window, computed with the features at no extra
    /// cost and kept for the tag-template baseline; nil in caches written before it was stored.
    public let taggram: Tensor?
    public var chunkCount: Int { features.shape[0] }

    public init(trackId: String, features: Tensor, duration: Double, taggram: Tensor? = nil) {
        self.trackId = trackId
        self.features = features
        self.duration = duration
        self.taggram = taggram
    }
}

/// Computes track features as the reference's `CNNEncoder` does for musicnn: the audio is cut into
/// non-overlapping 3 s chunks (musicnn's 187-frame windows, the trailing partial chunk dropped) and each
/// chunk gives the 753-d `max_pool` of musicnn's feature map. The same windower and network serve the
/// live daemon, so training and live captioning see the same features.
public final class TrackFeatureExtractor {
    public let tagger: any WindowTagger
    /// Identifies the extractor in cache paths and checkpoints, e.g. "musicnn-mtt", "hcnn-mtt".
    public let identifier: String
    /// Values per window: 753 (musicnn `max_pool`), 256 (Harmonic CNN embedding).
    public var dimension: Int { tagger.featureSize }

    public init(tagger: any WindowTagger, identifier: String) {
        precondition(tagger.hopSeconds == tagger.windowSeconds, "features are computed on non-overlapping windows")
        self.tagger = tagger
        self.identifier = identifier
    }

    /// The extractor of features `identifier` names (see `WindowTaggers.make(extractorId:)`).
    public convenience init(identifier: String, hcnnWeights: String? = nil, workers: Int = 1) throws {
        self.init(tagger: try WindowTaggers.make(extractorId: identifier, hcnnWeights: hcnnWeights, workers: workers), identifier: identifier)
    }

    public func extract(trackId: String, audioPath: String) throws -> TrackFeatures {
        var rows: [Float] = []
        var tagRows: [Float] = []
        let collect: (AnalysisWindow, any WindowOutput) -> Void = { _, output in
            rows.append(contentsOf: output.featureBuffer)
            tagRows.append(contentsOf: output.taggramBuffer)
        }
        let duration = try CaptioningAudio.analyze(audioPath, with: tagger, body: collect).duration
        let chunks = rows.count / dimension
        return TrackFeatures(trackId: trackId, features: Tensor(shape: [chunks, dimension], scalars: rows), duration: duration,
                             taggram: chunks > 0 ? Tensor(shape: [chunks, tagRows.count / chunks], scalars: tagRows) : nil)
    }
}

/// Track features cached on disk, one safetensors file per track under
/// `<dataset>/features/<extractor>/`, each remembering the size and modification time of the audio it
/// came from: re-running `prepare` recomputes only new or changed tracks.
public struct FeatureCache: Sendable {
    public let directory: URL

    public init(datasetDirectory: URL, extractor: String) {
        directory = datasetDirectory.appendingPathComponent("features").appendingPathComponent(extractor)
    }

    public init(directory: URL) { self.directory = directory }

    /// A file name for any track id: percent-encodes everything but letters, digits, `-`, `_` and `.`.
    public func url(for trackId: String) -> URL {
        var name = ""
        for byte in trackId.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)))) || "-_.".unicodeScalars.contains(scalar), !(name.isEmpty && byte == UInt8(ascii: ".")) {
                name.unicodeScalars.append(scalar)
            } else {
                name += String(format: "%%%02X", byte)
            }
        }
        return directory.appendingPathComponent(name + ".safetensors")
    }

    static func signature(of audioPath: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: audioPath),
              let size = attributes[.size] as? NSNumber, let modified = attributes[.modificationDate] as? Date else { return nil }
        return "\(size.int64Value)@\(Int64((modified.timeIntervalSince1970 * 1000).rounded()))"
    }

    /// The cached features, if present, readable and made from the audio as it is now. With an
    /// `audioPath` (preparing), an entry without the taggram counts as stale so it is recomputed.
    public func load(trackId: String, audioPath: String?) -> TrackFeatures? {
        guard let file = try? SafetensorsFile(contentsOf: url(for: trackId)),
              let features = try? file.finiteTensor("features"), features.rank == 2, features.shape[0] > 0 else { return nil }
        let taggram = (try? file.finiteTensor("taggram")).flatMap { $0.rank == 2 && $0.shape[0] == features.shape[0] ? $0 : nil }
        if let audioPath, file.metadata["source_signature"] != Self.signature(of: audioPath) || taggram == nil { return nil }
        return TrackFeatures(trackId: trackId, features: features, duration: Double(file.metadata["duration"] ?? "") ?? 0, taggram: taggram)
    }

    public func store(_ track: TrackFeatures, audioPath: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SafetensorsWriter.write(
            tensors: [("features", track.features)] + (track.taggram.map { [("taggram", $0)] } ?? []),
            metadata: ["track_id": track.trackId, "source": audioPath, "source_signature": Self.signature(of: audioPath) ?? "",
                       "duration": String(track.duration)],
            to: url(for: track.trackId))
    }
}
