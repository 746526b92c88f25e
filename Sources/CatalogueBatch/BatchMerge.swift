import Captioning
import Foundation
import MusicTagging
import NeuralCore

/// Combines the shard outputs of a batch (one or more output folders) into one result, after checking:
/// - every folder was made with the same settings and models (`batch.json`), and every record names
///   those models;
/// - every shard `0..<n` has its journal, in exactly one folder;
/// - every track of the catalogue has exactly one record, in the shard its path hashes to, and no record
///   is for a track outside the catalogue.
/// Any failed check refuses the merge with a message naming the tracks or files (the first few, and how many).
///
/// Memory: one entry per track (its path and where its line is), never the results.
public struct BatchMerge {
    public struct Location {
        var journal: Int
        var offset: off_t
        var length: Int
    }

    public let settings: BatchSettings
    /// Journal files by shard index.
    public let journals: [URL]
    /// The output folder of each journal (record files are relative to it).
    public let folders: [URL]
    /// Every track, sorted by path.
    public let paths: [String]
    let locations: [String: Location]
    public let failedCount: Int

    public static func check(directories: [URL], catalogue: Catalogue) throws -> BatchMerge {
        guard !directories.isEmpty else { throw BatchError("give at least one batch output folder") }
        let first = try BatchRunner.readSettings(directory: directories[0])
        for directory in directories.dropFirst() {
            let other = try BatchRunner.readSettings(directory: directory)
            if let problem = first.incompatibility(with: other) {
                throw BatchError("merge refused: \(directories[0].path) and \(directory.path) were made with other settings (\(problem))")
            }
        }
        let count = first.shards
        var journalOfShard = [URL?](repeating: nil, count: count)
        var folderOfShard = [URL?](repeating: nil, count: count)
        for directory in directories {
            for index in 0..<count {
                let url = directory.appendingPathComponent(try Shard(index: index, count: count).fileStem + ".jsonl")
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                if let previous = journalOfShard[index] {
                    throw BatchError("merge refused: shard \(index)/\(count) has output in two places (\(previous.path) and \(url.path))")
                }
                journalOfShard[index] = url
                folderOfShard[index] = directory
            }
        }
        let missingShards = (0..<count).filter { journalOfShard[$0] == nil }
        if !missingShards.isEmpty {
            throw BatchError("merge refused: \(missingShards.count) of \(count) shards have no output (\(listed(missingShards.map { "batch-\(String(format: "%04d", $0))-of-\(String(format: "%04d", count)).jsonl" }))); run them (with --shard I/\(count)) first")
        }

        var locations: [String: Location] = [:]
        var failedPaths = Set<String>()
        var duplicates: [String] = [], misplaced: [String] = [], wrongModels: [String] = []
        for (index, journal) in journalOfShard.enumerated() {
            guard let journal else { continue }
            var lineNumber = 0
            try BatchJournal.forEachLine(of: journal.path, { line, end in
                lineNumber += 1
                let record: BatchRecord
                do { record = try JSONDecoder().decode(BatchRecord.self, from: line) } catch {
                    throw BatchError("merge refused: \(journal.path) line \(lineNumber) is not a batch record")
                }
                let location = Location(journal: index, offset: end - off_t(line.count + 1), length: line.count)
                if let existing = locations[record.path], existing.journal != index { duplicates.append(record.path) }
                // A later line of the same journal supersedes an earlier one (an interrupted compaction).
                locations[record.path] = location
                if record.status == .failed { failedPaths.insert(record.path) } else { failedPaths.remove(record.path) }
                if Shard.index(of: record.path, count: count) != index { misplaced.append(record.path) }
                if !record.models.sameModels(as: first.models) { wrongModels.append(record.path) }
            }, torn: { _ in })
        }
        if !wrongModels.isEmpty {
            throw BatchError("merge refused: \(wrongModels.count) records were made with other models than \(first.models.tagger)/\(first.models.captioner?.description ?? "no captioner") (\(listed(wrongModels)))")
        }
        if !duplicates.isEmpty { throw BatchError("merge refused: \(duplicates.count) tracks have results in two shards (\(listed(duplicates)))") }
        if !misplaced.isEmpty { throw BatchError("merge refused: \(misplaced.count) records are in a shard their path does not belong to (\(listed(misplaced)))") }

        var seen = Set<String>()
        var missing: [String] = []
        try catalogue.forEachTrack { path in
            if locations[path] == nil { missing.append(path) } else { seen.insert(path) }
        }
        if !missing.isEmpty {
            throw BatchError("merge refused: \(missing.count) tracks of the catalogue have no result (\(listed(missing))); run their shards again to finish them")
        }
        let extra = locations.keys.filter { !seen.contains($0) }.sorted()
        if !extra.isEmpty {
            throw BatchError("merge refused: \(extra.count) results are for tracks not in the catalogue \(catalogue.description) (\(listed(extra)))")
        }
        return BatchMerge(settings: first, journals: journalOfShard.map { $0! }, folders: folderOfShard.map { $0! },
                          paths: locations.keys.sorted(), locations: locations, failedCount: failedPaths.count)
    }

