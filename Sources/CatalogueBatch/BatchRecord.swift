import Foundation

/// What a batch computes for each track (fixed for an output folder: a restarted or sharded job must ask
/// for the same, or the folder would mix different results).
public struct BatchTasks: Codable, Equatable, Sendable {
    /// Top tags of every 2.99 s window.
    public var tags = false
    /// Top tags of the whole track (mean tag probabilities over its non-silent windows).
    public var summary = false
    /// One caption of the whole track.
    public var caption = false
    /// Rolling captions every `every` seconds of the last `context` seconds.
    public var every: Double?
    public var context: Double = 10
    /// max_pool features of every window, for `muscaps index merge`.
    public var features = false
    /// Tags listed per window or summary.
    public var top = 5
    /// Decoding.
    public var beam = 3
    public var maxLength = 22
    /// Results in one file per track (`tracks/<id>.json`) instead of inline in the JSON Lines.
    public var perTrack = false

    public init() {}

    public var needsCaptioner: Bool { caption || every != nil }
    public var isEmpty: Bool { !tags && !summary && !caption && every == nil && !features }

    enum CodingKeys: String, CodingKey {
        case tags, summary, caption, every, context, features, top, beam
        case maxLength = "max_length", perTrack = "per_track"
    }
}

/// A model file, identified by the SHA-256 of its bytes (the name is for people; paths differ between machines).
public struct ModelIdentity: Codable, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var sha256: String
    public init(name: String, sha256: String) {
        self.name = name
        self.sha256 = sha256
    }
    public var description: String { "\(name) (sha256 \(sha256.prefix(12))…)" }
}

public struct BatchModels: Codable, Equatable, Sendable {
    /// The musicnn tagger (also the feature extractor of captions and index), e.g. "musicnn-mtt".
    public var extractor: String
    public var tagger: ModelIdentity
    public var captioner: ModelIdentity?
    public init(extractor: String, tagger: ModelIdentity, captioner: ModelIdentity?) {
        self.extractor = extractor
        self.tagger = tagger
        self.captioner = captioner
    }

    /// Same weights (names may differ).
    public func sameModels(as other: BatchModels) -> Bool {
        extractor == other.extractor && tagger.sha256 == other.tagger.sha256 && captioner?.sha256 == other.captioner?.sha256
    }
}

/// `batch.json` in an output folder: what every shard writing there must agree on.
public struct BatchSettings: Codable, Equatable, Sendable {
    public static let formatName = "muscaps-live.batch.v1"
    public var format = formatName
    public var shards: Int
    public var tasks: BatchTasks
    public var models: BatchModels

    public init(shards: Int, tasks: BatchTasks, models: BatchModels) {
        self.shards = shards
        self.tasks = tasks
        self.models = models
    }

    /// Why `other` cannot write into a folder made with `self` (nil: it can).
    public func incompatibility(with other: BatchSettings) -> String? {
        if format != other.format { return "format \(format) vs \(other.format)" }
        if shards != other.shards { return "\(shards) shards vs \(other.shards)" }
        if tasks != other.tasks { return "different tasks (\(Self.text(tasks)) vs \(Self.text(other.tasks)))" }
        if !models.sameModels(as: other.models) {
            return "different models (tagger \(models.tagger), captioner \(models.captioner?.description ?? "none") vs tagger \(other.models.tagger), captioner \(other.models.captioner?.description ?? "none"))"
        }
        return nil
    }

    static func text<T: Encodable>(_ value: T) -> String {
        (try? String(decoding: BatchJSON.encoder.encode(value), as: UTF8.self)) ?? "?"
    }
}

public struct RankedTag: Codable, Equatable, Sendable {
    public var tag: String
    public var probability: Double
}

public struct WindowTags: Codable, Equatable, Sendable {
    public var start: Double
    public var end: Double
    public var silent: Bool?
    public var tags: [RankedTag]
}

public struct CaptionResult: Codable, Equatable, Sendable {
    public var start: Double
    public var end: Double
    /// nil for a span that is entirely silent.
    public var text: String?
    public var logProb: Double?
    public var finished: Bool?
    public var silent: Bool?

    enum CodingKeys: String, CodingKey {
        case start, end, text, finished, silent
        case logProb = "log_prob"
    }
}

/// One line of a batch's JSON Lines output: one track, done or failed.
public struct BatchRecord: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable { case done, failed }

    public var path: String
    /// The skip key "size@mtime-ms" of the file when it was processed (nil if it could not be read).
    public var key: String?
    public var status: Status
    public var error: String?
    /// SHA-256 of the file's bytes.
    public var sha256: String?
    /// Seconds of audio.
    public var duration: Double?
    public var models: BatchModels
    public var summary: [RankedTag]?
    /// The whole track is below the silence threshold (no summary tags).
    public var silent: Bool?
    public var windows: [WindowTags]?
    public var caption: CaptionResult?
    public var captions: [CaptionResult]?
    /// The features file (relative to the output folder) and its rows.
    public var features: String?
    public var featureRows: Int?
    /// With per-track output: the file (relative to the output folder) that holds this record with its results.
    public var file: String?

    public init(path: String, key: String?, status: Status, models: BatchModels) {
        self.path = path
        self.key = key
        self.status = status
        self.models = models
    }

    enum CodingKeys: String, CodingKey {
        case path, key, status, error, sha256, duration, models, summary, silent, windows, caption, captions, features, file
        case featureRows = "feature_rows"
    }

    /// The record without its results (what the journal holds with per-track output).
    public var withoutResults: BatchRecord {
        var copy = self
        copy.summary = nil
        copy.silent = nil
        copy.windows = nil
        copy.caption = nil
        copy.captions = nil
        return copy
    }

    /// A track's file stem: the first 20 hex digits of SHA-256(path) (unique, and the same on every machine).
    public static func fileStem(for path: String) -> String { String(SHA256.hex(of: path).prefix(20)) }
}

/// One JSON text per value, keys sorted: the same bytes for the same result on every run and machine.
public enum BatchJSON {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func line<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
