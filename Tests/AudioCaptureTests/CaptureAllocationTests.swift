@testable import AudioCapture
import CAllocationCounter
import Foundation
import TestServerSupport
import ThreadSupport
import XCTest

/// Steady-state capture touches no heap: neither the JACK real-time thread (process callback →
/// ring), nor the PulseAudio capture thread (main loop → read callback → ring), nor the consumer
/// (ring → resampler → closure). CAllocationCounter interposes malloc and
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

    /// The PulseAudio capture thread in steady state: libpulse's main loop reading the server's socket and the
    /// read callback (C: pa_stream_peek, copy into the ring, pa_stream_drop), nothing else — no Swift and none
    /// of our locks run on that thread while audio flows. It allocates nothing, nor does the consumer, and it
    /// keeps delivering while another thread holds the source's control lock.
    func testPulseCaptureThreadAndConsumerAllocateNothingInSteadyState() throws {
        let server = try PulseTestServer(sinks: ["testsink"])
        var options = CaptureOptions()
        options.pulseServer = server.server
        options.clientName = "muscaps-alloc"
        let source = PulseCaptureSource(source: "testsink.monitor", options: options)
        defer { source.stop() }
        try source.start()
        let consumer = try CaptureConsumer(source: source)
        var energy = 0.0
        func consume(for seconds: Double) throws {
            let deadline = Monotonic.deadline(after: seconds)
            while Monotonic.now() < deadline {
                _ = try consumer.pull(timeout: 0.05) { chunk in
                    for x in chunk { energy += Double(abs(x)) + 1 }
                }
            }
        }
        // The idle null sink's monitor starts delivering once its first timer fires; then warm up as
        // the JACK test does (libsoxr's FIFO grows to the largest input it meets, once).
        XCTAssertTrue(TestTools.waitFor(10) { source.deliveries > 2 }, "no audio from the monitor")
        for _ in 0..<3 {
            try consume(for: 0.3)
            usleep(300_000)
        }
        try consume(for: 0.3)

        // The capture thread alone: nobody reads.
        let deliveriesBefore = source.deliveries
        CAllocationCounter_start()
        usleep(600_000)
        let producerAllocations = CAllocationCounter_stop()
        XCTAssertGreaterThan(source.deliveries - deliveriesBefore, 3, "the read callback must have run")
        XCTAssertEqual(producerAllocations, 0, "allocations while only the PulseAudio capture thread was running")

        // Capture thread and consumer together.
        let delivered = consumer.samplesDelivered
        CAllocationCounter_start()
        try consume(for: 1.5)
        let steadyAllocations = CAllocationCounter_stop()
        XCTAssertGreaterThan(consumer.samplesDelivered - delivered, 4_000)
        XCTAssertEqual(steadyAllocations, 0, "allocations while capturing from PulseAudio and consuming")
        XCTAssertGreaterThan(energy, 0)

        // No Swift and none of our locks on that thread while audio flows: with the source's control lock
        // held by this thread for a second, the capture thread keeps delivering into the ring. (Before the
        // capture loop moved into C, the thread took that lock between main-loop iterations and stalled here.)
        let ring = try XCTUnwrap(source.ring)
        let (deliveredWhileLocked, writtenWhileLocked) = source.core.lock.withLock { () -> (UInt64, UInt64) in
            let deliveries = source.deliveries, written = ring.writtenSamples
            usleep(1_000_000)
            return (source.deliveries - deliveries, ring.writtenSamples - written)
        }
        XCTAssertGreaterThan(deliveredWhileLocked, 3, "the capture thread stalled on the source's lock")
        XCTAssertGreaterThan(writtenWhileLocked, 48_000, "less than half a second of audio reached the ring while the lock was held")

        // The counter works: an allocation is seen.
        CAllocationCounter_start()
        let probe = [Float](repeating: 1, count: 1_000 + Int(energy.sign == .minus ? 1 : 0))
        XCTAssertGreaterThan(CAllocationCounter_stop(), 0)
        XCTAssertEqual(probe.count, 1_000)
    }
}
