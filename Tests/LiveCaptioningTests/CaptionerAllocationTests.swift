import CAllocationCounter
import Captioning
import Foundation
import LiveCaptioning
import MusicTagging
import NeuralCore
import XCTest

/// Heap allocations on the exact path the daemon calls per caption, `ModelCaptioner.caption` with the shipped
/// model, counted on this thread for every call. The search itself allocates nothing (DecodingAllocationTests);
/// around it the caption is turned into a value: the token-id array of `DecodedCaption`, the word list and the
/// sentence `String` the caption event carries. This pins that number, so docs/BENCHMARKS.md can state it.
final class CaptionerAllocationTests: XCTestCase {
    func testModelCaptionerAllocatesOnlyTheResultPerCaption() throws {
        BLAS.threadCount = 1  // as the daemon runs inference (OpenBLAS's threaded driver mallocs per call)
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let bundle = try CaptioningModelBundle.load(root.appendingPathComponent("Models/captioning/default.safetensors"))
        var random = SystemRandomNumberGenerator()
        let chunks = 10
        let features = (0..<(chunks * Musicnn.featureChannels)).map { _ in Float.random(in: 0...1, using: &random) }
        for beamWidth in [1, DecodingDefaults.beamWidth] {
            let captioner = try ModelCaptioner(bundle: bundle, beamWidth: beamWidth)
            try features.withUnsafeBufferPointer { window in
                _ = try captioner.caption(features: window, chunks: chunks, dimension: Musicnn.featureChannels) // warm-up
                var counts: [UInt64] = []
                counts.reserveCapacity(10)
                var text = ""
                for _ in 0..<10 {
                    CAllocationCounter_startOnThisThread()
                    text = try captioner.caption(features: window, chunks: chunks, dimension: Musicnn.featureChannels)
                    counts.append(CAllocationCounter_stop())
                }
                XCTAssertFalse(text.isEmpty)
                let words = text.split(separator: " ").count
                // Every call: the result array, the words and the sentence — a handful, never one per step.
                for (call, count) in counts.enumerated() {
                    XCTAssertGreaterThan(count, 0, "beam \(beamWidth) call \(call): a caption String must be allocated")
                    XCTAssertLessThanOrEqual(Int(count), 3 * words + 8, "beam \(beamWidth) call \(call): \(count) allocations for \(words) words")
                }
                XCTAssertEqual(Set(counts).count, 1, "beam \(beamWidth): the same caption must cost the same every call: \(counts)")
                print("ModelCaptioner.caption, beam \(beamWidth), \(chunks) windows: \(counts[0]) heap allocations per caption (\(words) words: \"\(text)\")")
            }
        }
    }
}
