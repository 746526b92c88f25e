import Foundation
import NeuralCore
import XCTest
@testable import Captioning

final class ModelBundleTests: XCTestCase {
    func testABundleRoundTripsModelVocabularyAndExtractor() throws {
        let directory = try TinyCaptioning.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        for variant in CaptioningConfiguration.Variant.allCases {
            let model = try MusCapsModel(configuration: TinyCaptioning.configuration(variant), vocabularySize: vocabulary.count, seed: 4)
            let url = directory.appendingPathComponent("\(variant).safetensors")
            try CaptioningModelBundle(model: model, vocabulary: vocabulary, extractor: "musicnn-msd").save(to: url, extraMetadata: ["note": "x"])
            let loaded = try CaptioningModelBundle.load(url)
            XCTAssertEqual(loaded.vocabulary, vocabulary)
            XCTAssertEqual(loaded.extractor, "musicnn-msd")
            XCTAssertEqual(loaded.musicnnModel, .msd)
            XCTAssertEqual(loaded.metadata["note"], "x")
            XCTAssertEqual(loaded.model.configuration, model.configuration)
            XCTAssertEqual(try GreedyDecoder(model: loaded.model).decode(corpus.features[1]), try GreedyDecoder(model: model).decode(corpus.features[1]))
        }
    }

    func testFilesThatAreNotCaptioningModelsAreOneLineErrors() throws {
        let directory = try TinyCaptioning.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.safetensors")
        XCTAssertThrowsError(try CaptioningModelBundle.load(missing)) { XCTAssertTrue("\($0)".hasPrefix(missing.path + ": "), "\($0)") }
        let plain = directory.appendingPathComponent("plain.safetensors")
        try SafetensorsWriter.write(tensors: [("x", Tensor(shape: [1], scalars: [1]))], to: plain)
        XCTAssertThrowsError(try CaptioningModelBundle.load(plain)) { XCTAssertEqual("\($0)", "\(plain.path): not a captioning model (no 'configuration' metadata)") }
        let model = try MusCapsModel(configuration: TinyCaptioning.configuration(.earlyFusion), vocabularySize: 9)
        let noVocabulary = directory.appendingPathComponent("novocab.safetensors")
        try model.save(to: noVocabulary)
        XCTAssertThrowsError(try CaptioningModelBundle.load(noVocabulary)) { XCTAssertEqual("\($0)", "\(noVocabulary.path): captioning model has no 'vocabulary' metadata") }
        let wrong = directory.appendingPathComponent("wrong.safetensors")
        try model.save(to: wrong, extraMetadata: ["vocabulary": "[\"<pad>\", \"<unk>\", \"<sos>\", \"<eos>\"]"])
        XCTAssertThrowsError(try CaptioningModelBundle.load(wrong)) { XCTAssertEqual("\($0)", "\(wrong.path): vocabulary has 4 words but the model predicts 9") }
        let nowhere = [directory.appendingPathComponent("no-models-here")]
        XCTAssertThrowsError(try CaptioningModelBundle.resolve(nil, searchDirectories: nowhere)) { error in
            XCTAssertEqual("\(error)", "no default captioning model is installed (captioning/default.safetensors is in none of: \(nowhere[0].path); set MUSCAPS_MODELS to the folder holding captioning/); pass a trained model with --model PATH (make one with `muscaps train`)")
        }
        let installed = directory.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: installed.appendingPathComponent("captioning"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: wrong, to: installed.appendingPathComponent(CaptioningModelBundle.defaultModelPath))
        XCTAssertEqual(try CaptioningModelBundle.resolve(nil, searchDirectories: nowhere + [installed]).path,
                       installed.appendingPathComponent(CaptioningModelBundle.defaultModelPath).path)
        XCTAssertEqual(try CaptioningModelBundle.resolve("/x/y.safetensors").path, "/x/y.safetensors")
    }

    func testLearningCurvePlotTicksAreNice() {
        XCTAssertEqual(SVGLinePlot.ticks(0.13, 3.1), [0, 1, 2, 3, 4])
        XCTAssertEqual(SVGLinePlot.ticks(0.13, 1.9), [0, 0.5, 1, 1.5, 2])
        XCTAssertEqual(SVGLinePlot.ticks(1, 37, count: 8), [0, 5, 10, 15, 20, 25, 30, 35, 40])
        XCTAssertEqual(SVGLinePlot.ticks(2, 2).count > 1, true)
        let svg = LearningCurvePlot.svg([], title: "empty <run>")
        XCTAssertTrue(svg.contains("empty &lt;run&gt;"))
        XCTAssertTrue(svg.contains("CIDEr-D not computed"))
    }
}
