import AudioIO
import Captioning
@testable import CatalogueBatch
import Foundation
import MusicTagging
import NeuralCore
import XCTest

/// A folder of short real audio files: tones and noise of different pitch and length, plus the bad cases.
final class ClipFolder {
    let url: URL
    init(clips: Int, corrupt: Bool = true, silent: Bool = true) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("sub"), withIntermediateDirectories: true)
        var seed: UInt64 = 12345
        for i in 0..<clips {
            let rate = [16000, 22050, 44100][i % 3]
            let seconds = 3.2 + Double(i % 4) * 1.1
            let frequency = 110.0 * pow(2, Double(i) / 5)
            let samples = (0..<Int(seconds * Double(rate))).map { n -> Float in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let noise = Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23)
                return 0.4 * Float(sin(2 * .pi * frequency * Double(n) / Double(rate))) + 0.05 * Float(i % 3) * noise
            }
            try AudioFileWriter.write(samples, channels: 1, sampleRate: rate, format: i % 2 == 0 ? .wav16 : .flac16,
                                      to: url.appendingPathComponent(i % 3 == 0 ? "sub/clip\(i).wav" : "clip\(i).\(i % 2 == 0 ? "wav" : "flac")").path)
        }
        if corrupt { try Data("RIFF\0\0\0\0WAVEthis is not audio".utf8).write(to: url.appendingPathComponent("corrupt.wav")) }
        if silent { try AudioFileWriter.write([Float](repeating: 0, count: 16000 * 4), channels: 1, sampleRate: 16000, format: .wav16, to: url.appendingPathComponent("silent.wav").path) }
        try Data("not music".utf8).write(to: url.appendingPathComponent("notes.txt"))
        try Data().write(to: url.appendingPathComponent(".hidden.wav"))
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).standardizedFileURL.path }
}

func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("batch-out-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func records(in url: URL) throws -> [BatchRecord] {
    try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { try JSONDecoder().decode(BatchRecord.self, from: Data($0.utf8)) }
}

final class BatchRunTests: XCTestCase {
    static let models: BatchModelFiles = {
        BLAS.threadCount = 1
        return try! BatchModelFiles(tagger: .mtt, taggerURL: try! MusicnnModelName.resolve("mtt"), captionerURL: nil)
    }()

    func options(_ out: URL, shard: Shard = .whole, workers: Int = 2) -> BatchRunner.Options {
        var tasks = BatchTasks()
        tasks.summary = true
        tasks.tags = true
        tasks.features = true
        var options = BatchRunner.Options(outputDirectory: out, shard: shard, tasks: tasks)
        options.workers = workers
        return options
    }

    func testCatalogueWalksAudioFilesAndReadsLists() throws {
        let clips = try ClipFolder(clips: 4)
        var walked: [String] = []
        try Catalogue.open(clips.url.path).forEachTrack { walked.append($0) }
        XCTAssertEqual(Set(walked), Set(["sub/clip0.wav", "clip1.flac", "clip2.wav", "sub/clip3.wav", "corrupt.wav", "silent.wav"].map(clips.path)))
        let list = clips.url.appendingPathComponent("list.txt")
        try "a.wav\n\n  \n/x/b c.flac\r\nlast.mp3".write(to: list, atomically: true, encoding: .utf8)
        var listed: [String] = []
        try Catalogue.open(list.path).forEachTrack { listed.append($0) }
        XCTAssertEqual(listed, ["a.wav", "/x/b c.flac", "last.mp3"])
        XCTAssertThrowsError(try Catalogue.open(clips.path("nowhere"))) { XCTAssertTrue("\($0)".contains("no such folder or list file")) }
        XCTAssertThrowsError(try Catalogue.open(clips.path("clip1.flac"))) { XCTAssertTrue("\($0)".contains("is an audio file")) }
    }

    /// Summary tags equal what `muscaps tag --summary` computes (MusicnnTagger directly); features equal
    /// `muscaps index`'s; bad files are recorded as failed and the others still done.
    func testResultsMatchTheTaggerAndFailuresAreRecorded() throws {
        let clips = try ClipFolder(clips: 4)
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let report = try BatchRunner(options: options(out), models: Self.models).run(catalogue: try Catalogue.open(clips.url.path))
        XCTAssertEqual(report.processed, 6)
        XCTAssertEqual(report.failed, 2)
        let byPath = Dictionary(uniqueKeysWithValues: try records(in: report.journal).map { ($0.path, $0) })
        XCTAssertEqual(byPath.count, 6)
        XCTAssertEqual(byPath[clips.path("corrupt.wav")]?.status, .failed)
        XCTAssertTrue(byPath[clips.path("corrupt.wav")]?.error?.contains("corrupt.wav") == true, "\(String(describing: byPath[clips.path("corrupt.wav")]?.error))")
        XCTAssertTrue(byPath[clips.path("silent.wav")]?.error?.contains("digital silence") == true)

        let tagger = MusicnnTagger(model: try Musicnn(contentsOf: Self.models.taggerURL))
        for name in ["sub/clip0.wav", "clip1.flac", "clip2.wav"] {
            let record = try XCTUnwrap(byPath[clips.path(name)])
            XCTAssertEqual(record.status, .done)
            XCTAssertEqual(record.key, LibraryIndex.signature(of: clips.path(name)))
            XCTAssertEqual(record.sha256, try SHA256.hex(ofFileAt: clips.path(name)))
            XCTAssertEqual(record.models, Self.models.identity)
            var sum = [Float](repeating: 0, count: 50), counted = 0, windows = 0
            var features: [Float] = []
            try tagger.analyze(file: clips.path(name)) { window, output in
                windows += 1
                features.append(contentsOf: output.maxPoolBuffer)
                if !window.isSilent { for (i, p) in output.taggramBuffer.enumerated() { sum[i] += p }; counted += 1 }
            }
            let mean = sum.map { $0 / Float(counted) }
            let expected = mean.withUnsafeBufferPointer { topTags($0, names: tagger.model.tags, count: 5) }
            XCTAssertEqual(record.summary?.map(\.tag), expected.map(\.tag))
            for (got, want) in zip(record.summary ?? [], expected) { XCTAssertEqual(got.probability, Double(want.probability), accuracy: 5e-5) }
            XCTAssertEqual(record.windows?.count, windows)
            XCTAssertEqual(record.featureRows, windows)
            let stored = try SafetensorsFile(contentsOf: out.appendingPathComponent(try XCTUnwrap(record.features)))
            XCTAssertEqual(try stored.finiteTensor("features", shape: [windows, 753]).scalars, features)
        }
    }

