import AudioIO
import Foundation
import NeuralCore
import TestServerSupport
import XCTest

/// `muscaps train/caption/eval/index/search` through the real binary, on a tiny generated dataset: four
/// 6-second tracks of clearly different sounds, each with its own caption. One prepared dataset and one
/// trained model are shared by the tests (made on first use).
final class CaptioningCommandTests: XCTestCase {
    struct Fixture {
        let directory: URL
        let dataset: URL
        let model: String
        let captions: [String: String]
    }

    static let tracks: [(id: String, caption: String)] = [
        ("sine", "a pure high sine tone"),
        ("noise", "loud harsh white noise"),
        ("chord", "a warm major chord with soft organ"),
        ("clicks", "fast dry percussive clicks"),
    ]

    nonisolated(unsafe) static var shared: Result<Fixture, Error>?

    static func samples(_ kind: String, seconds: Double) -> [Float] {
        var g = SeededGenerator(seed: UInt64(kind.count))
        return (0..<Int(seconds * 16_000)).map { i -> Float in
            let t = Float(i) / 16_000
            switch kind {
            case "sine": return 0.3 * sin(2 * .pi * 1760 * t)
            case "noise": return 0.3 * g.nextFloat(-1, 1)
            case "chord": return [261.6, 329.6, 392.0].map { 0.1 * sin(2 * .pi * Float($0) * t) }.reduce(0, +)
            default: return 0.6 * exp(-t.truncatingRemainder(dividingBy: 0.125) * 200) * g.nextFloat(-1, 1)
            }
        }
    }

    static func fixture() throws -> Fixture {
        if let shared { return try shared.get() }
        let result = Result { () throws -> Fixture in
            let directory = try CLI.temporaryDirectory()
            let dataset = directory.appendingPathComponent("dataset")
            try FileManager.default.createDirectory(at: dataset.appendingPathComponent("audio"), withIntermediateDirectories: true)
            for track in tracks {
                try AudioFileWriter.write(samples(track.id, seconds: 6), channels: 1, sampleRate: 16_000, format: .wav16,
                                          to: dataset.appendingPathComponent("audio/\(track.id).wav").path)
            }
            let entries = tracks.map { ["track_id": $0.id, "caption": ["raw": $0.caption]] as [String: Any] }
            for split in ["train", "val", "test"] {
                try JSONSerialization.data(withJSONObject: entries).write(to: dataset.appendingPathComponent("dataset_\(split).json"))
            }
            let prepare = try CLI.run("muscaps", ["prepare", dataset.path, "--min-seconds", "0"])
            guard prepare.status == 0, prepare.stdout.contains("train: 4 caption pairs from 4 tracks kept") else {
                throw CLIFailure("prepare failed: \(prepare.stdout) \(prepare.stderr)")
            }
            let run = directory.appendingPathComponent("run")
            let train = try CLI.run("muscaps", ["train", dataset.path, "--out", run.path] + smallModel + ["--epochs", "60"], timeout: 300)
            guard train.status == 0 else { throw CLIFailure("train failed: \(train.stdout) \(train.stderr)") }
            return Fixture(directory: directory, dataset: dataset, model: run.appendingPathComponent("best.safetensors").path,
                           captions: Dictionary(uniqueKeysWithValues: tracks.map { ($0.id, $0.caption) }))
        }
        shared = result
        return try result.get()
    }

    /// A model small enough to train in seconds in a debug build.
    static let smallModel = ["--hidden-size", "24", "--embedding-size", "12", "--batch-size", "4", "--lr", "0.03",
                             "--schedule", "constant", "--dropout", "0", "--patience", "0", "--min-count", "1",
                             "--cider-every", "20", "--quiet", "--threads", "1"]

    private func audio(_ f: Fixture, _ id: String) -> String { f.dataset.appendingPathComponent("audio/\(id).wav").path }

    // MARK: train

