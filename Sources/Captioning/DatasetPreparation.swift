import Foundation
import NeuralCore

/// `muscaps prepare`: cleans a MusCaps-layout dataset as the paper does and extracts each track's features
/// once into a `FeatureCache`, writing per split a manifest of the pairs that survived. Training then reads
/// only the manifest and the cache.
public struct DatasetPreparation {
    public struct Options: Sendable {
        /// Tracks shorter or longer than this are dropped (paper: 30–360 s).
        public var durationRange: ClosedRange<Double> = 30...360
        /// Captions with fewer or more tokens are dropped (paper: 3–22).
        public var tokenRange: ClosedRange<Int> = 3...22
        public var duplicates: CaptionDataset.DuplicatePolicy = .dropAll
        public init() {}
    }

    public struct Report: Sendable {
        public let split: String
        public var pairs = 0
        public var tracks = 0
        public var extracted = 0
        public var reused = 0
        public var problems: [DatasetProblem] = []
        public let manifest: URL
    }

    public let directory: URL
    public let extractor: TrackFeatureExtractor
    public let options: Options
    public var cache: FeatureCache { FeatureCache(datasetDirectory: directory, extractor: extractor.identifier) }

    public init(directory: URL, extractor: TrackFeatureExtractor, options: Options = Options()) {
        self.directory = directory
        self.extractor = extractor
        self.options = options
    }

    /// Prepares one split. `progress` is called after each track with (done, total, track id).
    public func prepare(split: String, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Report {
        var dataset = try CaptionDataset(directory: directory, split: split)
        var report = Report(split: split, manifest: PreparedSplit.manifestURL(cache: cache, split: split))
        report.problems = dataset.problems
        report.problems += dataset.filterCaptions(tokenRange: options.tokenRange, duplicates: options.duplicates)

        let tracks = dataset.trackIds
        let audioByTrack = Dictionary(dataset.entries.map { ($0.trackId, $0.audioPath) }, uniquingKeysWith: { first, _ in first })
        var rejected = Set<String>()
        for (done, trackId) in tracks.enumerated() {
            defer { progress(done + 1, tracks.count, trackId) }
            guard let audioPath = audioByTrack[trackId] ?? nil else { continue }
            let features: TrackFeatures
            if let cached = cache.load(trackId: trackId, audioPath: audioPath) {
                features = cached
                report.reused += 1
            } else {
                do {
                    features = try extractor.extract(trackId: trackId, audioPath: audioPath)
                } catch {
                    report.problems.append(DatasetProblem(trackId: trackId, reason: "\(error)"))
                    rejected.insert(trackId)
                    continue
                }
                try cache.store(features, audioPath: audioPath)
                report.extracted += 1
            }
            if !options.durationRange.contains(features.duration) {
                report.problems.append(DatasetProblem(trackId: trackId, reason: String(format: "track is %.1f s long, outside %.0f–%.0f s", features.duration, options.durationRange.lowerBound, options.durationRange.upperBound)))
                rejected.insert(trackId)
            }
        }
        dataset.remove(tracks: rejected)
        report.pairs = dataset.entries.count
        report.tracks = dataset.trackIds.count
        try PreparedSplit.writeManifest(dataset: dataset, extractor: extractor.identifier, dimension: extractor.dimension,
                                        problems: report.problems, to: report.manifest)
        return report
    }
}

/// A prepared split in memory: the caption pairs and the features of their tracks.
public struct PreparedSplit: Sendable {
    public struct Pair: Sendable {
        public let trackIndex: Int
        public let tokens: [String]
        public let raw: String
    }

    public let split: String
    public let extractor: String
    public let tracks: [TrackFeatures]
    public let pairs: [Pair]
    public var featureDimension: Int { tracks.first?.features.shape[1] ?? 0 }

    /// Reference captions (tokens) of each track, in track order.
    public var references: [[[String]]] {
        var result = [[[String]]](repeating: [], count: tracks.count)
        for pair in pairs { result[pair.trackIndex].append(pair.tokens) }
        return result
    }

    static func manifestURL(cache: FeatureCache, split: String) -> URL {
        cache.directory.appendingPathComponent("manifest_\(split).json")
    }

    static func writeManifest(dataset: CaptionDataset, extractor: String, dimension: Int, problems: [DatasetProblem], to url: URL) throws {
        let object: [String: Any] = [
            "split": dataset.split, "extractor": extractor, "feature_dimension": dimension,
            "entries": dataset.entries.map { ["track_id": $0.trackId, "raw": $0.raw, "tokens": $0.tokens] as [String: Any] },
            "problems": problems.map { ["track_id": $0.trackId, "reason": $0.reason] },
        ]
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
    }

    /// Loads a split prepared by `DatasetPreparation` (no audio is read).
    public init(datasetDirectory: URL, extractor: String, split: String) throws {
        let cache = FeatureCache(datasetDirectory: datasetDirectory, extractor: extractor)
        let url = Self.manifestURL(cache: cache, split: split)
        guard let data = try? Data(contentsOf: url) else {
            throw DatasetError.unreadable(path: url.path, reason: "no prepared split here; run `muscaps prepare \(datasetDirectory.path)` first")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let entries = object["entries"] as? [[String: Any]] else {
            throw DatasetError.malformed(path: url.path, reason: "not a prepared-split manifest")
        }
        var trackIndex: [String: Int] = [:], tracks: [TrackFeatures] = [], pairs: [Pair] = []
        for entry in entries {
            guard let trackId = entry["track_id"] as? String, let tokens = entry["tokens"] as? [String] else {
                throw DatasetError.malformed(path: url.path, reason: "entry without track_id or tokens")
            }
            if trackIndex[trackId] == nil {
                guard let features = cache.load(trackId: trackId, audioPath: nil) else {
                    throw DatasetError.unreadable(path: cache.url(for: trackId).path, reason: "features of track \(trackId) are missing or corrupt; run `muscaps prepare` again")
                }
                trackIndex[trackId] = tracks.count
                tracks.append(features)
            }
            pairs.append(Pair(trackIndex: trackIndex[trackId]!, tokens: tokens, raw: entry["raw"] as? String ?? tokens.joined(separator: " ")))
        }
        self.split = split
        self.extractor = extractor
        self.tracks = tracks
        self.pairs = pairs
    }
}
