import AudioCapture
import Foundation
import Synchronization
import TestServerSupport
import XCTest
import ThreadSupport

/// JACK capture against a real, private jackd (dummy driver) fed by jack_simple_client.
final class JackCaptureTests: XCTestCase {
    private var server: JackTestServer!
    private var sources: [any CaptureSource] = []

    override func setUpWithError() throws { server = try JackTestServer() }

    override func tearDown() {
        for source in sources { source.stop() }
        sources = []
        server = nil
    }

    private func options(ring: RingSizing = RingSizing()) -> CaptureOptions {
        var options = CaptureOptions()
        options.jackServer = server.name
        options.clientName = "muscaps-test"
        options.reconnect = ReconnectPolicy(initialDelay: 0.1, maximumDelay: 0.5)
        options.ringSizing = ring
        return options
    }

    private func startedSource(_ pattern: String, options: CaptureOptions? = nil) throws -> JackCaptureSource {
        let source = JackCaptureSource(portPattern: pattern, options: options ?? self.options())
        sources.append(source)
        try source.start()
        return source
    }

    /// jack_simple_client plays 240 Hz (left) and 720 Hz (right) at amplitude 0.2; our two inputs
    /// keep both and the consumer averages them: 0.1 at each frequency, nothing in between.
    func testCapturesSimpleClientSines() throws {
        try server.startSimpleClient("tone")
        let source = try startedSource("tone")   // a client name: all its output ports
        XCTAssertEqual(source.format, CaptureFormat(sampleRate: 48_000, channels: 2))
        let consumer = try CaptureConsumer(source: source)
        let captured = CapturedAudio()
        let begin = ProcessInfo.processInfo.systemUptime
        try captured.pull(from: consumer, for: 2)
        let elapsed = ProcessInfo.processInfo.systemUptime - begin
        let middle = captured.samples[(captured.samples.count / 4)...]
        XCTAssertEqual(CaptureSignals.amplitude(at: 240, in: middle, sampleRate: 16_000), 0.1, accuracy: 0.005)
        XCTAssertEqual(CaptureSignals.amplitude(at: 720, in: middle, sampleRate: 16_000), 0.1, accuracy: 0.005)
        XCTAssertLessThan(CaptureSignals.amplitude(at: 480, in: middle, sampleRate: 16_000), 0.003)
        XCTAssertEqual(CaptureSignals.rms(middle), 0.1, accuracy: 0.005, "two 0.1-amplitude sines")
        // Real time: 16 000 samples per second of wall time (within a couple of periods).
        XCTAssertEqual(Double(captured.samples.count) / elapsed, 16_000, accuracy: 1_600)
        XCTAssertEqual(source.statistics.droppedFrames, 0)
        let lastWrite = source.ring?.secondsSinceLastWrite ?? 1
        print("jack: \(captured.samples.count) samples in \(String(format: "%.2f", elapsed)) s, "
              + "xruns \(source.statistics.serverXruns), last ring write \(String(format: "%.1f", lastWrite * 1_000)) ms ago")
    }

    /// The default pattern (system:capture_*) on the dummy driver: two ports, frames at the server's rate.
    func testDefaultPatternUsesTheSystemCapturePorts() throws {
        let source = try startedSource(CaptureSpec.defaultJackPattern)
        XCTAssertEqual(source.format?.channels, 2)
        let consumer = try CaptureConsumer(source: source)
        let captured = CapturedAudio()
        try captured.pull(from: consumer, for: 0.6)
        XCTAssertGreaterThan(source.processCycles, 10)
        XCTAssertGreaterThan(captured.samples.count, 4_000)
        XCTAssertEqual(CaptureSignals.rms(captured.samples), 0, accuracy: 1e-6, "the dummy driver captures silence")
        let ports = try server.ports()
        XCTAssertTrue(ports.contains("muscaps-test:in_1") && ports.contains("muscaps-test:in_2"), "\(ports)")
    }