    /// Every record in path order with the folder its relative file names are relative to.
    public func forEachRecord(_ body: (BatchRecord, URL) throws -> Void) throws {
        let handles = try journals.map { url -> FileHandle in
            guard let handle = FileHandle(forReadingAtPath: url.path) else { throw BatchError("\(url.path): cannot be read") }
            return handle
        }
        defer { handles.forEach { try? $0.close() } }
        for path in paths {
            let location = locations[path]!
            try handles[location.journal].seek(toOffset: UInt64(location.offset))
            let line = try handles[location.journal].read(upToCount: location.length) ?? Data()
            var record = try JSONDecoder().decode(BatchRecord.self, from: line)
            let folder = folders[location.journal]
            if let file = record.file {
                // Per-track output: the full record with its results.
                guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(file).path) else {
                    throw BatchError("\(folder.appendingPathComponent(file).path): missing (the result file of \(path))")
                }
                record = try JSONDecoder().decode(BatchRecord.self, from: data)
            }
            try body(record, folder)
        }
    }

    /// Writes every record as JSON Lines in path order to `url` (atomically). File references
    /// (`features`, `file`) are rewritten relative to `url`'s folder.
    public func writeJSONLines(to url: URL) throws {
        let outputFolder = url.deletingLastPathComponent().standardizedFileURL
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        let temporary = outputFolder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        FileManager.default.createFile(atPath: temporary.path, contents: nil)
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try forEachRecord { record, folder in
                var record = record
                record.features = record.features.map { Self.relativePath(of: folder.appendingPathComponent($0), from: outputFolder) }
                record.file = record.file.map { Self.relativePath(of: folder.appendingPathComponent($0), from: outputFolder) }
                try handle.write(contentsOf: Data((try BatchJSON.line(record) + "\n").utf8))
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        guard rename(temporary.path, url.path) == 0 else { throw BatchError("\(url.path): cannot be written (\(String(cString: strerror(errno))))") }
    }

    /// Builds one searchable `LibraryIndex` from the features of every track (failed tracks become the
    /// index's problems, with their skip key, so `muscaps index` will not retry them until they change).
    public func makeIndex(root: String) throws -> LibraryIndex {
        guard settings.tasks.features else {
            throw BatchError("the batch did not compute features; run it with --features to build an index")
        }
        var index = LibraryIndex(root: root, extractor: settings.models.extractor, dimension: Musicnn.featureChannels)
        try forEachRecord { record, folder in
            guard record.status == .done, let name = record.features else {
                index.problems.append(.init(path: record.path, reason: record.error ?? "no features", signature: record.key))
                return
            }
            let url = folder.appendingPathComponent(name)
            let file: SafetensorsFile
            do { file = try SafetensorsFile(contentsOf: url) } catch {
                throw BatchError("\(url.path): the features of \(record.path) cannot be read (\(error))")
            }
            let rows = record.featureRows ?? 0
            let tensor = try file.finiteTensor("features", shape: [rows, index.dimension])
            index.entries.append(.init(path: record.path, signature: record.key ?? "", duration: record.duration ?? 0,
                                       offset: index.features.count / index.dimension, chunks: rows))
            index.features.append(contentsOf: tensor.scalars)
        }
        return index
    }

    static func relativePath(of target: URL, from folder: URL) -> String {
        let targetParts = target.standardizedFileURL.pathComponents, folderParts = folder.standardizedFileURL.pathComponents
        var common = 0
        while common < min(targetParts.count, folderParts.count) && targetParts[common] == folderParts[common] { common += 1 }
        let ups = [String](repeating: "..", count: folderParts.count - common)
        return (ups + Array(targetParts[common...])).joined(separator: "/")
    }

    static func listed(_ items: [String], limit: Int = 5) -> String {
        items.prefix(limit).joined(separator: ", ") + (items.count > limit ? ", … \(items.count - limit) more" : "")
    }
}
