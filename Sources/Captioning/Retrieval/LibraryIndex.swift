import Foundation
import NeuralCore
import ThreadSupport

/// A searchable music library: the musicnn window features of every audio file under a folder.
///
/// Format — two files side by side:
/// - `NAME` (e.g. `lib.idx`): a JSON manifest
///   `{"format": "muscaps-live.library-index.v1", "extractor": "musicnn-mtt", "feature_dimension": 753,
///     "root": "/abs/dir", "features_file": "lib.idx.safetensors", "features_id": UUID, "feature_rows": N,
///     "entries": [{"path", "signature", "duration", "offset", "chunks"}], "problems": [{"path", "reason"}]}`;
///   `signature` is "size@mtime-ms" of the audio when it was indexed, `offset`/`chunks` its rows.
/// - `NAME.safetensors`: one float32 tensor `features` `[N, feature_dimension]` (every file's windows, in
///   entry order), its metadata holding the same `features_id`.
///
/// The id ties the two files together: a manifest whose features file is missing or from another write
/// is reported as inconsistent.
public struct LibraryIndex: Sendable {
    public static let formatName = "muscaps-live.library-index.v1"
    public static let audioExtensions = Set(CaptioningAudio.fileExtensions)

    public struct Entry: Codable, Sendable, Equatable {
        public var path: String
        public var signature: String
        public var duration: Double
        public var offset: Int
        public var chunks: Int
        public init(path: String, signature: String, duration: Double, offset: Int, chunks: Int) {
            self.path = path
            self.signature = signature
            self.duration = duration
            self.offset = offset
            self.chunks = chunks
        }
    }

    /// A file that could not be indexed; with its signature it is not retried until it changes.
    public struct Problem: Codable, Sendable, Equatable {
        public var path: String
        public var reason: String
        public var signature: String?
        public init(path: String, reason: String, signature: String? = nil) {
            self.path = path
            self.reason = reason
            self.signature = signature
        }
    }

    public var root: String
    public var extractor: String
    public var dimension: Int
    public var entries: [Entry] = []
    /// `[rows, dimension]`.
    public var features: [Float] = []
    public var problems: [Problem] = []

    public init(root: String, extractor: String, dimension: Int) {
        self.root = root
        self.extractor = extractor
        self.dimension = dimension
    }

    public static func featuresURL(for url: URL) -> URL { url.appendingPathExtension("safetensors") }

    /// The features of entry `index`, `[chunks, dimension]`.
    public func features(of index: Int) -> Tensor {
        let e = entries[index]
        return Tensor(shape: [e.chunks, dimension], scalars: Array(features[(e.offset * dimension)..<((e.offset + e.chunks) * dimension)]))
    }

    public var allFeatures: [Tensor] { entries.indices.map(features(of:)) }

    private struct Manifest: Codable {
        var format: String
        var extractor: String
        var feature_dimension: Int
        var root: String
        var features_file: String
        var features_id: String
        var feature_rows: Int
        var entries: [Entry]
        var problems: [Problem]
    }

    /// Loads an index; every problem (missing, not an index, inconsistent files) is one line naming the file.
    public static func load(_ url: URL) throws -> LibraryIndex {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw LibraryIndexError(path: url.path, reason: "no such index; create it with `muscaps index DIR --out \(url.lastPathComponent)`")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url)) } catch {
            throw LibraryIndexError(path: url.path, reason: "not a muscaps library index")
        }
        guard manifest.format == formatName else {
            throw LibraryIndexError(path: url.path, reason: "unsupported index format '\(manifest.format)' (expected \(formatName))")
        }
        let featuresURL = url.deletingLastPathComponent().appendingPathComponent(manifest.features_file)
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: featuresURL) } catch {
            throw LibraryIndexError(path: url.path, reason: "its features file cannot be read (\(error)); re-run `muscaps index`")
        }
        guard file.metadata["features_id"] == manifest.features_id else {
            throw LibraryIndexError(path: url.path, reason: "\(featuresURL.lastPathComponent) belongs to another version of the index (interrupted while saving?); re-run `muscaps index`")
        }
        var index = LibraryIndex(root: manifest.root, extractor: manifest.extractor, dimension: manifest.feature_dimension)
        if manifest.feature_rows > 0 {
            let tensor = try file.finiteTensor("features", shape: [manifest.feature_rows, manifest.feature_dimension])
            index.features = tensor.scalars
        }
        for e in manifest.entries where e.chunks < 1 || e.offset < 0 || e.offset + e.chunks > manifest.feature_rows {
            throw LibraryIndexError(path: url.path, reason: "entry \(e.path) points outside the features (rows \(e.offset)..<\(e.offset + e.chunks) of \(manifest.feature_rows))")
        }
        index.entries = manifest.entries
        index.problems = manifest.problems
        return index
    }

    /// Writes the features file, then the manifest (both atomically).
    public func save(to url: URL) throws {
        let id = UUID().uuidString
        let rows = features.count / max(dimension, 1)
        let featuresURL = Self.featuresURL(for: url)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SafetensorsWriter.write(tensors: rows > 0 ? [("features", Tensor(shape: [rows, dimension], scalars: features))] : [],
                                    metadata: ["features_id": id, "format": Self.formatName], to: featuresURL)
        let manifest = Manifest(format: Self.formatName, extractor: extractor, feature_dimension: dimension, root: root,
                                features_file: featuresURL.lastPathComponent, features_id: id, feature_rows: rows,
                                entries: entries, problems: problems)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: url, options: .atomic)
    }

    /// "size@mtime-ms" of a file, nil if it cannot be read.
    public static func signature(of path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber, let modified = attributes[.modificationDate] as? Date else { return nil }
        return "\(size.int64Value)@\(Int64((modified.timeIntervalSince1970 * 1000).rounded()))"
    }

    /// Audio files under `directory` (recursively, hidden files skipped), sorted by path.
    public static func audioFiles(under directory: URL) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LibraryIndexError(path: directory.path, reason: "not a directory")
        }
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey],
                                                              options: [.skipsHiddenFiles]) else {
            throw LibraryIndexError(path: directory.path, reason: "cannot be listed")
        }
        var files: [String] = []
        for case let url as URL in enumerator where audioExtensions.contains(url.pathExtension.lowercased()) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(url.standardizedFileURL.path) }
        }
        return files.sorted()
    }
}

