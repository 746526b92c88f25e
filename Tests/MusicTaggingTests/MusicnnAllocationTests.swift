import CAllocationCounter
import Foundation
import NeuralCore
import XCTest
@testable import MusicTagging

/// The per-window inference path must not touch the heap once warm (the daemon runs it every second).
final class MusicnnAllocationTests: XCTestCase {
    func testForwardPassAllocatesNothingInSteadyState() throws {
        // As the executables run it: single-threaded BLAS per model (OpenBLAS's threaded level-3 driver
        // mallocs a job array on every call, outside our control).
        BLAS.threadCount = 1
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        let model = try Musicnn(contentsOf: Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors"))
        let output = MusicnnOutput(tagCount: model.tags.count)
        var window = [Float](repeating: 0, count: Musicnn.windowFrames * Musicnn.melBands)
        for i in window.indices { window[i] = Float(i % 97) / 50 }
        window.withUnsafeBufferPointer { model.forward(window: $0.baseAddress!, into: output) }  // warm-up

        CAllocationCounter_start()
        for _ in 0..<3 {
            window.withUnsafeBufferPointer { model.forward(window: $0.baseAddress!, into: output) }
        }
        let allocations = CAllocationCounter_stop()
        XCTAssertEqual(allocations, 0, "musicnn's forward pass allocated \(allocations) times in 3 warm windows")

        // The counter itself works: an array allocation is seen.
        CAllocationCounter_start()
        let probe = [Float](repeating: 1, count: 1000 + Int(output.taggramBuffer[0]))
        let counted = CAllocationCounter_stop()
        XCTAssertGreaterThan(counted, 0)
        XCTAssertEqual(probe.count >= 1000, true)
    }

    func testParallelWorkersGiveTheSameResultsInOrder() throws {
        let model = try Musicnn(contentsOf: Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors"))
        var samples = [Float](repeating: 0, count: 16_000 * 13)
        for i in samples.indices { samples[i] = 0.3 * sin(Float(i) * 0.05 + 0.00001 * Float(i * i % 7919)) }
        func run(workers: Int) -> [(Double, [Float])] {
            var results: [(Double, [Float])] = []
            MusicnnTagger(model: model, hopFrames: 100, workers: workers).analyze(samples: samples) { window, output in
                results.append((window.start, output.taggram + output.maxPool))
            }
            return results
        }
        let serial = run(workers: 1), parallel = run(workers: 3)
        XCTAssertEqual(serial.count, (813 - 187) / 100 + 1)
        XCTAssertEqual(serial.map(\.0), parallel.map(\.0))
        for (a, b) in zip(serial, parallel) { XCTAssertEqual(a.1, b.1) }
    }
}

/// One window on two cores (the daemon's path): the same numbers, and still no allocation once warm.
final class MusicnnSplitTests: XCTestCase {
    func testSplitWindowsEqualSerialWindowsAndAllocateNothing() throws {
        BLAS.threadCount = 1
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        let url = Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors")
        let serial = try Musicnn(contentsOf: url), split = try Musicnn(contentsOf: url)
        split.splitter = HalfSplitter()
        let serialOutput = MusicnnOutput(tagCount: serial.tags.count), splitOutput = MusicnnOutput(tagCount: split.tags.count)
        var window = [Float](repeating: 0, count: Musicnn.windowFrames * Musicnn.melBands)
        for i in window.indices { window[i] = sin(Float(i) * 0.37) + Float(i % 97) / 50 }
        window.withUnsafeBufferPointer {
            serial.forward(window: $0.baseAddress!, into: serialOutput)
            split.forward(window: $0.baseAddress!, into: splitOutput)  // warm-up: allocates the helper's scratch
        }
        // Each half is the same GEMM on fewer rows, so every value is computed by the same kernel code path;
        // allow for a different blocking of the rows all the same.
        for (a, b) in zip(serialOutput.featureMap, splitOutput.featureMap) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a))) }
        for (a, b) in zip(serialOutput.taggram, splitOutput.taggram) { XCTAssertEqual(a, b, accuracy: 1e-6) }

        CAllocationCounter_start()
        for _ in 0..<3 { window.withUnsafeBufferPointer { split.forward(window: $0.baseAddress!, into: splitOutput) } }
        let allocations = CAllocationCounter_stop()
        XCTAssertEqual(allocations, 0, "the split forward pass allocated \(allocations) times in 3 warm windows")
    }
}
