import CAllocationCounter
import Foundation
import NeuralCore
import XCTest
@testable import Captioning

/// The decoders' search (`GreedyDecoder.run`, `BeamSearchDecoder.run`) allocates nothing per caption, counted on
/// this thread for every run, next to a positive control that the same counting does see an allocation.
/// (What the daemon's `ModelCaptioner.caption` allocates around the search — the result and its sentence — is
/// measured in LiveCaptioningTests/CaptionerAllocationTests.)
final class DecodingAllocationTests: XCTestCase {
    private func untrained(_ variant: CaptioningConfiguration.Variant) throws -> MusCapsModel {
        try MusCapsModel(configuration: TinyCaptioning.configuration(variant), vocabularySize: 30, seed: 2)
    }

    /// A model that never wants to stop: <eos> gets a hopeless bias (every caption runs to the length limit).
    private func neverEnding(_ variant: CaptioningConfiguration.Variant) throws -> MusCapsModel {
        let model = try untrained(variant)
        model.output.bias.value[Vocabulary.endIndex] = -1e4
        model.output.bias.markModified()
        return model
    }

    func testCounterSeesAnAllocationOnThisThread() {
        CAllocationCounter_startOnThisThread()
        let array = [Int](repeating: 7, count: 1_000 + Int.random(in: 0..<2))
        let counted = CAllocationCounter_stop()
        XCTAssertGreaterThanOrEqual(counted, 1, "a \(array.count)-element array was allocated on this thread")
        // And not another thread's: a thread started beforehand allocates while this one counts.
        let go = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            go.wait()
            let made = [Int](repeating: 1, count: 4_096 + Int.random(in: 0..<2))
            if made.isEmpty { print(made) }
            done.signal()
        }
        CAllocationCounter_startOnThisThread()
        go.signal()
        done.wait()
        XCTAssertEqual(CAllocationCounter_stop(), 0, "another thread's allocations are not this thread's")
        CAllocationCounter_start()  // the all-threads mode does count it
        Thread.detachNewThread { let made = [Int](repeating: 1, count: 4_096 + Int.random(in: 0..<2)); if made.isEmpty { print(made) }; done.signal() }
        done.wait()
        XCTAssertGreaterThan(CAllocationCounter_stop(), 0)
    }

    func testGreedyAndBeamDecodingAllocateNothingPerCaption() throws {
        // As the executables run: single-threaded BLAS (OpenBLAS's threaded driver mallocs per call).
        BLAS.threadCount = 1
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            for model in [try untrained(variant), try neverEnding(variant)] {
                let greedy = GreedyDecoder(model: model, maxTracks: 4)
                let beam = BeamSearchDecoder(model: model, beamWidth: 5)
                let packed = PackedFeatures(tracks: corpus.features[...], dimension: 24, pooled: false)
                let f = corpus.features[3].scalars
                try packed.values.withUnsafeBufferPointer { features in
                    try packed.counts.withUnsafeBufferPointer { counts in
                        try f.withUnsafeBufferPointer { track in
                            // Warm-up (folds the inference weights once).
                            try greedy.run(features: features, tracks: 4, chunkStride: packed.stride, chunkCounts: counts)
                            try beam.run(features: track, chunkCount: 4)
                            for run in 1...3 {  // every run must be allocation-free
                                CAllocationCounter_startOnThisThread()
                                try greedy.run(features: features, tracks: 4, chunkStride: packed.stride, chunkCounts: counts)
                                try beam.run(features: track, chunkCount: 4)
                                let allocations = CAllocationCounter_stop()
                                XCTAssertEqual(allocations, 0, "\(variant) run \(run): decoding allocated \(allocations) times")
                            }
                            // Positive control, same place and counting: reading the result out allocates.
                            CAllocationCounter_startOnThisThread()
                            let caption = beam.result
                            XCTAssertGreaterThan(CAllocationCounter_stop(), 0, "\(variant): the counter missed the result array (\(caption.tokenIds.count) tokens)")
                        }
                    }
                }
                XCTAssertEqual(greedy.generated(0).count, greedy.result(0).tokenIds.count)
            }
        }
    }

}
