import AudioIO
import Foundation
import NeuralCore
import XCTest
@testable import MusicTagging

/// The whole file path — decode, resample, mel, windows, network — against the reference's outputs for
/// the same audio files (the reference ran `librosa.load` + musicnn on them).
final class PipelineParityTests: XCTestCase {
    func testAudioFilesTagLikeTheReference() throws {
        let model = try Musicnn(contentsOf: Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors"))
        let tagger = MusicnnTagger(model: model, workers: 2)
        let references = try Fixtures.referenceOutputs(model: "MTT_musicnn").filter { $0.clip != "demo" }
        XCTAssertGreaterThanOrEqual(references.count, 3)
        for (clip, reference) in references {
            let audio = try AudioFileDecoder.decode(Fixtures.audio.appendingPathComponent("\(clip).wav").path)
            let taggram = try reference.tensor("taggram"), maxPool = try reference.tensor("max_pool")
            var windows = 0
            tagger.analyze(samples: audio.samples) { window, output in
                let worst = zip(output.taggram, taggram.row(window.index)).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(worst, 1e-3, "\(clip) window \(window.index) taggram")
                assertClose(output.maxPool, Array(maxPool.row(window.index)), relative: 1e-3, "\(clip) window \(window.index) max_pool")
                XCTAssertFalse(window.isSilent)
                windows += 1
            }
            XCTAssertEqual(windows, taggram.shape[0], "\(clip): window count")
        }
    }
}
