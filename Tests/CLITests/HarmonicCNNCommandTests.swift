import Captioning
import Foundation
import NeuralCore
import TestServerSupport
import XCTest

/// `muscaps tag/features --extractor hcnn --weights FILE` through the real binary, on the converted
/// seeded-random checkpoint (no trained Harmonic CNN ships; see Models/README.md): its numbers must be
/// the PyTorch reference's.
final class HarmonicCNNCommandTests: XCTestCase {
    private var directory: URL!
    private var weights: URL!
    private let piano = "Tests/MusicTaggingTests/Fixtures/audio/piano.wav"
    private let reference = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/hcnn/piano.safetensors")

    override func setUpWithError() throws {
        directory = try CLI.temporaryDirectory()
        weights = directory.appendingPathComponent("HCNN_random.safetensors")
        try HarmonicCNNTestWeights.write(to: weights)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testTagGivesTheReferenceTaggramForEachFiveSecondWindow() throws {
        let result = try CLI.run("muscaps", ["tag", piano, "--extractor", "hcnn", "--weights", weights.path, "--json", "--top", "50"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, "a 14.5 s clip has two whole 5 s windows: \(result.stdout)")
        let fixture = try SafetensorsFile(contentsOf: reference)
        let names = try JSONDecoder().decode([String].self, from: Data(HarmonicCNNTestWeights.recordMetadata()["tags"]!.utf8))
        for (index, line) in lines.enumerated() {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["start"] as? Double, Double(5 * index))
            XCTAssertEqual(object["end"] as? Double, Double(5 * index + 5))
            let tags = try XCTUnwrap(object["tags"] as? [String: Double])
            XCTAssertEqual(tags.count, 50)
            let expected = try fixture.tensor("window\(index).taggram").scalars
            for (tag, probability) in zip(names, expected) {
                // Printed with 4 decimals.
                XCTAssertEqual(try XCTUnwrap(tags[tag]), Double(probability), accuracy: 6e-5, "window \(index), \(tag)")
            }
        }
    }

    func testFeaturesWritesTheEmbeddingMusCapsCaptionsFrom() throws {
        let out = directory.appendingPathComponent("piano.features.safetensors")
        let result = try CLI.run("muscaps", ["features", piano, "--out", out.path, "--extractor", "hcnn", "--weights", weights.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try SafetensorsFile(contentsOf: out)
        let embedding = try file.tensor("embedding")
        XCTAssertEqual(embedding.shape, [2, 256])
        XCTAssertEqual(file.metadata["extractor"], "hcnn-random_seeded")
        XCTAssertEqual(try file.tensor("window_start").scalars, [0, 5])
        let fixture = try SafetensorsFile(contentsOf: reference)
        for index in 0..<2 {
            let expected = try fixture.tensor("window\(index).embedding").scalars
            let scale = expected.map(abs).max()!
            for (a, e) in zip(embedding.row(index), expected) { XCTAssertEqual(a, e, accuracy: 1e-4 * max(abs(e), 0.1 * scale)) }
        }
        let layer = try CLI.run("muscaps", ["features", piano, "--out", out.path, "--extractor", "hcnn", "--weights", weights.path, "--layer", "layer5"])
        XCTAssertEqual(layer.status, 0, layer.stderr)
        XCTAssertEqual(try SafetensorsFile(contentsOf: out).tensor("layer5").shape, [2, 4, 9, 256])
    }

    func testBadExtractorUsageIsAOneLineError() throws {
        let missing = try CLI.run("muscaps", ["tag", piano, "--extractor", "hcnn", "--weights", directory.appendingPathComponent("absent.safetensors").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("absent.safetensors") && missing.stderr.contains("no such file"), missing.stderr)
        let musicnnWeights = try CLI.run("muscaps", ["tag", piano, "--extractor", "hcnn", "--weights", "Models/musicnn/MTT_musicnn.safetensors"])
        XCTAssertNotEqual(musicnnWeights.status, 0)
        XCTAssertTrue(musicnnWeights.stderr.contains("'hstft.bw_Q' is missing"), musicnnWeights.stderr)
        let mixed = try CLI.run("muscaps", ["tag", piano, "--extractor", "hcnn", "--model", "msd"])
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.stderr.contains("--model names a musicnn model"), mixed.stderr)
        let unknown = try CLI.run("muscaps", ["tag", piano, "--extractor", "vggish"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("vggish"), unknown.stderr)
        // No weights given and none installed: the error says none ship and how to make them.
        let empty = directory.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let none = try CLI.run("muscaps", ["tag", piano, "--extractor", "hcnn"], environment: ["MUSCAPS_MODELS": empty.path, "HOME": empty.path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("none ship") && none.stderr.contains("Models/README.md"), none.stderr)
    }

    /// An untrained captioning model on `extractorId` features of `size` values (it only has to run).
    private func captioningModel(extractorId: String, size: Int) throws -> URL {
        let vocabulary = Vocabulary(captions: [["soft", "piano"], ["loud", "rock"]], minCount: 1)
        let configuration = CaptioningConfiguration(variant: .lateFusion, audioFeatureSize: size, wordEmbeddingSize: 8,
                                                    encoderHiddenSize: 16, decoderHiddenSize: 16, attentionSize: 8, dropout: 0)
        let model = try MusCapsModel(configuration: configuration, vocabularySize: vocabulary.count, seed: 3)
        let url = directory.appendingPathComponent("\(extractorId).safetensors")
        try CaptioningModelBundle(model: model, vocabulary: vocabulary, extractor: extractorId).save(to: url)
        return url
    }

    func testCaptionRunsOnHarmonicCNNFeaturesAndRefusesOthers() throws {
        let hcnnModel = try captioningModel(extractorId: "hcnn-random_seeded", size: 256)
        let ok = try CLI.run("muscaps", ["caption", piano, "--model", hcnnModel.path, "--weights", weights.path, "--json", "--every", "5", "--context", "10"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let lines = ok.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, ok.stdout)   // captions at 5 s and 10 s (the 14.5 s clip has two 5 s windows)
        let last = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        XCTAssertEqual(last["start"] as? Double, 0)
        XCTAssertEqual(last["end"] as? Double, 10)
        XCTAssertNotNil(last["caption"] as? String)

        // A musicnn-trained model refuses Harmonic CNN features, and vice versa; a model on other
        // Harmonic CNN weights refuses these.
        let musicnnModel = try captioningModel(extractorId: "musicnn-mtt", size: 753)
        let wrongKind = try CLI.run("muscaps", ["caption", piano, "--model", musicnnModel.path, "--extractor", "hcnn", "--weights", weights.path])
        XCTAssertNotEqual(wrongKind.status, 0)
        XCTAssertTrue(wrongKind.stderr.contains("trained on 'musicnn-mtt' features (753-d), given 'hcnn-random_seeded' features (256-d)"), wrongKind.stderr)
        let wrongBack = try CLI.run("muscaps", ["caption", piano, "--model", hcnnModel.path, "--extractor", "musicnn"])
        XCTAssertNotEqual(wrongBack.status, 0)
        XCTAssertTrue(wrongBack.stderr.contains("trained on 'hcnn-random_seeded' features (256-d), given 'musicnn-mtt' features (753-d)"), wrongBack.stderr)
        let otherWeights = try captioningModel(extractorId: "hcnn-mtt", size: 256)
        let wrongWeights = try CLI.run("muscaps", ["caption", piano, "--model", otherWeights.path, "--weights", weights.path])
        XCTAssertNotEqual(wrongWeights.status, 0)
        XCTAssertTrue(wrongWeights.stderr.contains("compute 'hcnn-random_seeded' features, not 'hcnn-mtt'"), wrongWeights.stderr)
        // Right extractor id, wrong feature size (a model file edited or built by hand).
        let wrongSize = try captioningModel(extractorId: "hcnn-random_seeded", size: 200)
        let sized = try CLI.run("muscaps", ["caption", piano, "--model", wrongSize.path, "--weights", weights.path])
        XCTAssertNotEqual(sized.status, 0)
        XCTAssertTrue(sized.stderr.contains("expects 200-d audio features, 'hcnn-random_seeded' gives 256-d"), sized.stderr)
    }
}
