import Foundation
import NeuralCore
import TestServerSupport
import XCTest

/// The captioning model that ships in `Models/captioning/` (issue 5): the README's first command, the
/// defaults of `muscaps caption` and `muscapsd`, and its model card.
final class ShippedModelTests: XCTestCase {
    private let modelPath = CLI.repositoryRoot.appendingPathComponent("Models/captioning/default.safetensors")
    private let cardPath = CLI.repositoryRoot.appendingPathComponent("Models/captioning/README.md")
    private let demo = CLI.repositoryRoot.appendingPathComponent("Examples/demo.wav").path

    /// `muscaps caption Examples/demo.wav` with no --model: the shipped model describes the demo (a pop
    /// ballad in G major: piano melody, nylon guitar, bass, soft drums) in a sentence that names at least
    /// one thing that is true of it.
    func testTheReadmeCommandCaptionsTheDemoWithTheShippedModel() throws {
        let result = try CLI.run("muscaps", ["caption", demo])
        XCTAssertEqual(result.status, 0, result.stderr)
        let caption = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(caption.split(separator: "\n").count, 1, caption)
        let words = caption.lowercased().split { !$0.isLetter }.map(String.init)
        XCTAssertGreaterThanOrEqual(words.count, 4, caption)
        XCTAssertFalse(caption.contains("<unk>"), caption)
        let trueOfTheDemo: Set<String> = ["piano", "guitar", "major", "band", "drums", "ballad", "pop", "bass", "gentle", "tender"]
        XCTAssertFalse(trueOfTheDemo.isDisjoint(with: words), "the caption names nothing that is true of the demo: \(caption)")

        let json = try CLI.run("muscaps", ["caption", demo, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["caption"] as? String, caption)
        XCTAssertEqual(object["finished"] as? Bool, true)
    }

    /// The model card states the file's real size, parameter count, vocabulary and variant.
    func testTheModelCardDescribesTheShippedFile() throws {
        let card = try String(contentsOf: cardPath, encoding: .utf8)
        let file = try SafetensorsFile(contentsOf: modelPath)
        let bytes = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: modelPath.path)[.size] as? NSNumber).intValue
        XCTAssertTrue(card.contains(String(format: "%.1f MB", Double(bytes) / 1e6)), "size \(bytes) bytes is not in the card")
        // Learned parameters: every tensor but BatchNorm's running statistics.
        let statistics = ["running_mean", "running_var", "num_batches_tracked"]
        let parameters = try file.tensorNames.filter { name in !statistics.contains { name.hasSuffix($0) } }
            .reduce(0) { $0 + (try file.tensor($1)).scalars.count }
        XCTAssertTrue(card.contains("\(parameters) parameters"), "\(parameters) parameters are not in the card")
        let vocabulary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["vocabulary"]).utf8)) as? [String])
        XCTAssertTrue(card.contains("\(vocabulary.count) words"), "vocabulary of \(vocabulary.count) is not in the card")
        let configuration = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["configuration"]).utf8)) as? [String: Any])
        let variant = try XCTUnwrap(configuration["variant"] as? String)
        XCTAssertTrue(card.contains("`\(variant)`"), "variant \(variant) is not in the card")
        XCTAssertEqual(file.metadata["extractor"], "musicnn-mtt")
        let provenance = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(XCTUnwrap(file.metadata["provenance"]).utf8)) as? [String: String])
        XCTAssertEqual(provenance["model_card"], "Models/captioning/README.md")
        XCTAssertTrue(card.contains(try XCTUnwrap(provenance["test_cider_d"])), "the card's test CIDEr-D differs from the file's provenance")
    }

    /// muscapsd captions with the shipped model when no --captioner is given, and `--captioner none`
    /// turns captions off.
    func testTheDaemonUsesTheShippedModelByDefault() throws {
        func finals(_ arguments: [String]) throws -> [[String: Any]] {
            let result = try CLI.run("muscapsd", ["--source", "file:\(demo)", "--output", "stdout:json"] + arguments, timeout: 120)
            XCTAssertEqual(result.status, 0, result.stderr)
            return try result.stdout.split(separator: "\n").map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
                .filter { $0["final"] as? Bool == true }
        }
        let captioned = try finals([])
        XCTAssertFalse(captioned.isEmpty)
        for event in captioned {
            XCTAssertTrue((event["model"] as? String ?? "").hasPrefix("muscaps-"), "\(event)")
            XCTAssertGreaterThan((event["text"] as? String ?? "").split(separator: " ").count, 2, "\(event)")
        }
        let tagsOnly = try finals(["--captioner", "none"])
        XCTAssertFalse(tagsOnly.isEmpty)
        for event in tagsOnly {
            XCTAssertEqual(event["model"] as? String, "musicnn-mtt")
            XCTAssertEqual(event["text"] as? String, "")
        }
    }
}