public struct LibraryIndexError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// Builds or updates a `LibraryIndex` incrementally: files whose size and modification time are unchanged
/// keep their features; new and changed files are analysed; files that disappeared are dropped. Progress
/// is saved every `saveInterval` seconds, so an interrupted run keeps most of its work.
public struct LibraryIndexer {
    public struct Report: Sendable {
        public var added = 0, updated = 0, unchanged = 0, removed = 0
        public var problems: [LibraryIndex.Problem] = []
        public var entries = 0
        /// Whether an existing index could not be read and was rebuilt from scratch (and why).
        public var rebuiltBecause: String?
    }

    public let extractor: TrackFeatureExtractor
    public var saveInterval: TimeInterval = 60

    public init(extractor: TrackFeatureExtractor) { self.extractor = extractor }

    /// Indexes `directory` into `url`. `progress(done, total, path)` is called as files are analysed
    /// (only files that need analysis count).
    public func update(index url: URL, directory: URL, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Report {
        var report = Report()
        let files = try LibraryIndex.audioFiles(under: directory)
        var old: LibraryIndex?
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                let loaded = try LibraryIndex.load(url)
                if loaded.extractor == extractor.identifier && loaded.dimension == extractor.dimension {
                    old = loaded
                } else {
                    report.rebuiltBecause = "it was made with \(loaded.extractor), not \(extractor.identifier)"
                }
            } catch {
                report.rebuiltBecause = "\(error)"
            }
        }
        var previous: [String: Int] = [:], failed: [String: LibraryIndex.Problem] = [:]
        if let old {
            for (i, e) in old.entries.enumerated() { previous[e.path] = i }
            for p in old.problems where p.signature != nil { failed[p.path] = p }
        }

        var index = LibraryIndex(root: directory.standardizedFileURL.path, extractor: extractor.identifier, dimension: extractor.dimension)
        var pending: [(path: String, signature: String, replaces: Bool)] = []
        for path in files {
            guard let signature = LibraryIndex.signature(of: path) else {
                report.problems.append(.init(path: path, reason: "cannot be read"))
                continue
            }
            if let problem = failed[path], problem.signature == signature {
                report.problems.append(problem)
                report.unchanged += 1
            } else if let old, let i = previous[path], old.entries[i].signature == signature {
                append(&index, path: path, signature: signature, duration: old.entries[i].duration, features: old.features(of: i).scalars)
                report.unchanged += 1
            } else {
                pending.append((path, signature, previous[path] != nil))
            }
        }
        let kept = Set(files)
        report.removed = old?.entries.filter { !kept.contains($0.path) }.count ?? 0

        var lastSave = Monotonic.now()
        for (done, file) in pending.enumerated() {
            defer { progress(done + 1, pending.count, file.path) }
            do {
                let track = try extractor.extract(trackId: file.path, audioPath: file.path)
                guard track.chunkCount > 0 else { throw LibraryIndexError(path: file.path, reason: "no audio") }
                append(&index, path: file.path, signature: file.signature, duration: track.duration, features: track.features.scalars)
                if file.replaces { report.updated += 1 } else { report.added += 1 }
            } catch {
                report.problems.append(.init(path: file.path, reason: "\(error)", signature: file.signature))
            }
            if Monotonic.secondsSince(lastSave) > saveInterval {
                index.problems = report.problems
                try index.save(to: url)
                lastSave = Monotonic.now()
            }
        }
        // Entries in path order, whatever order they were analysed in.
        let order = index.entries.indices.sorted { index.entries[$0].path < index.entries[$1].path }
        var sorted = LibraryIndex(root: index.root, extractor: index.extractor, dimension: index.dimension)
        for i in order { append(&sorted, path: index.entries[i].path, signature: index.entries[i].signature, duration: index.entries[i].duration, features: index.features(of: i).scalars) }
        sorted.problems = report.problems
        try sorted.save(to: url)
        report.entries = sorted.entries.count
        return report
    }

    private func append(_ index: inout LibraryIndex, path: String, signature: String, duration: Double, features: [Float]) {
        let rows = features.count / index.dimension
        index.entries.append(.init(path: path, signature: signature, duration: duration, offset: index.features.count / index.dimension, chunks: rows))
        index.features.append(contentsOf: features)
    }
}
