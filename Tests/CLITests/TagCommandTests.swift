import AudioIO
import Foundation
import NeuralCore
import TestServerSupport
import XCTest

/// `muscaps tag` and `muscaps features` end to end, on real files, through the real binary.
final class TagCommandTests: XCTestCase {
    private var directory: URL!
    private let demo = "Examples/demo.wav"
    private let piano = "Tests/MusicTaggingTests/Fixtures/audio/piano.wav"

    override func setUpWithError() throws { directory = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func tone(seconds: Double, amplitude: Float = 0.3, sampleRate: Int = 16_000) -> [Float] {
        (0..<Int(seconds * Double(sampleRate))).map { amplitude * sin(2 * .pi * 440 * Float($0) / Float(sampleRate)) }
    }

    func testTagsTheDemoClipWithTimeSpansAndTags() throws {
        let result = try CLI.run("muscaps", ["tag", demo])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, 4, result.stdout)
        XCTAssertTrue(lines[0].hasPrefix("   0.00 –    2.99  "), String(lines[0]))
        // Five "name probability" pairs per line by default.
        XCTAssertEqual(lines[0].split(separator: ",").count, 5, String(lines[0]))
    }

    func testJSONLinesHoldTopKTagsInRankOrder() throws {
        let result = try CLI.run("muscaps", ["tag", piano, "--json", "--top", "50", "--hop", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 5)
        var previousStart = -1.0
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let start = try XCTUnwrap(object["start"] as? Double), end = try XCTUnwrap(object["end"] as? Double)
            XCTAssertEqual(end - start, 2.992, accuracy: 1e-3)
            // --hop 1 → 62.5 frames, rounded to 63 = 1.008 s between window starts.
            if previousStart >= 0 { XCTAssertEqual(start - previousStart, 1.008, accuracy: 1e-3) }
            previousStart = start
            let tags = try XCTUnwrap(object["tags"] as? [String: Double])
            XCTAssertEqual(tags.count, 50)
            XCTAssertTrue(tags.values.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        // Rank order is kept in the text: parse the first line's tag values in document order.
        let first = String(lines[0])
        let values = first.components(separatedBy: "\"tags\": {")[1].split(separator: ",").compactMap { Double($0.split(separator: ":").last!.trimmingCharacters(in: CharacterSet(charactersIn: " }"))) }
        XCTAssertEqual(values.count, 50)
        XCTAssertEqual(values, values.sorted(by: >))
    }

    func testSummaryIsTheMeanOfTheWindowsTags() throws {
        let windows = try CLI.run("muscaps", ["tag", demo, "--json", "--top", "50"])
        XCTAssertEqual(windows.status, 0, windows.stderr)
        var sum: [String: Double] = [:]
        let lines = windows.stdout.split(separator: "\n")
        for line in lines {
            let tags = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["tags"] as? [String: Double])
            for (tag, p) in tags { sum[tag, default: 0] += p }
        }
        let expected = sum.mapValues { $0 / Double(lines.count) }.sorted { $0.value > $1.value }.prefix(3)

        let summary = try CLI.run("muscaps", ["tag", demo, "--summary", "--top", "3", "--json"])
        XCTAssertEqual(summary.status, 0, summary.stderr)
        XCTAssertEqual(summary.stdout.split(separator: "\n").count, 1, summary.stdout)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["windows"] as? Int, lines.count)
        let tags = try XCTUnwrap(object["tags"] as? [String: Double])
        XCTAssertEqual(Set(tags.keys), Set(expected.map(\.key)))
        for (tag, p) in expected { XCTAssertEqual(tags[tag]!, p, accuracy: 2e-4, tag) }   // the JSON rounds to 4 digits

        let text = try CLI.run("muscaps", ["tag", demo, "--summary", "--top", "3"])
        XCTAssertEqual(text.stdout, expected.map { "\($0.key) " + String(format: "%.2f", $0.value) }.joined(separator: ", ") + "\n")
    }

