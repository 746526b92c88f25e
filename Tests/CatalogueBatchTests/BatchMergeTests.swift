import Captioning
@testable import CatalogueBatch
import Foundation
import MusicTagging
import XCTest

final class BatchMergeTests: XCTestCase {
    let models = BatchRunTests.models

    func options(_ out: URL, shard: Shard) -> BatchRunner.Options {
        var tasks = BatchTasks()
        tasks.summary = true
        tasks.features = true
        var options = BatchRunner.Options(outputDirectory: out, shard: shard, tasks: tasks)
        options.workers = 2
        return options
    }

    /// Three shards in one folder merge to exactly the single-process result, and the merged index
    /// equals what `muscaps index` builds from the same folder.
    func testShardsMergeToTheSingleRunAndIndex() throws {
        // No digital silence here: `muscaps index` indexes it, a batch records it as failed.
        let clips = try ClipFolder(clips: 6, silent: false)
        let single = try temporaryFolder(), sharded = try temporaryFolder()
        defer { [single, sharded].forEach { try? FileManager.default.removeItem(at: $0) } }
        let catalogue = try Catalogue.open(clips.url.path)
        _ = try BatchRunner(options: options(single, shard: .whole), models: models).run(catalogue: catalogue)
        var perShard: [Int] = []
        for i in 0..<3 {
            perShard.append(try BatchRunner(options: options(sharded, shard: try Shard(index: i, count: 3)), models: models).run(catalogue: catalogue).processed)
        }
        XCTAssertEqual(perShard.reduce(0, +), 7)

        let a = single.appendingPathComponent("merged.jsonl"), b = sharded.appendingPathComponent("merged.jsonl")
        let singleMerge = try BatchMerge.check(directories: [single], catalogue: catalogue)
        try singleMerge.writeJSONLines(to: a)
        let shardMerge = try BatchMerge.check(directories: [sharded], catalogue: catalogue)
        try shardMerge.writeJSONLines(to: b)
        XCTAssertEqual(shardMerge.failedCount, 1)
        XCTAssertEqual(try String(contentsOf: a, encoding: .utf8), try String(contentsOf: b, encoding: .utf8))
        let merged = try records(in: b)
        XCTAssertEqual(merged.map(\.path), merged.map(\.path).sorted())
        XCTAssertEqual(merged.count, 7)

        let index = try shardMerge.makeIndex(root: catalogue.root)
        let indexURL = sharded.appendingPathComponent("lib.idx")
        try index.save(to: indexURL)
        let loaded = try LibraryIndex.load(indexURL)
        let reference = sharded.appendingPathComponent("reference.idx")
        let tagger = MusicnnTagger(model: try Musicnn(contentsOf: models.taggerURL))
        _ = try LibraryIndexer(extractor: TrackFeatureExtractor(tagger: tagger, identifier: "musicnn-mtt")).update(index: reference, directory: clips.url)
        let expected = try LibraryIndex.load(reference)
        XCTAssertEqual(loaded.entries.map(\.path), expected.entries.map(\.path))
        XCTAssertEqual(loaded.entries.map(\.signature), expected.entries.map(\.signature))
        XCTAssertEqual(loaded.features, expected.features)
        XCTAssertEqual(Set(loaded.problems.map(\.path)), Set(expected.problems.map(\.path)))
    }

