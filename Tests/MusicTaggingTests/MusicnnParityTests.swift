import Foundation
import NeuralCore
import XCTest
@testable import MusicTagging

/// musicnn against the TensorFlow reference (musicnn 0.1.0), window by window, every exposed layer.
/// The network is fed the reference's own log-mel so this isolates the model from the spectrogram.
final class MusicnnParityTests: XCTestCase {
    private func checkModel(_ modelName: String, minimumClips: Int) throws {
        let model = try Musicnn(contentsOf: Fixtures.models.appendingPathComponent("musicnn/\(modelName).safetensors"))
        let references = try Fixtures.referenceOutputs(model: modelName)
        XCTAssertGreaterThanOrEqual(references.count, minimumClips, "golden fixtures for \(modelName) are missing")
        let output = MusicnnOutput(tagCount: model.tags.count)
        for (clip, reference) in references {
            let mel = try reference.tensor("mel")
            let taggram = try reference.tensor("taggram")
            let windows = taggram.shape[0]
            XCTAssertGreaterThan(windows, 0)
            XCTAssertEqual(windows, (mel.shape[0] - Musicnn.windowFrames) / Musicnn.windowFrames + 1, "\(clip): window count")
            let perFrameWindows = try reference.tensor("cnn1").shape[0]
            for w in 0..<windows {
                mel.scalars.withUnsafeBufferPointer { buffer in
                    model.forward(window: buffer.baseAddress! + w * Musicnn.windowFrames * Musicnn.melBands, into: output)
                }
                let label = "\(clip) \(modelName) window \(w)"
                // Taggram: absolute 1e-3.
                let worstTag = zip(output.taggram, taggram.row(w)).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(worstTag, 1e-3, "\(label) taggram")
                for (layer, name) in [(MusicnnLayer.maxPool, "max_pool"), (.meanPool, "mean_pool"), (.penultimate, "penultimate")] {
                    assertClose(output.values(of: layer), Array(try reference.tensor(name).row(w)),
                                relative: 1e-3, "\(label) \(name)")
                }
                if w < perFrameWindows {
                    for layer in [MusicnnLayer.timbral, .temporal, .cnn1, .cnn2, .cnn3] {
                        assertClose(output.values(of: layer), Array(try reference.tensor(layer.rawValue).row(w)),
                                    relative: 1e-3, "\(label) \(layer.rawValue)")
                    }
                }
            }
        }
    }

    func testMTTMatchesTensorFlowOnEveryClip() throws {
        try checkModel("MTT_musicnn", minimumClips: 3)
    }

    func testMSDMatchesTensorFlow() throws {
        try checkModel("MSD_musicnn", minimumClips: 1)
    }

    func testTagNamesComeFromTheWeightsFile() throws {
        let model = try Musicnn(contentsOf: Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors"))
        XCTAssertEqual(model.tags.count, 50)
        XCTAssertTrue(model.tags.contains("piano"))
        XCTAssertEqual(model.name, "MTT_musicnn")
    }
}
