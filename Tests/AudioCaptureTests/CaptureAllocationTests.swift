@testable import AudioCapture
import CAllocationCounter
import Foundation
import TestServerSupport
import ThreadSupport
import XCTest

/// Steady-state capture touches no heap: neither the JACK real-time thread (process callback →
/// ring) nor the consumer (ring → resampler → closure). CAllocationCounter interposes malloc and
/// friends process-wide, so each window counts every thread of the test process.
final class CaptureAllocationTests: XCTestCase {
    func testJackCallbackAndConsumerAllocateNothingInSteadyState() throws {
        let server = try JackTestServer()
        try server.startSimpleClient("tone")
        var options = CaptureOptions()
        options.jackServer = server.name
        options.clientName = "muscaps-alloc"
        let source = JackCaptureSource(portPattern: "tone", options: options)
        defer { source.stop() }
        try source.start()
        let consumer = try CaptureConsumer(source: source)
        var energy = 0.0
        func consume(for seconds: Double) throws {
            let deadline = Monotonic.deadline(after: seconds)
            while Monotonic.now() < deadline {
                _ = try consumer.pull(timeout: 0.05) { chunk in
                    for x in chunk { energy += Double(x * x) }
                }
            }
        }
        // Warm-up, including the pattern measured below (a backlog drained in full-size reads):
        // libsoxr grows its internal FIFO (realloc) until it has seen the largest input and FIFO
        // position it will meet; that is bounded and happens only in the first seconds.
        for _ in 0..<3 {
            try consume(for: 0.3)
            usleep(300_000)
        }
        try consume(for: 0.3)

        // The producer alone: the JACK thread writes, nobody reads (0.3 s fits the ring easily).
        let cyclesBefore = source.processCycles
        CAllocationCounter_start()
        usleep(300_000)
        let producerAllocations = CAllocationCounter_stop()
        XCTAssertGreaterThan(source.processCycles - cyclesBefore, 5, "the process callback must have run")
        XCTAssertEqual(producerAllocations, 0, "allocations while only the JACK thread was capturing")

        // Producer and consumer together.
        let delivered = consumer.samplesDelivered
        CAllocationCounter_start()
        try consume(for: 1.5)
        let steadyAllocations = CAllocationCounter_stop()
        XCTAssertGreaterThan(consumer.samplesDelivered - delivered, 4_000)
        XCTAssertEqual(steadyAllocations, 0, "allocations while capturing and consuming")
        XCTAssertGreaterThan(energy, 0)

        // The counter works: an allocation is seen.
        CAllocationCounter_start()
        let probe = [Float](repeating: 1, count: 1_000 + Int(energy.sign == .minus ? 1 : 0))
        XCTAssertGreaterThan(CAllocationCounter_stop(), 0)
        XCTAssertEqual(probe.count, 1_000)
    }
}
