import Captioning
import Foundation
import TestServerSupport
import XCTest

/// `muscapsd` with the Harmonic CNN (5 s windows) on the converted seeded-random checkpoint: the same
/// windows and tags as `muscaps tag --extractor hcnn`, from the command line and from the config file.
final class HarmonicCNNDaemonTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var weights: URL!
    private let piano = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path
    private var daemonPath: String { CLI.productsDirectory.appendingPathComponent("muscapsd").path }

    override func setUpWithError() throws {
        scratch = try ScratchDirectory("muscapsd-hcnn-test")
        weights = URL(fileURLWithPath: scratch.file("HCNN_random.safetensors"))
        try HarmonicCNNTestWeights.write(to: weights)
    }

    private func run(_ arguments: [String], name: String) throws -> (status: Int32, events: [[String: Any]], stderr: String) {
        let out = scratch.file("\(name).out"), err = scratch.file("\(name).err")
        let child = try ChildProcess(daemonPath, arguments, stdout: .file(out), stderr: .file(err))
        let status = child.wait(timeout: 180)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let events = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (status ?? -1, events, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// `muscaps tag --extractor hcnn --hop 1 --top 3`: window end → top-3 tag set.
    private func fileWindows() throws -> [Double: Set<String>] {
        let result = try CLI.run("muscaps", ["tag", piano, "--extractor", "hcnn", "--weights", weights.path, "--hop", "1", "--top", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        var windows: [Double: Set<String>] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            windows[try XCTUnwrap(object["end"] as? Double)] = Set((object["tags"] as? [String: Double] ?? [:]).keys)
        }
        return windows
    }

    func testDaemonTagsFiveSecondWindowsLikeTheTagCommand() throws {
        let expected = try fileWindows()
        XCTAssertEqual(expected.count, 10, "14.5 s at hop 1 s: windows ending at 5 … 14 s")
        let config = scratch.file("hcnn.toml")
        try "extractor = \"hcnn\"\nweights = \"\(weights.path)\"\ntop_tags = 3\ncaptioner = \"none\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        for (name, arguments) in [
            ("cli", ["--source", "file:\(piano)", "--output", "stdout:json", "--extractor", "hcnn", "--weights", weights.path,
                     "--top-tags", "3", "--captioner", "none"]),
            ("config", ["--source", "file:\(piano)", "--output", "stdout:json", "--config", config]),
        ] {
            let result = try run(arguments, name: name)
            XCTAssertEqual(result.status, 0, result.stderr)
            let finals = result.events.filter { ($0["final"] as? Bool) == true && ($0["kind"] as? String) == "caption" }
            XCTAssertFalse(finals.isEmpty, "\(name): no events: \(result.stderr)")
            XCTAssertEqual(finals.first?["t0"] as? Double, 0, name)
            XCTAssertEqual(finals.last?["t1"] as? Double, 14, name)
            for event in finals {
                let end = try XCTUnwrap(event["t1"] as? Double)
                let tags = Set((event["tags"] as? [String: Any] ?? [:]).keys)
                XCTAssertEqual(tags, expected[end], "\(name): event ending at \(end)")
                XCTAssertEqual(event["model"] as? String, "hcnn-random_seeded", name)
            }
        }
    }

    func testCaptionerTrainedOnHarmonicCNNFeaturesCaptionsAndAMismatchIsRefused() throws {
        let vocabulary = Vocabulary(captions: [["soft", "piano"], ["loud", "rock"]], minCount: 1)
        func bundle(_ extractorId: String, size: Int) throws -> String {
            let configuration = CaptioningConfiguration(variant: .lateFusion, audioFeatureSize: size, wordEmbeddingSize: 8,
                                                        encoderHiddenSize: 16, decoderHiddenSize: 16, attentionSize: 8, dropout: 0)
            let path = scratch.file("\(extractorId).safetensors")
            try CaptioningModelBundle(model: try MusCapsModel(configuration: configuration, vocabularySize: vocabulary.count, seed: 5),
                                      vocabulary: vocabulary, extractor: extractorId).save(to: URL(fileURLWithPath: path))
            return path
        }
        // The captioner brings its extractor: no --extractor needed, only the weights.
        let hcnnCaptioner = try bundle("hcnn-random_seeded", size: 256)
        let captioned = try run(["--source", "file:\(piano)", "--output", "stdout:json", "--weights", weights.path,
                                 "--captioner", hcnnCaptioner, "--hop", "5", "--beam", "1"], name: "captioned")
        XCTAssertEqual(captioned.status, 0, captioned.stderr)
        let finals = captioned.events.filter { ($0["final"] as? Bool) == true && ($0["kind"] as? String) == "caption" }
        XCTAssertFalse(finals.isEmpty, captioned.stderr)
        XCTAssertTrue(finals.allSatisfy { ($0["model"] as? String) == "muscaps-late-hcnn-random_seeded" }, "\(finals)")
        XCTAssertTrue(finals.allSatisfy { !(($0["text"] as? String) ?? "").isEmpty }, "captions expected: \(finals)")

        let musicnnCaptioner = try bundle("musicnn-mtt", size: 753)
        let refused = try run(["--source", "file:\(piano)", "--output", "stdout:json", "--extractor", "hcnn", "--weights", weights.path,
                               "--captioner", musicnnCaptioner], name: "refused")
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("trained on musicnn-mtt features; use --extractor musicnn"), refused.stderr)
        let otherWeights = try bundle("hcnn-mtt", size: 256)
        let wrongWeights = try run(["--source", "file:\(piano)", "--output", "stdout:json", "--weights", weights.path,
                                    "--captioner", otherWeights], name: "wrong-weights")
        XCTAssertNotEqual(wrongWeights.status, 0)
        XCTAssertTrue(wrongWeights.stderr.contains("trained on 'hcnn-mtt' features (256-d), given 'hcnn-random_seeded' features (256-d)"), wrongWeights.stderr)
        let badKey = scratch.file("bad.toml")
        try "extractor = \"vggish\"\n".write(toFile: badKey, atomically: true, encoding: .utf8)
        let badConfig = try run(["--source", "file:\(piano)", "--config", badKey], name: "bad-config")
        XCTAssertNotEqual(badConfig.status, 0)
        XCTAssertTrue(badConfig.stderr.contains("extractor must be musicnn or hcnn, got 'vggish'") && badConfig.stderr.contains(":1"), badConfig.stderr)
    }
}
