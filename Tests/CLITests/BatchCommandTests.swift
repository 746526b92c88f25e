import AudioIO
import Foundation
import TestServerSupport
import XCTest

/// A generated catalogue of short clips for the batch tests: tones, chords and noise bursts of different
/// pitch, 1–2 windows each, as WAV and FLAC at 16/22.05/44.1 kHz.
enum BatchCatalogue {
    static func make(in directory: URL, clips: Int, seconds: Double = 3.2) throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("b"), withIntermediateDirectories: true)
        var seed: UInt64 = 99
        for i in 0..<clips {
            let rate = [16000, 22050, 44100][i % 3]
            let base = 80.0 * pow(2, Double(i) / 6)
            let samples = (0..<Int((seconds + Double(i % 2) * 0.4) * Double(rate))).map { n -> Float in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let noise = Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23)
                let t = Double(n) / Double(rate)
                let tone = (1...(1 + i % 3)).map { 0.2 * sin(2 * .pi * base * Double($0) * 1.25 * t) }.reduce(0, +)
                return Float(tone) + Float(i % 4) * 0.08 * noise
            }
            let name = (i % 5 == 0 ? "b/" : "") + String(format: "track%02d.", i) + (i % 2 == 0 ? "wav" : "flac")
            try AudioFileWriter.write(samples, channels: 1, sampleRate: rate, format: i % 2 == 0 ? .wav16 : .flac16,
                                      to: directory.appendingPathComponent(name).path)
        }
    }

    static func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static func record(_ line: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// `muscaps batch` through the real binary: output, resume after a real SIGKILL, stdin lists, merge,
/// and the errors a user meets.
final class BatchCommandTests: XCTestCase {
    /// Killed mid-run with SIGKILL and restarted, the batch ends with exactly one complete record per
    /// track, identical to an uninterrupted run's.
    func testKilledBatchResumesToExactlyOneResultPerTrack() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let music = root.appendingPathComponent("music")
        try BatchCatalogue.make(in: music, clips: 10)
        let tasks = ["--summary", "--caption", "--beam", "1", "--jobs", "1"]
        let killed = root.appendingPathComponent("killed")
        let journal = killed.appendingPathComponent("batch-0000-of-0001.jsonl")

        let log = ScratchFile("batch")
        let child = try ChildProcess(CLI.productsDirectory.appendingPathComponent("muscaps").path,
                                     ["batch", music.path, "--out", killed.path] + tasks, stdout: .file(log.path), stderr: .file(log.path))
        let started = TestTools.waitFor(120) { ((try? BatchCatalogue.lines(journal))?.count ?? 0) >= 3 }
        kill(child.pid, SIGKILL)
        XCTAssertEqual(child.wait(timeout: 10), 128 + SIGKILL, log.contents)
        XCTAssertTrue(started, "no progress before the kill: \(log.contents)")
        let before = try BatchCatalogue.lines(journal).filter { !$0.isEmpty }
        XCTAssertLessThan(before.count, 10, "the kill came too late to test anything")
        for line in before { XCTAssertNoThrow(try BatchCatalogue.record(line), "torn line: \(line)") }

        let resumed = try CLI.run("muscaps", ["batch", music.path, "--out", killed.path] + tasks, timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("\(10 - before.count) processed (0 failed)"), resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("\(before.count) already done"), resumed.stderr)
        let after = try BatchCatalogue.lines(journal).filter { !$0.isEmpty }
        XCTAssertEqual(after.count, 10)
        XCTAssertEqual(Set(try after.map { try BatchCatalogue.record($0)["path"] as? String }).count, 10)
        XCTAssertEqual(Array(after.prefix(before.count)), before, "finished records are kept as they were")

        let reference = root.appendingPathComponent("reference")
        let single = try CLI.run("muscaps", ["batch", music.path, "--out", reference.path] + tasks, timeout: 300)
        XCTAssertEqual(single.status, 0, single.stderr)
        for (folder, name) in [(killed, "killed.jsonl"), (reference, "reference.jsonl")] {
            let merge = try CLI.run("muscaps", ["batch", "merge", folder.path, "--catalogue", music.path, "--out", root.appendingPathComponent(name).path])
            XCTAssertEqual(merge.status, 0, merge.stderr)
            XCTAssertTrue(merge.stdout.contains("10 tracks from 1 shards (0 failed)"), merge.stdout)
        }
        XCTAssertEqual(try String(contentsOf: root.appendingPathComponent("killed.jsonl"), encoding: .utf8),
                       try String(contentsOf: root.appendingPathComponent("reference.jsonl"), encoding: .utf8))
    }

    /// Captions equal `muscaps caption --json`'s for the same files (one code path); a list on stdin works;
    /// plain progress lines when stderr is not a terminal; a bad file is recorded and the job goes on.
    func testCaptionsMatchCaptionCommandAndListsComeFromStdin() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let music = root.appendingPathComponent("music")
        try BatchCatalogue.make(in: music, clips: 3, seconds: 7)
        let files = ["b/track00.wav", "track01.flac", "track02.wav"].map { music.appendingPathComponent($0).path }
        let broken = music.appendingPathComponent("broken.flac").path
        try Data("fLaC but nothing else".utf8).write(to: URL(fileURLWithPath: broken))
        let list = (files + [broken, "/nonexistent/x.wav"]).joined(separator: "\n") + "\n"

        let out = root.appendingPathComponent("out")
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("muscaps")
        process.arguments = ["batch", "-", "--out", out.path, "--caption", "--every", "3", "--context", "6", "--progress-interval", "0.001", "--per-track"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(list.utf8))
        try input.fileHandleForWriting.close()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("batch 0/1: 5/5 tracks (100%), 2 failed"), stderr)
        XCTAssertTrue(stderr.contains("batch 0/1: 1/5 tracks (20%)"), "a line per progress interval: \(stderr)")
        XCTAssertTrue(stderr.contains("5 processed (2 failed)"), stderr)
        XCTAssertFalse(stderr.contains("\r"), "no bar drawn into a pipe")

        let merged = root.appendingPathComponent("merged.jsonl")
        let listFile = root.appendingPathComponent("list.txt")
        try list.write(to: listFile, atomically: true, encoding: .utf8)
        let merge = try CLI.run("muscaps", ["batch", "merge", out.path, "--catalogue", listFile.path, "--out", merged.path])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let records = try BatchCatalogue.lines(merged).filter { !$0.isEmpty }.map(BatchCatalogue.record)
        XCTAssertEqual(records.count, 5)
        let failed = records.filter { $0["status"] as? String == "failed" }
        XCTAssertEqual(Set(failed.compactMap { $0["path"] as? String }), [broken, "/nonexistent/x.wav"])
        XCTAssertTrue(failed.allSatisfy { ($0["error"] as? String)?.isEmpty == false })

        let journal = try BatchCatalogue.lines(out.appendingPathComponent("batch-0000-of-0001.jsonl")).filter { !$0.isEmpty }.map(BatchCatalogue.record)
        for file in files {
            let expected = try CLI.run("muscaps", ["caption", file, "--json", "--every", "3", "--context", "6"])
            XCTAssertEqual(expected.status, 0, expected.stderr)
            let want = expected.stdout.split(separator: "\n").map { try! BatchCatalogue.record(String($0)) }
            // The journal line points to the track's file; the merged line carries the results again.
            let line = try XCTUnwrap(try journal.first { $0["path"] as? String == file })
            XCTAssertNil(line["captions"], "with --per-track the journal line has no results")
            let trackFile = try XCTUnwrap(line["file"] as? String)
            let full = try BatchCatalogue.record(try String(contentsOf: out.appendingPathComponent(trackFile), encoding: .utf8))
            let record = try XCTUnwrap(records.first { $0["path"] as? String == file })
            XCTAssertEqual(record["captions"] as? NSArray, full["captions"] as? NSArray)
            let got = try XCTUnwrap(record["captions"] as? [[String: Any]])
            XCTAssertEqual(got.count, want.count)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g["text"] as? String, w["caption"] as? String)
                XCTAssertEqual(g["start"] as? Double ?? -1, w["start"] as? Double ?? -2, accuracy: 1e-3)
                XCTAssertEqual(g["log_prob"] as? Double ?? 0, w["log_prob"] as? Double ?? 1, accuracy: 1e-3)
            }
        }
    }

    func testBadInvocationsAreClearErrors() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let music = root.appendingPathComponent("music")
        try BatchCatalogue.make(in: music, clips: 2)
        let out = root.appendingPathComponent("out").path
        let cases: [([String], [String: String], String)] = [
            (["batch", music.path, "--out", out], [:], "say what to compute"),
            (["batch", root.appendingPathComponent("none").path, "--out", out, "--summary"], [:], "no such folder or list file"),
            (["batch", music.appendingPathComponent("track01.flac").path, "--out", out, "--summary"], [:], "is an audio file"),
            (["batch", music.path, "--out", out, "--summary", "--shard", "4/4"], [:], "shard 4 does not exist among 4 shards"),
            (["batch", music.path, "--out", out, "--summary"], ["JOB_COMPLETION_INDEX": "1"], "give --shard-count"),
            (["batch", music.path, "--out", out, "--summary", "--tagger", "xyz"], [:], "--tagger must be mtt or msd"),
            (["batch", "merge", out, "--catalogue", music.path, "--out", root.appendingPathComponent("m.jsonl").path], [:], "no batch.json"),
        ]
        for (arguments, environment, message) in cases {
            let result = try CLI.run("muscaps", arguments, environment: environment)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        // A Kubernetes index with its count works; the other shard then completes the merge.
        let k8s = try CLI.run("muscaps", ["batch", music.path, "--out", out, "--summary", "--shard-count", "2"], environment: ["JOB_COMPLETION_INDEX": "1"])
        XCTAssertEqual(k8s.status, 0, k8s.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/batch-0001-of-0002.jsonl"))
        let merged = root.appendingPathComponent("m.jsonl").path
        let early = try CLI.run("muscaps", ["batch", "merge", out, "--catalogue", music.path, "--out", merged])
        XCTAssertTrue(early.stderr.contains("1 of 2 shards have no output"), early.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: merged), "a refused merge writes nothing")
        // Resuming with other settings is refused.
        let other = try CLI.run("muscaps", ["batch", music.path, "--out", out, "--summary", "--top", "3", "--shard", "0/2"])
        XCTAssertTrue(other.stderr.contains("other settings"), other.stderr)
        let rest = try CLI.run("muscaps", ["batch", music.path, "--out", out, "--summary", "--shard", "0/2"])
        XCTAssertEqual(rest.status, 0, rest.stderr)
        let done = try CLI.run("muscaps", ["batch", "merge", out, "--catalogue", music.path, "--out", merged])
        XCTAssertEqual(done.status, 0, done.stderr)
        XCTAssertTrue(done.stdout.contains("2 tracks from 2 shards (0 failed)"), done.stdout)
    }
}
