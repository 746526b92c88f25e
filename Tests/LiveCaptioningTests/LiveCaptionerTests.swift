import AudioIO
import Captioning
import Foundation
import MusicTagging
import NeuralCore
import TestServerSupport
import XCTest
@testable import LiveCaptioning

/// Captions, live: a small MusCaps model trained here on two clips' musicnn features describes each
/// clip when the live pipeline — and the real muscapsd binary — hears it.
final class LiveCaptionerTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private static func audio(_ name: String) -> String { root.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/\(name).wav").path }
    private let pianoCaption = ["soft", "solo", "piano", "music"]
    private let rockCaption = ["loud", "rock", "band", "with", "drums"]

    /// Trains an early-fusion model on (piano features → pianoCaption, rock features → rockCaption).
    private func trainBundle() throws -> CaptioningModelBundle {
        BLAS.threadCount = 1
        let tagger = try Musicnn(contentsOf: Self.root.appendingPathComponent("Models/musicnn/MTT_musicnn.safetensors"))
        func features(_ name: String) throws -> [Float] {
            var rows: [Float] = []
            try MusicnnTagger(model: tagger).analyze(file: Self.audio(name)) { _, output in rows += output.maxPool }
            return Array(rows.prefix(4 * Musicnn.featureChannels))
        }
        let vocabulary = Vocabulary(captions: [pianoCaption, rockCaption], minCount: 1)
        let configuration = CaptioningConfiguration(variant: .earlyFusion, wordEmbeddingSize: 16, encoderHiddenSize: 32,
                                                    decoderHiddenSize: 32, attentionSize: 16, dropout: 0)
        let model = try MusCapsModel(configuration: configuration, vocabularySize: vocabulary.count, seed: 11)
        func padded(_ caption: [String]) -> [Int32] {
            let ids = vocabulary.encode(caption).map(Int32.init)
            return ids + [Int32](repeating: 0, count: 7 - ids.count)
        }
        let batch = CaptionBatch(batchSize: 2, maxChunks: 4, features: try features("piano") + features("rock"),
                                 chunkCounts: [4, 4], captionLength: 7, tokens: padded(pianoCaption) + padded(rockCaption))
        let adam = Adam(parameters: model.parameters, learningRate: 1e-2)
        var loss: Float = .infinity, steps = 0
        while loss > 0.02 && steps < 1_000 {
            loss = try model.forwardTraining(batch)
            model.backward()
            GradientClipping.clipNorm(model.parameters, maxNorm: 12)
            adam.step()
            steps += 1
        }
        XCTAssertLessThan(loss, 0.02, "after \(steps) steps")
        return try CaptioningModelBundle(model: model, vocabulary: vocabulary, extractor: "musicnn-mtt")
    }

    func testThePipelineCaptionsWhatItHears() throws {
        let bundle = try trainBundle()
        for (clip, expected) in [("piano", pianoCaption), ("rock", rockCaption)] {
            let captioner = try ModelCaptioner(bundle: bundle, beamWidth: 1)
            let samples = try AudioFileDecoder.decode(Self.audio(clip)).samples
            var events: [CaptionEvent] = []
            let pipeline = LivePipeline(model: try Musicnn(contentsOf: Self.root.appendingPathComponent("Models/musicnn/MTT_musicnn.safetensors")),
                                        captioner: captioner, settings: .init(hopSeconds: 1)) { events.append($0) }
            samples.withUnsafeBufferPointer { pipeline.push($0) }
            pipeline.finish()
            let captions = events.filter { $0.isFinal && $0.kind == .caption }
            XCTAssertFalse(captions.isEmpty)
            let right = captions.filter { $0.text == CaptionText.sentence(expected) }
            XCTAssertGreaterThanOrEqual(Double(right.reduce(0) { $0 + $1.duration }), 0.8 * captions.reduce(0) { $0 + $1.duration },
                                        "\(clip): \(captions.map { "\($0.start)–\($0.end) \($0.text)" })")
            XCTAssertTrue(captions.allSatisfy { $0.model == "muscaps-early-musicnn-mtt" })
        }
    }

    func testTheDaemonBinaryLoadsTheCheckpointAndCaptionsAFile() throws {
        let bundle = try trainBundle()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("captioner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("tiny.safetensors")
        try bundle.save(to: checkpoint)
        let products = BuildProducts.directory
        let process = Process()
        process.executableURL = products.appendingPathComponent("muscapsd")
        process.arguments = ["--source", "file:\(Self.audio("piano"))", "--output", "stdout:json", "--captioner", checkpoint.path, "--beam", "3"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, errors)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let texts = lines.compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["kind"] as? String == "caption" else { return nil }
            return object["text"] as? String
        }
        XCTAssertFalse(texts.isEmpty, errors)
        XCTAssertTrue(texts.contains("Soft solo piano music"), "\(texts)")

        // A checkpoint for other features is refused with a clear message; a corrupt one names the file.
        let corrupt = directory.appendingPathComponent("corrupt.safetensors")
        try Data(repeating: 7, count: 100).write(to: corrupt)
        let bad = Process()
        bad.executableURL = products.appendingPathComponent("muscapsd")
        bad.arguments = ["--source", "file:\(Self.audio("piano"))", "--captioner", corrupt.path]
        let badErr = Pipe()
        bad.standardError = badErr
        bad.standardOutput = FileHandle.nullDevice
        try bad.run()
        let message = String(decoding: badErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bad.waitUntilExit()
        XCTAssertNotEqual(bad.terminationStatus, 0)
        XCTAssertTrue(message.contains(corrupt.path), message)
    }
}
