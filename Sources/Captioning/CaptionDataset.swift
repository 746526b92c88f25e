import Foundation

/// One audio–caption pair of a MusCaps-layout dataset.
public struct CaptionEntry: Sendable, Equatable {
    public let trackId: String
    public let raw: String
    public let tokens: [String]
    /// The audio file, when one was found.
    public let audioPath: String?
}

/// A problem with one dataset entry: reported with its track id and skipped, never fatal.
public struct DatasetProblem: Sendable, Equatable, CustomStringConvertible {
    public let trackId: String
    public let reason: String
    public var description: String { "\(trackId): \(reason)" }
}

/// A split of a dataset in the original MusCaps layout: `dataset_{train,val,test}.json`, a list of
/// `{"track_id", "caption": {"raw", "tokens"}}` (optionally `"path"`), audio beside it as
/// `audio/<track_id>.<ext>` (any format the decoder reads, or float32 16 kHz `.npy` as the original repo).
/// Several entries may share a track id: that track then has several reference captions.
public struct CaptionDataset: Sendable {

    public let directory: URL
    public let split: String
    public private(set) var entries: [CaptionEntry]
    public private(set) var problems: [DatasetProblem]

    public static func fileURL(directory: URL, split: String) -> URL {
        directory.appendingPathComponent("dataset_\(split).json")
    }

    /// Reads a split. A missing or malformed JSON file is an error naming the file; bad entries (no
    /// track id, empty caption, no audio when `requireAudio`) are collected in `problems` and skipped.
    public init(directory: URL, split: String, requireAudio: Bool = true) throws {
        self.directory = directory
        self.split = split
        let url = Self.fileURL(directory: directory, split: split)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.unreadable(path: url.path, reason: FileManager.default.fileExists(atPath: url.path) ? "cannot be read" : "no such file")
        }
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw DatasetError.malformed(path: url.path, reason: "expected a JSON list of entries")
        }
        var entries: [CaptionEntry] = [], problems: [DatasetProblem] = []
        var audioCache: [String: String?] = [:]
        for (position, item) in list.enumerated() {
            guard let object = item as? [String: Any] else {
                problems.append(DatasetProblem(trackId: "entry \(position)", reason: "not a JSON object"))
                continue
            }
            guard let trackId = (object["track_id"] as? String) ?? (object["track_id"] as? Int).map(String.init), !trackId.isEmpty else {
                problems.append(DatasetProblem(trackId: "entry \(position)", reason: "no track_id"))
                continue
            }
            let caption = object["caption"] as? [String: Any]
            let raw = (caption?["raw"] as? String) ?? (object["caption"] as? String) ?? ""
            var tokens = (caption?["tokens"] as? [String]) ?? []
            if tokens.isEmpty { tokens = CaptionText.tokenize(raw) }
            tokens = tokens.map { $0.lowercased() }.filter { !$0.isEmpty }
            guard !tokens.isEmpty else {
                problems.append(DatasetProblem(trackId: trackId, reason: "empty caption"))
                continue
            }
            let audio: String?
            if let cached = audioCache[trackId] {
                audio = cached
            } else {
                audio = Self.findAudio(trackId: trackId, explicitPath: object["path"] as? String, directory: directory)
                audioCache[trackId] = audio
            }
            if requireAudio && audio == nil {
                problems.append(DatasetProblem(trackId: trackId, reason: "no audio file (looked for \(object["path"] as? String ?? "audio/\(trackId).{\(CaptioningAudio.fileExtensions.joined(separator: ","))}"))"))
                continue
            }
            entries.append(CaptionEntry(trackId: trackId, raw: raw.isEmpty ? CaptionText.sentence(tokens) : raw, tokens: tokens, audioPath: audio))
        }
        self.entries = entries
        self.problems = problems
    }

    /// Distinct track ids in first-appearance order.
    public var trackIds: [String] {
        var seen = Set<String>()
        return entries.compactMap { seen.insert($0.trackId).inserted ? $0.trackId : nil }
    }

    /// Every reference caption (tokens) of each track.
    public var referencesByTrack: [String: [[String]]] {
        Dictionary(grouping: entries, by: \.trackId).mapValues { $0.map(\.tokens) }
    }

    static func findAudio(trackId: String, explicitPath: String?, directory: URL) -> String? {
        let manager = FileManager.default
        if let explicitPath {
            let url = explicitPath.hasPrefix("/") ? URL(fileURLWithPath: explicitPath) : directory.appendingPathComponent(explicitPath)
            return manager.fileExists(atPath: url.path) ? url.path : nil
        }
        for ext in CaptioningAudio.fileExtensions {
            let url = directory.appendingPathComponent("audio").appendingPathComponent("\(trackId).\(ext)")
            if manager.fileExists(atPath: url.path) { return url.path }
        }
        return nil
    }

    // MARK: Filtering (the paper's cleaning, §IV-A)

    /// What to do with captions that occur more than once in the split.
    public enum DuplicatePolicy: String, Sendable, CaseIterable {
        /// Keep only captions that occur once ("not duplicated across the dataset", the paper's reading).
        case dropAll = "drop-all"
        /// Keep the first occurrence.
        case keepFirst = "keep-first"
        case keep
    }

    /// Keeps captions of `tokenRange` tokens and applies the duplicate policy; returns what was dropped.
    @discardableResult
    public mutating func filterCaptions(tokenRange: ClosedRange<Int> = 3...22, duplicates: DuplicatePolicy = .dropAll) -> [DatasetProblem] {
        var dropped: [DatasetProblem] = []
        var counts: [[String]: Int] = [:]
        for entry in entries { counts[entry.tokens, default: 0] += 1 }
        var seen = Set<[String]>()
        entries = entries.filter { entry in
            guard tokenRange.contains(entry.tokens.count) else {
                dropped.append(DatasetProblem(trackId: entry.trackId, reason: "caption has \(entry.tokens.count) tokens, outside \(tokenRange.lowerBound)–\(tokenRange.upperBound)"))
                return false
            }
            let duplicated = counts[entry.tokens]! > 1
            switch duplicates {
            case .keep: return true
            case .keepFirst:
                if seen.insert(entry.tokens).inserted { return true }
            case .dropAll:
                if !duplicated { return true }
            }
            dropped.append(DatasetProblem(trackId: entry.trackId, reason: "duplicated caption \"\(entry.raw)\""))
            return false
        }
        problems += dropped
        return dropped
    }

    /// Drops entries of the given tracks (e.g. tracks whose audio was too short or unreadable).
    public mutating func remove(tracks: Set<String>) {
        entries.removeAll { tracks.contains($0.trackId) }
    }
}

public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): \(reason)"
        case let .malformed(path, reason): return "\(path): \(reason)"
        }
    }
}