    func testPianoClipIsTaggedPiano() throws {
        let result = try CLI.run("muscaps", ["tag", piano, "--json", "--top", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let pianoWindows = result.stdout.split(separator: "\n").filter { $0.contains("\"piano\"") }
        XCTAssertGreaterThanOrEqual(pianoWindows.count, result.stdout.split(separator: "\n").count - 1)
    }

    func testMissingFileIsOneLineErrorAndOtherFilesStillTagged() throws {
        let result = try CLI.run("muscaps", ["tag", "no/such/file.wav", piano])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no/such/file.wav"), result.stderr)
        XCTAssertTrue(result.stdout.contains("\(piano):"), "the readable file must still be tagged")
        XCTAssertTrue(result.stdout.contains("piano"))
    }

    func testDirectoryEmptyAndCorruptFilesAreClearErrors() throws {
        let empty = directory.appendingPathComponent("empty.wav")
        FileManager.default.createFile(atPath: empty.path, contents: Data())
        let corrupt = directory.appendingPathComponent("corrupt.flac")
        FileManager.default.createFile(atPath: corrupt.path, contents: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        for path in [directory.path, empty.path, corrupt.path] {
            let result = try CLI.run("muscaps", ["tag", path])
            XCTAssertEqual(result.status, 1, path)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(path), result.stderr)
            XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
        }
    }

    func testNaNSamplesAreRejected() throws {
        var samples = tone(seconds: 4)
        samples[12_345] = .nan
        let path = directory.appendingPathComponent("nan.wav").path
        try AudioFileWriter.write(samples, channels: 1, sampleRate: 16_000, format: .wavFloat, to: path)
        let result = try CLI.run("muscaps", ["tag", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(path) && result.stderr.lowercased().contains("nan"), result.stderr)
    }

    func testDigitalSilenceIsAnErrorAndQuietWindowsAreMarkedSilent() throws {
        let silent = directory.appendingPathComponent("silent.wav").path
        try AudioFileWriter.write([Float](repeating: 0, count: 16_000 * 4), channels: 1, sampleRate: 16_000, format: .wav16, to: silent)
        let result = try CLI.run("muscaps", ["tag", silent])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("silence"), result.stderr)

        // 2.5 s of tone, then 4 s of silence: the second window (from 2.992 s) is silent, the first is not.
        let mixed = directory.appendingPathComponent("mixed.wav").path
        try AudioFileWriter.write(tone(seconds: 2.5) + [Float](repeating: 0, count: 64_000), channels: 1, sampleRate: 16_000, format: .wav16, to: mixed)
        let tagged = try CLI.run("muscaps", ["tag", mixed, "--json"])
        XCTAssertEqual(tagged.status, 0, tagged.stderr)
        let lines = tagged.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertFalse(lines[0].contains("silent"))
        XCTAssertTrue(lines[1].contains("\"silent\": true") && lines[1].contains("\"tags\": {}"), String(lines[1]))
    }

    func testOtherSampleRatesAndShortClipsAreTagged() throws {
        // 1.5 s at 44.1 kHz stereo: resampled, padded to one window.
        let stereo = tone(seconds: 1.5, sampleRate: 44_100).flatMap { [$0, $0] }
        let path = directory.appendingPathComponent("short.flac").path
        try AudioFileWriter.write(stereo, channels: 2, sampleRate: 44_100, format: .flac16, to: path)
        let result = try CLI.run("muscaps", ["tag", path, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").count, 1)
    }

    func testTruncatedOrMissingWeightsAreClearErrors() throws {
        let weights = CLI.repositoryRoot.appendingPathComponent("Models/musicnn/MTT_musicnn.safetensors")
        let data = try Data(contentsOf: weights)
        let truncated = directory.appendingPathComponent("truncated.safetensors")
        try data.prefix(data.count / 2).write(to: truncated)
        let result = try CLI.run("muscaps", ["tag", piano, "--model", truncated.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(truncated.path) && result.stderr.contains("truncated"), result.stderr)

        let missing = try CLI.run("muscaps", ["tag", piano, "--model", "mtt"], environment: ["MUSCAPS_MODELS": directory.path])
        XCTAssertEqual(missing.status, 0, "the checkout's Models/ is still found after MUSCAPS_MODELS: \(missing.stderr)")
        let unknown = try CLI.run("muscaps", ["tag", piano, "--model", directory.appendingPathComponent("nope.safetensors").path])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no such file"), unknown.stderr)
    }

    func testInvalidOptionsAreRejectedWithUsage() throws {
        for arguments in [["tag", piano, "--top", "0"], ["tag", piano, "--hop", "-1"], ["tag"], ["features", piano, "--out", "x", "--layer", "nope"]] {
            let result = try CLI.run("muscaps", arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.stderr.contains("Error") || result.stderr.contains("error"), result.stderr)
        }
    }

    func testEverySubcommandHasHelp() throws {
        for arguments in [["--help"], ["tag", "--help"], ["features", "--help"]] {
            let result = try CLI.run("muscaps", arguments)
            XCTAssertEqual(result.status, 0)
            XCTAssertTrue(result.stdout.contains("USAGE"), result.stdout)
        }
        let daemon = try CLI.run("muscapsd", ["--help"])
        XCTAssertTrue(daemon.stdout.contains("--source") && daemon.stdout.contains("SIGHUP"), daemon.stdout)
    }

    func testFeaturesWritesEveryLayerWithItsShape() throws {
        for (layer, shapeTail) in [("max_pool", [753]), ("penultimate", [200]), ("taggram", [50]), ("cnn2", [187, 64]), ("timbral", [187, 408])] {
            let out = directory.appendingPathComponent("\(layer).safetensors")
            let result = try CLI.run("muscaps", ["features", piano, "--out", out.path, "--layer", layer])
            XCTAssertEqual(result.status, 0, result.stderr)
            let file = try SafetensorsFile(contentsOf: out)
            let tensor = try file.tensor(layer)
            XCTAssertEqual(Array(tensor.shape.dropFirst()), shapeTail)
            let starts = try file.tensor("window_start")
            XCTAssertEqual(starts.shape, [tensor.shape[0]])
            XCTAssertEqual(file.metadata["model"], "MTT_musicnn")
        }
    }
}