    func testMergeRefusesMissingShardsTracksAndOtherModels() throws {
        let clips = try ClipFolder(clips: 4, corrupt: false, silent: false)
        let out = try temporaryFolder(), other = try temporaryFolder()
        defer { [out, other].forEach { try? FileManager.default.removeItem(at: $0) } }
        let catalogue = try Catalogue.open(clips.url.path)
        _ = try BatchRunner(options: options(out, shard: try Shard(index: 0, count: 2)), models: models).run(catalogue: catalogue)
        XCTAssertThrowsError(try BatchMerge.check(directories: [out], catalogue: catalogue)) {
            XCTAssertTrue("\($0)".contains("1 of 2 shards have no output (batch-0001-of-0002.jsonl)"), "\($0)")
        }
        let second = try BatchRunner(options: options(out, shard: try Shard(index: 1, count: 2)), models: models).run(catalogue: catalogue)
        XCTAssertNoThrow(try BatchMerge.check(directories: [out], catalogue: catalogue))

        // A track without a result.
        let lines = try String(contentsOf: second.journal, encoding: .utf8).split(separator: "\n")
        let dropped = try JSONDecoder().decode(BatchRecord.self, from: Data(lines[0].utf8)).path
        try (lines.dropFirst().joined(separator: "\n") + "\n").write(to: second.journal, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BatchMerge.check(directories: [out], catalogue: catalogue)) {
            XCTAssertTrue("\($0)".contains("1 tracks of the catalogue have no result (\(dropped))"), "\($0)")
        }
        // A track the catalogue does not have.
        try (lines.joined(separator: "\n") + "\n").write(to: second.journal, atomically: true, encoding: .utf8)
        let list = other.appendingPathComponent("fewer.txt")
        var all: [String] = []
        try catalogue.forEachTrack { all.append($0) }
        try (all.filter { $0 != dropped }.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BatchMerge.check(directories: [out], catalogue: try Catalogue.open(list.path))) {
            XCTAssertTrue("\($0)".contains("not in the catalogue"), "\($0)")
        }
        // A record made with other weights.
        var record = try JSONDecoder().decode(BatchRecord.self, from: Data(lines[0].utf8))
        record.models.tagger.sha256 = String(repeating: "0", count: 64)
        try ([try BatchJSON.line(record)] + lines.dropFirst().map(String.init)).joined(separator: "\n").appending("\n").write(to: second.journal, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BatchMerge.check(directories: [out], catalogue: catalogue)) {
            XCTAssertTrue("\($0)".contains("made with other models"), "\($0)")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: second.journal, atomically: true, encoding: .utf8)

        // A shard folder made with another tagger (its batch.json says so) is refused as a whole.
        let msd = try BatchModelFiles(tagger: .msd, taggerURL: try MusicnnModelName.resolve("msd"), captionerURL: nil)
        let moved = other.appendingPathComponent("shard1")
        try FileManager.default.createDirectory(at: moved, withIntermediateDirectories: true)
        try BatchRunner.claim(directory: moved, settings: BatchSettings(shards: 2, tasks: options(out, shard: .whole).tasks, models: msd.identity))
        try FileManager.default.moveItem(at: second.journal, to: moved.appendingPathComponent(second.journal.lastPathComponent))
        XCTAssertThrowsError(try BatchMerge.check(directories: [out, moved], catalogue: catalogue)) {
            XCTAssertTrue("\($0)".contains("different models"), "\($0)")
        }
        // The same shard in two folders.
        try FileManager.default.copyItem(at: moved.appendingPathComponent(second.journal.lastPathComponent), to: second.journal)
        try FileManager.default.removeItem(at: moved.appendingPathComponent("batch.json"))
        try FileManager.default.copyItem(at: out.appendingPathComponent("batch.json"), to: moved.appendingPathComponent("batch.json"))
        XCTAssertThrowsError(try BatchMerge.check(directories: [out, moved], catalogue: catalogue)) {
            XCTAssertTrue("\($0)".contains("has output in two places"), "\($0)")
        }
    }

    func testRelativePaths() {
        XCTAssertEqual(BatchMerge.relativePath(of: URL(fileURLWithPath: "/a/b/features/x.st"), from: URL(fileURLWithPath: "/a/b")), "features/x.st")
        XCTAssertEqual(BatchMerge.relativePath(of: URL(fileURLWithPath: "/a/b/features/x.st"), from: URL(fileURLWithPath: "/a/c")), "../b/features/x.st")
    }
}