    func testTrainWritesCheckpointsLogAndPlotAndResumesWhereItStopped() throws {
        let f = try Self.fixture()
        let run = f.directory.appendingPathComponent("resume-\(UUID().uuidString)")
        let first = try CLI.run("muscaps", ["train", f.dataset.path, "--out", run.path, "--variant", "late", "--epochs", "4", "--stop-after", "2"] + Self.smallModel)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("Stopped after epoch 2 of 4; continue with: muscaps train"), first.stdout)
        for file in ["best.safetensors", "last.safetensors", "last.optimizer.safetensors", "training_log.csv", "learning_curve.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), file)
        }
        let again = try CLI.run("muscaps", ["train", f.dataset.path, "--out", run.path])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("last.safetensors exists: continue that run with --resume"), again.stderr)

        let resumed = try CLI.run("muscaps", ["train", f.dataset.path, "--out", run.path, "--resume", "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("Resuming \(run.path) after epoch 2 of 4 (late, seed 0)."), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("epoch 3/4  train "), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("Finished: reached the maximum of 4 epochs"), resumed.stdout)
        let csv = try String(contentsOf: run.appendingPathComponent("training_log.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").map { String($0.prefix(2)) }, ["ep", "1,", "2,", "3,", "4,"])
        let done = try CLI.run("muscaps", ["train", f.dataset.path, "--out", run.path, "--resume"])
        XCTAssertTrue(done.stdout.hasPrefix("Nothing to do: the run in"), done.stdout)
    }

    func testTrainRejectsUnpreparedDataTooSmallSplitsAndBadWordVectors() throws {
        let f = try Self.fixture()
        let empty = f.directory.appendingPathComponent("unprepared")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        var result = try CLI.run("muscaps", ["train", empty.path, "--out", empty.appendingPathComponent("run").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no prepared split here; run `muscaps prepare"), result.stderr)
        result = try CLI.run("muscaps", ["train", f.dataset.path, "--out", f.directory.appendingPathComponent("big").path, "--batch-size", "16"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("the training split has 4 caption pairs, fewer than one batch of 16"), result.stderr)
        result = try CLI.run("muscaps", ["train", f.dataset.path, "--out", f.directory.appendingPathComponent("glove").path,
                                         "--word-vectors", f.directory.appendingPathComponent("none.txt").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("none.txt: no such file"), result.stderr)
        result = try CLI.run("muscaps", ["train", f.dataset.path, "--out", "x", "--variant", "middle"])
        XCTAssertTrue(result.stderr.contains("--variant must be early, late or attention"), result.stderr)
    }

    // MARK: caption

    func testCaptionDescribesWholeFilesAndRollingWindows() throws {
        let f = try Self.fixture()
        var result = try CLI.run("muscaps", ["caption", audio(f, "noise"), audio(f, "chord"), "--model", f.model])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], audio(f, "noise") + ":")
        XCTAssertEqual(lines[1], "Loud harsh white noise")
        XCTAssertEqual(lines[4], "A warm major chord with soft organ")

        result = try CLI.run("muscaps", ["caption", audio(f, "clicks"), "--model", f.model, "--beam", "3", "--every", "3", "--context", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let objects = try result.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(objects.map { $0["start"] as? Double }, [0, 2.992])
        XCTAssertEqual(objects.map { $0["end"] as? Double }, [2.992, 5.984])
        for object in objects {
            XCTAssertEqual(object["caption"] as? String, "Fast dry percussive clicks")
            XCTAssertEqual(object["finished"] as? Bool, true)
            XCTAssertEqual(object["unk_rate"] as? Double, 0)
            XCTAssertEqual(object["repetitions"] as? Int, 0)
            XCTAssertLessThan(try XCTUnwrap(object["log_prob"] as? Double), 0)
        }
        result = try CLI.run("muscaps", ["caption", audio(f, "sine"), "--model", f.model, "--every", "2.5"])
        XCTAssertTrue(result.stdout.hasPrefix("   0.00 –    2.99  A pure high sine tone\n"), result.stdout)
    }

    func testCaptionErrorsNameTheFile() throws {
        let f = try Self.fixture()
        let broken = f.directory.appendingPathComponent("broken.safetensors")
        try Data(repeating: 7, count: 100).write(to: broken)
        var result = try CLI.run("muscaps", ["caption", audio(f, "sine"), "--model", broken.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains(broken.path + ": "), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)

        let silent = f.directory.appendingPathComponent("silent.wav")
        try AudioFileWriter.write([Float](repeating: 0, count: 16_000 * 4), channels: 1, sampleRate: 16_000, format: .wav16, to: silent.path)
        result = try CLI.run("muscaps", ["caption", f.directory.appendingPathComponent("missing.wav").path, silent.path, audio(f, "sine"), "--model", f.model])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("missing.wav"), result.stderr)
        XCTAssertTrue(result.stderr.contains("silent.wav: the audio is digital silence"), result.stderr)
        XCTAssertTrue(result.stdout.contains("A pure high sine tone"), "the good file is still captioned: \(result.stdout)")
        result = try CLI.run("muscaps", ["caption", audio(f, "sine"), "--model", f.model, "--every", "5", "--context", "1"])
        XCTAssertTrue(result.stderr.contains("--context must be at least one window"), result.stderr)
    }

    /// One beam-width check for the CLI and the daemon: the same range, the same message.
    func testTheCLIAndTheDaemonAcceptTheSameBeamWidths() throws {
        let f = try Self.fixture()
        let widest = try CLI.run("muscaps", ["caption", audio(f, "sine"), "--model", f.model, "--beam", "16"])
        XCTAssertEqual(widest.status, 0, widest.stderr)
        for width in ["0", "17", "64"] {
            let cli = try CLI.run("muscaps", ["caption", audio(f, "sine"), "--model", f.model, "--beam", width])
            XCTAssertNotEqual(cli.status, 0, "muscaps --beam \(width)")
            XCTAssertTrue(cli.stderr.contains("beam must be between 1 and 16, got \(width)"), cli.stderr)
            let daemon = try CLI.run("muscapsd", ["--source", "file:\(audio(f, "sine"))", "--captioner", f.model, "--beam", width, "--bus", "none"])
            XCTAssertNotEqual(daemon.status, 0, "muscapsd --beam \(width)")
            XCTAssertTrue(daemon.stderr.contains("beam must be between 1 and 16, got \(width)"), daemon.stderr)
        }
    }

    // MARK: eval

    func testEvalReportsMetricsStatisticsAndRetrievalAndWritesFilesThatScoreReScores() throws {
        let f = try Self.fixture()
        let out = f.directory.appendingPathComponent("results.json")
        let result = try CLI.run("muscaps", ["eval", f.dataset.path, "--split", "test", "--model", f.model, "--beam", "2",
                                             "--out", out.path, "--retrieval", "--no-meteor"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("test: 4 tracks, 4 reference captions; beam 2 decoding\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Bleu_1      1.0000"), result.stdout)
        XCTAssertTrue(result.stdout.contains("METEOR      unavailable: not requested"), result.stdout)
        XCTAssertTrue(result.stdout.contains("SPICE       unavailable: "), result.stdout)
        XCTAssertTrue(result.stdout.contains("<unk> rate  0.0000"), result.stdout)
        XCTAssertTrue(result.stdout.contains("retrieval   4 queries over 4 tracks: R@1 100.0%  R@5 100.0%  R@10 100.0%  median rank 1.0"), result.stdout)

        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        let metrics = try XCTUnwrap(results["metrics"] as? [String: Double])
        XCTAssertEqual(metrics["Bleu_4"] ?? 0, 1, accuracy: 1e-6)
        XCTAssertNil(metrics["SPICE"], "unavailable metrics are absent, never 0")
        XCTAssertNotNil((results["unavailable"] as? [String: String])?["SPIDEr"])
        XCTAssertEqual((results["retrieval"] as? [String: Any])?["median_rank"] as? Double, 1)
        let predictionsPath = try XCTUnwrap(results["predictions_file"] as? String)
        let predictions = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: predictionsPath))) as? [[String: String]])
        XCTAssertEqual(Set(predictions.map { $0["track_id"]! }), Set(f.captions.keys))
        for p in predictions { XCTAssertEqual(p["caption"], f.captions[p["track_id"]!]?.lowercased()) }

        // Live-length contexts: each 6 s track from its middle chunk only.
        let live = try CLI.run("muscaps", ["eval", f.dataset.path, "--split", "test", "--model", f.model, "--chunks", "1", "--no-meteor"])
        XCTAssertEqual(live.status, 0, live.stderr)
        XCTAssertTrue(live.stdout.hasPrefix("test: 4 tracks, 4 reference captions; beam 3 decoding, middle 1 chunk(s) of each track\n"), live.stdout)

        let score = try CLI.run("muscaps", ["score", predictionsPath, try XCTUnwrap(results["references_file"] as? String), "--no-meteor"])
        XCTAssertEqual(score.status, 0, score.stderr)
        XCTAssertTrue(score.stdout.contains(String(format: "CIDEr-D   %.4f", metrics["CIDEr"]!)), score.stdout)
    }

    func testEvalRejectsUnpreparedSplitsAndMismatchedModels() throws {
        let f = try Self.fixture()
        var result = try CLI.run("muscaps", ["eval", f.dataset.path, "--split", "extra", "--model", f.model])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("manifest_extra.json: no prepared split here"), result.stderr)
        result = try CLI.run("muscaps", ["eval", f.dataset.path, "--model", f.directory.appendingPathComponent("nope.safetensors").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("nope.safetensors: "), result.stderr)
        result = try CLI.run("muscaps", ["eval", f.dataset.path, "--model", f.model, "--chunks", "0"])
        XCTAssertTrue(result.stderr.contains("--chunks must be at least 1"), result.stderr)
        result = try CLI.run("muscaps", ["train", f.dataset.path, "--out", f.directory.appendingPathComponent("crop0").path, "--random-crop", "0"])
        XCTAssertTrue(result.stderr.contains("--random-crop must be at least 1 chunk"), result.stderr)
    }

    /// Tag-consistent decoding (issue 10) in eval and caption: the fixture's captions name no genre, so
    /// steering by the tags must leave them as they are; unknown taggers, bad settings and taggers the
    /// split was not prepared with are clear errors.
    func testTagConsistentDecodingKeepsGenrelessCaptionsAndRejectsBadSettings() throws {
        let f = try Self.fixture()
        var result = try CLI.run("muscaps", ["eval", f.dataset.path, "--split", "test", "--model", f.model, "--no-meteor",
                                             "--tag-consistent", "mtt", "--tag-bonus", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("test: 4 tracks, 4 reference captions; beam 3 decoding, tag-consistent (mtt, threshold 0.15, bonus 3.0)\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Bleu_1      1.0000"), result.stdout)
        result = try CLI.run("muscaps", ["caption", audio(f, "chord"), "--model", f.model, "--tag-consistent", "mtt,msd"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "A warm major chord with soft organ\n")

        result = try CLI.run("muscaps", ["eval", f.dataset.path, "--split", "test", "--model", f.model, "--tag-consistent", "msd"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("manifest_test.json: no prepared split here"), result.stderr)
        result = try CLI.run("muscaps", ["caption", audio(f, "chord"), "--model", f.model, "--tag-consistent", "mtt,gtzan"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--tag-consistent: unknown tagger 'gtzan' (use mtt, msd or mtt,msd)"), result.stderr)
        result = try CLI.run("muscaps", ["caption", audio(f, "chord"), "--model", f.model, "--tag-consistent", "mtt", "--tag-threshold", "0"])
        XCTAssertTrue(result.stderr.contains("--tag-threshold must be in (0, 1] (got 0.0)"), result.stderr)
        result = try CLI.run("muscaps", ["eval", f.dataset.path, "--model", f.model, "--tag-consistent", "mtt", "--tag-bonus=-1"])
        XCTAssertTrue(result.stderr.contains("--tag-bonus must be a finite number ≥ 0 (got -1.0)"), result.stderr)
    }

    // MARK: baselines

    func testBaselinesAreScoredAndReportedLikeModels() throws {
        let f = try Self.fixture()
        let out = f.directory.appendingPathComponent("nn.json")
        var result = try CLI.run("muscaps", ["baseline", "nearest-neighbour", f.dataset.path, "--split", "test", "--out", out.path, "--no-meteor"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("test: 4 tracks, 4 reference captions; nearest-neighbour baseline (4 train tracks)\n"), result.stdout)
        // The fixture's train and test splits hold the same four tracks: each finds itself.
        XCTAssertTrue(result.stdout.contains("Bleu_1      1.0000"), result.stdout)
        XCTAssertTrue(result.stdout.contains("repetition  0.0000"), result.stdout)
        XCTAssertFalse(result.stdout.contains("retrieval"), result.stdout)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        XCTAssertEqual(results["model"] as? String, "baseline:nearest-neighbour")
        XCTAssertNil(results["retrieval"])
        let predictions = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(results["predictions_file"] as? String)))) as? [[String: String]])
        for p in predictions { XCTAssertEqual(p["caption"], f.captions[p["track_id"]!]?.lowercased()) }

        let tagOut = f.directory.appendingPathComponent("tags.json")
        result = try CLI.run("muscaps", ["baseline", "tag-template", f.dataset.path, "--split", "test", "--tags", "3", "--out", tagOut.path, "--no-meteor"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("test: 4 tracks, 4 reference captions; tag-template baseline (top 3 musicnn-mtt tags)\n"), result.stdout)
        let tagResults = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: tagOut)) as? [String: Any])
        let tagPredictions = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(tagResults["predictions_file"] as? String)))) as? [[String: String]])
        XCTAssertEqual(tagPredictions.count, 4)
        for p in tagPredictions { XCTAssertTrue(p["caption"]!.contains("music"), "template caption: \(p)") }
    }

    func testBaselineErrors() throws {
        let f = try Self.fixture()
        var result = try CLI.run("muscaps", ["baseline", "nearest-neighbour", f.dataset.path, "--split", "train"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--split and --train-split are both 'train'"), result.stderr)
        result = try CLI.run("muscaps", ["baseline", "oracle", f.dataset.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("oracle"), result.stderr)
        result = try CLI.run("muscaps", ["baseline", "tag-template", f.dataset.path, "--split", "extra"])
        XCTAssertTrue(result.stderr.contains("manifest_extra.json: no prepared split here"), result.stderr)

        // A cache written before tags were stored: a clear error that says how to refresh it.
        let copy = f.directory.appendingPathComponent("old-cache")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: f.dataset, to: copy)
        let cached = copy.appendingPathComponent("features/musicnn-mtt/sine.safetensors")
        let file = try SafetensorsFile(contentsOf: cached)
        try SafetensorsWriter.write(tensors: [("features", try file.finiteTensor("features"))], metadata: file.metadata, to: cached)
        result = try CLI.run("muscaps", ["baseline", "tag-template", copy.path, "--split", "test"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("sine: the feature cache has no tags (written by an older version); run `muscaps prepare"), result.stderr)
        // Re-preparing refreshes the stale entries (the copy has new modification times, so maybe all), and the baseline then runs.
        let prepare = try CLI.run("muscaps", ["prepare", copy.path, "--min-seconds", "0", "--splits", "test"])
        XCTAssertEqual(prepare.status, 0, prepare.stderr)
        XCTAssertTrue(prepare.stdout.contains("features extracted for "), prepare.stdout)
        result = try CLI.run("muscaps", ["baseline", "tag-template", copy.path, "--split", "test", "--no-meteor"])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    // MARK: index and search

    func testIndexIsIncrementalAndSearchFindsTheDescribedTrack() throws {
        let f = try Self.fixture()
        let index = f.directory.appendingPathComponent("lib-\(UUID().uuidString).idx").path
        let audioDirectory = f.dataset.appendingPathComponent("audio").path
        var result = try CLI.run("muscaps", ["index", audioDirectory, "--out", index])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("\(index): 4 files indexed (4 new, 0 changed, 0 unchanged, 0 removed); 0 skipped"), result.stdout)
        result = try CLI.run("muscaps", ["index", audioDirectory, "--out", index])
        XCTAssertTrue(result.stdout.hasPrefix("\(index): 4 files indexed (0 new, 0 changed, 4 unchanged, 0 removed)"), result.stdout)

        for (id, caption) in f.captions {
            result = try CLI.run("muscaps", ["search", caption, "--index", index, "--model", f.model, "--top", "2"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = result.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 2)
            XCTAssertTrue(lines[0].hasPrefix("  1  ") && lines[0].hasSuffix("/\(id).wav"), "\(caption): \(result.stdout)")
        }
        result = try CLI.run("muscaps", ["search", "harsh noise banjo", "--index", index, "--model", f.model, "--json", "--top", "9"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("not in the model's vocabulary, scored as <unk>: banjo"), result.stderr)
        let rows = try result.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows.map { $0["rank"] as? Int }, [1, 2, 3, 4])
        XCTAssertTrue((rows[0]["path"] as? String)?.hasSuffix("noise.wav") == true)

        result = try CLI.run("muscaps", ["search", "banjo yodel", "--index", index, "--model", f.model])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("none of the query's words (banjo, yodel) is in the model's vocabulary"), result.stderr)
        result = try CLI.run("muscaps", ["search", "?!", "--index", index, "--model", f.model])
        XCTAssertTrue(result.stderr.contains("has no words to search for"), result.stderr)
        result = try CLI.run("muscaps", ["search", "noise", "--index", f.directory.appendingPathComponent("none.idx").path, "--model", f.model])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("none.idx: no such index; create it with `muscaps index DIR --out none.idx`"), result.stderr)
        result = try CLI.run("muscaps", ["index", f.directory.appendingPathComponent("nowhere").path, "--out", index])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("nowhere: not a directory"), result.stderr)
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