    func testPatternMatchingNothingFailsClearly() throws {
        let source = JackCaptureSource(portPattern: "nosuchapp:*", options: options())
        XCTAssertThrowsError(try source.start()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("JACK: no output port matches 'nosuchapp:*'"), message)
            XCTAssertTrue(message.contains("system:capture_1"), message)
        }
        if case .failed = source.state {} else { XCTFail("state: \(source.state)") }
        XCTAssertFalse((try server.ports()).contains { $0.hasPrefix("muscaps-test") }, "the client must be closed")
    }

    func testMissingServerFailsFastWithAClearError() throws {
        var options = self.options()
        options.jackServer = "muscaps-absent-\(UUID().uuidString.prefix(8))"
        let source = JackCaptureSource(options: options)
        let begin = Monotonic.now()
        XCTAssertThrowsError(try source.start()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("JACK server '\(options.jackServer!)' is not running"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        XCTAssertLessThan(Monotonic.secondsSince(begin), 2, "no hang when there is no server")
        let listing = listSources(options: options)
        XCTAssertTrue(listing.description.contains("JACK: not available — JACK server '\(options.jackServer!)' is not running"),
                      listing.description)
    }

    func testListSourcesShowsJackPorts() throws {
        try server.startSimpleClient("tone")
        var options = self.options()
        options.pulseServer = "unix:/tmp/muscaps-absent-\(UUID().uuidString.prefix(8))/native"
        let listing = listSources(options: options)
        let ports = try listing.jack.get()
        XCTAssertEqual(ports.first { $0.name == "system:capture_1" }?.isPhysical, true)
        XCTAssertEqual(ports.first { $0.name == "tone:output1" }?.isPhysical, false)
        XCTAssertEqual(listing.jackSampleRate, 48_000)
        XCTAssertTrue(listing.description.contains("jack:tone:output2"), listing.description)
        XCTAssertTrue(listing.description.contains("PulseAudio: not available — PulseAudio server at unix:"), listing.description)
    }

    /// jackd stops under us: the source reports `.serverLost` (the client is closed by the
    /// supervisor, not in the callback), reconnects when a server with the same name is back,
    /// re-registers its ports and connects the tone client as soon as it appears.
    func testServerShutdownIsReportedAndReconnected() throws {
        try server.startSimpleClient("tone")
        let states = StateLog()
        var options = self.options()
        options.onStateChange = { states.append($0) }
        let source = try startedSource("tone:output*", options: options)
        let consumer = try CaptureConsumer(source: source)
        let captured = CapturedAudio()
        try captured.pull(from: consumer, for: 0.5)
        XCTAssertGreaterThan(CaptureSignals.rms(captured.samples.suffix(4_000)), 0.05)

        let stopped = ProcessInfo.processInfo.systemUptime
        server.stop()
        XCTAssertTrue(TestTools.waitFor(3) { if case .serverLost = source.state { return true } else { return false } },
                      "state after jackd stopped: \(source.state)")
        let noticed = ProcessInfo.processInfo.systemUptime - stopped
        XCTAssertTrue(source.state.description.contains("shut down") || source.state.description.contains("not running"),
                      source.state.description)
        // What was captured before the loss drains; then the consumer just waits (no error, no end).
        while try consumer.pull(timeout: 0.2, { captured.samples.append(contentsOf: $0) }) != .timedOut {}
        XCTAssertEqual(try consumer.pull(timeout: 0.3) { _ in }, .timedOut, "no audio while the server is gone")

        try server.start()
        let restarted = ProcessInfo.processInfo.systemUptime
        XCTAssertTrue(TestTools.waitFor(5) { source.state == .running }, "no reconnection: \(source.state)")
        let reconnected = ProcessInfo.processInfo.systemUptime - restarted
        XCTAssertEqual(source.statistics.reconnects, 1)
        try server.startSimpleClient("tone")
        let after = captured.samples.count
        try captured.pull(from: consumer, for: 1.5)
        let resumed = captured.samples[(after + (captured.samples.count - after) / 2)...]
        XCTAssertEqual(CaptureSignals.amplitude(at: 720, in: resumed, sampleRate: 16_000), 0.1, accuracy: 0.01,
                       "the tone client's new ports were not connected")
        print("jack server loss: noticed in \(String(format: "%.0f", noticed * 1_000)) ms, reconnected \(String(format: "%.0f", reconnected * 1_000)) ms after restart; states \(states.all)")
    }

    /// A consumer that stops reading: the ring fills, the process callback drops and counts (it
    /// never blocks), and once the consumer reads again nothing more is lost.
    func testOverrunsAreCountedWhenTheConsumerStalls() throws {
        // 0.1 s window, nothing else: 2^14 samples = 0.17 s of 48 kHz stereo.
        let source = try startedSource(CaptureSpec.defaultJackPattern,
                                       options: options(ring: RingSizing(windowSeconds: 0.1, hopSeconds: 0, slackSeconds: 0)))
        XCTAssertEqual(source.ring?.capacity, 16_384)
        let consumer = try CaptureConsumer(source: source)
        usleep(600_000)   // stall
        let stalled = source.statistics
        XCTAssertGreaterThan(stalled.droppedFrames, 0)
        XCTAssertGreaterThan(stalled.overrunEvents, 0)
        let captured = CapturedAudio()
        try captured.pull(from: consumer, for: 0.2)
        let resumed = source.statistics
        try captured.pull(from: consumer, for: 0.8)
        XCTAssertEqual(source.statistics.droppedFrames, resumed.droppedFrames, "no drops while the consumer keeps up")
        print("jack stall 0.6 s with a 0.17 s ring: \(stalled.droppedFrames) frames dropped in \(stalled.overrunEvents) overruns")
    }

    /// Two busy threads load both cores while we capture: with the default ring nothing is dropped.
    func testNoOverrunsUnderCPULoad() throws {
        try server.startSimpleClient("tone")
        let source = try startedSource("tone")
        let consumer = try CaptureConsumer(source: source)
        let load = LoadGenerator(threads: 2)
        defer { load.stop() }
        let captured = CapturedAudio()
        var worstAge = 0.0
        let deadline = Monotonic.deadline(after: 3)
        while Monotonic.now() < deadline {
            // How stale is the newest audio when the consumer gets to it (≈ one period at most)?
            worstAge = max(worstAge, source.ring!.secondsSinceLastWrite ?? 0)
            try captured.pull(from: consumer, for: 0.05)
        }
        load.stop()
        let statistics = source.statistics
        XCTAssertEqual(statistics.droppedFrames, 0)
        XCTAssertEqual(statistics.overrunEvents, 0)
        let middle = captured.samples[(captured.samples.count / 4)...]
        XCTAssertEqual(CaptureSignals.amplitude(at: 720, in: middle, sampleRate: 16_000), 0.1, accuracy: 0.01)
        print("jack under load (2 busy threads, 3 s): dropped \(statistics.droppedFrames), server xruns \(statistics.serverXruns), "
              + "newest audio at most \(String(format: "%.1f", worstAge * 1_000)) ms old when the consumer looked (period 21.3 ms)")
    }
}

/// Spins `threads` threads doing floating-point work until stopped.
final class LoadGenerator: Sendable {
    private let running = Mutex(true)
    private let group = DispatchGroup()

    init(threads: Int) {
        for _ in 0..<threads {
            group.enter()
            Thread.detachNewThread { [self] in
                var x = 1.0001
                while self.isRunning {
                    for _ in 0..<100_000 { x = x * 1.0000001 + 1e-9 }
                }
                if x == 0 { print(x) }
                self.group.leave()
            }
        }
    }

    private var isRunning: Bool { running.withLock { $0 } }

    func stop() {
        running.withLock { $0 = false }
        group.wait()
    }
}