    /// Skip-done by key, failed ones kept unless --retry-failed, changed files redone, one line per track.
    func testResumeSkipsDoneRetriesFailedAndRedoesChangedFiles() throws {
        let clips = try ClipFolder(clips: 3)
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let catalogue = try Catalogue.open(clips.url.path)
        let first = try BatchRunner(options: options(out), models: Self.models).run(catalogue: catalogue)
        XCTAssertEqual(first.processed, 5)
        let again = try BatchRunner(options: options(out), models: Self.models).run(catalogue: catalogue)
        XCTAssertEqual([again.processed, again.skipped, again.skippedFailures], [0, 3, 2])

        // Repair the corrupt file (new size and mtime): only it is redone.
        try AudioFileWriter.write((0..<16000 * 4).map { Float(sin(Double($0) * 0.05)) * 0.3 }, channels: 1, sampleRate: 16000, format: .wav16, to: clips.path("corrupt.wav"))
        let repaired = try BatchRunner(options: options(out), models: Self.models).run(catalogue: catalogue)
        XCTAssertEqual([repaired.processed, repaired.failed, repaired.skipped, repaired.skippedFailures], [1, 0, 3, 1])

        var retry = options(out)
        retry.retryFailed = true
        let retried = try BatchRunner(options: retry, models: Self.models).run(catalogue: catalogue)
        XCTAssertEqual([retried.processed, retried.failed, retried.skipped], [1, 1, 4])  // silent.wav fails again

        let lines = try records(in: first.journal)
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(Set(lines.map(\.path)).count, 5, "one line per track after compaction")
        XCTAssertEqual(lines.first { $0.path == clips.path("corrupt.wav") }?.status, .done)
    }

    func testTornLastLineIsCutAndADamagedJournalIsRefused() throws {
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let models = Self.models.identity
        let shard = try Shard(index: 1, count: 3)
        do {
            let journal = try BatchJournal(directory: out, shard: shard)
            try journal.append(BatchRecord(path: "/a.wav", key: "1@2", status: .done, models: models))
            try journal.append(BatchRecord(path: "/b.wav", key: "3@4", status: .failed, models: models))
        }
        let url = out.appendingPathComponent("batch-0001-of-0003.jsonl")
        let whole = try Data(contentsOf: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"path\": \"/c.wav\", \"sta".utf8))  // died mid-line
        try handle.close()
        do {
            let journal = try BatchJournal(directory: out, shard: shard)
            XCTAssertEqual(try Data(contentsOf: url), whole, "the torn line is cut")
            XCTAssertEqual(journal.entry(for: "/a.wav")?.failed, false)
            XCTAssertEqual(journal.entry(for: "/b.wav")?.failed, true)
            XCTAssertNil(journal.entry(for: "/c.wav"))
            // A second writer of the same shard is refused while the first holds it.
            XCTAssertThrowsError(try BatchJournal(directory: out, shard: shard)) { XCTAssertTrue("\($0)".contains("another muscaps batch"), "\($0)") }
        }
        try (String(decoding: whole, as: UTF8.self) + "garbage\n" + String(decoding: whole, as: UTF8.self)).write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BatchJournal(directory: out, shard: shard)) { XCTAssertTrue("\($0)".contains("line 3 is not a batch record"), "\($0)") }
    }

    func testOutputFolderRefusesOtherSettings() throws {
        let clips = try ClipFolder(clips: 1, corrupt: false, silent: false)
        let out = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try BatchRunner(options: options(out), models: Self.models).run(catalogue: try Catalogue.open(clips.url.path))
        var other = options(out)
        other.tasks.top = 10
        XCTAssertThrowsError(try BatchRunner(options: other, models: Self.models).run(catalogue: try Catalogue.open(clips.url.path))) {
            XCTAssertTrue("\($0)".contains("other settings"), "\($0)")
        }
        XCTAssertThrowsError(try BatchRunner(options: options(out, shard: try Shard(index: 0, count: 2)), models: Self.models).run(catalogue: try Catalogue.open(clips.url.path))) {
            XCTAssertTrue("\($0)".contains("1 shards vs 2"), "\($0)")
        }
        var nothing = options(out)
        nothing.tasks = BatchTasks()
        XCTAssertThrowsError(try BatchRunner(options: nothing, models: Self.models))
    }
}
