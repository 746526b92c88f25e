import AudioCapture
import AudioIO
import Foundation
import Synchronization
import TestServerSupport
import XCTest
import ThreadSupport

/// PulseAudio capture against a real, private pulseaudio with null sinks.
final class PulseCaptureTests: XCTestCase {
    private var server: PulseTestServer!
    private var scratch: ScratchDirectory!
    private var sources: [any CaptureSource] = []

    override func setUpWithError() throws {
        scratch = try ScratchDirectory("muscaps-pulse")
        server = try PulseTestServer(sinks: ["testsink", "othersink"])
    }

    override func tearDown() {
        for source in sources { source.stop() }
        sources = []
        server = nil
        scratch = nil
    }

    private func options(reconnect: ReconnectPolicy = ReconnectPolicy(initialDelay: 0.1, maximumDelay: 0.5)) -> CaptureOptions {
        var options = CaptureOptions()
        options.pulseServer = server.server
        options.clientName = "muscaps-test"
        options.reconnect = reconnect
        options.connectTimeout = 5
        return options
    }

    private func startedSource(_ name: String, options: CaptureOptions? = nil) throws -> PulseCaptureSource {
        let source = PulseCaptureSource(source: name, options: options ?? self.options())
        sources.append(source)
        try source.start()
        return source
    }

    /// Writes the first `seconds` of a 16 kHz fixture as its own file (short clips keep the test fast).
    private func excerpt(_ fixture: String, seconds: Double) throws -> (path: String, samples: [Float]) {
        let all = try AudioFileDecoder.decode(FileCaptureTests.fixtures.appendingPathComponent(fixture).path).samples
        let samples = Array(all.prefix(Int(seconds * 16_000)))
        let path = scratch.file("excerpt-\(fixture)")
        try AudioFileWriter.write(samples, channels: 1, sampleRate: 16_000, format: .wavFloat, to: path)
        return (path, samples)
    }

    /// A clip played into the default sink comes back from @DEFAULT_MONITOR@ as the same signal:
    /// aligned by cross-correlation (the monitor's timing is not the player's), the correlation is
    /// near 1 and the level is unchanged (mono → stereo sink → L/R average).
    func testDefaultMonitorCapturesWhatThePlayerPlays() throws {
        let source = try startedSource(CaptureSpec.defaultPulseSource)
        XCTAssertEqual(source.state, .running)
        XCTAssertEqual(source.format, CaptureFormat(sampleRate: 48_000, channels: 2), "the null sink's own format")
        let consumer = try CaptureConsumer(source: source)
        let clip = try excerpt("rock.wav", seconds: 2.5)
        let captured = CapturedAudio()
        // An idle null sink renders on a timer armed with its 2 s default latency: its monitor
        // stays silent until that fires once. Wait for the first delivery before playing, so the
        // measured delay is the capture path's, not the null sink's wake-up.
        try captured.pull(from: consumer, for: 5) { source.deliveries > 0 }
        try captured.pull(from: consumer, for: 0.2)
        let launched = ProcessInfo.processInfo.systemUptime
        let player = try server.play(clip.path, sink: "testsink")
        try captured.pull(from: consumer, for: 15) { !player.isRunning }
        XCTAssertEqual(player.terminationStatus, 0, "paplay failed")
        try captured.pull(from: consumer, for: 0.4)   // the tail

        // A monitor cannot take back what it already delivered: when the null sink rewinds its
        // rendered-ahead silence to start the new stream at once, the first ~30 ms of the clip
        // never reach the monitor. So the clip is matched from 100 ms on, and all of that must be there.
        let skip = 1_600
        let body = Array(clip.samples[skip...])
        let (lag, correlation, overlap) = CaptureSignals.align(body, in: captured.samples)
        let gain = CaptureSignals.gain(body, captured.samples, lag: lag)
        XCTAssertGreaterThan(correlation, 0.99, "captured audio does not match the clip (best lag \(lag))")
        XCTAssertEqual(20 * log10(max(gain, 1e-9)), 0, accuracy: 0.5, "level change in dB")
        XCTAssertEqual(overlap, body.count, "the whole clip after its first 100 ms was captured")
        XCTAssertEqual(source.statistics.droppedFrames, 0)
        let start = lag - skip
        let head = CaptureSignals.correlation(Array(clip.samples[..<skip]), captured.samples, lag: start).correlation
        var lost = 0
        while lost < skip && start + lost >= 0 && start + lost < captured.samples.count && captured.samples[start + lost] == 0 { lost += 1 }

        // End to end: launching paplay → the clip's first captured sample out of the consumer
        // (paplay's start-up and its 100 ms buffer included).
        let firstHeard = captured.arrivals.first { $0.total > start + lost }?.time ?? launched
        print("pulse monitor: correlation \(String(format: "%.4f", correlation)) (first 100 ms: \(String(format: "%.3f", head)), "
              + "\(lost) samples = \(String(format: "%.0f", Double(lost) / 16)) ms lost at the start), gain \(String(format: "%.3f", gain)); "
              + "clip heard \(String(format: "%.0f", (firstHeard - launched) * 1_000)) ms after launching paplay; "
              + "fragsize \(String(format: "%.0f", source.fragmentMilliseconds)) ms granted, "
              + "\(source.deliveries) deliveries of \(String(format: "%.1f", source.meanDeliveryMilliseconds)) ms on average")
        XCTAssertEqual(source.fragmentMilliseconds, 100, accuracy: 1, "granted fragsize")
    }

    /// @DEFAULT_MONITOR@ follows the default sink when it changes; a named monitor stays put.
    func testFollowsTheDefaultSinkAndNamedSourcesStay() throws {
        let following = try startedSource(CaptureSpec.defaultPulseSource)
        let named = try startedSource("testsink.monitor")
        let followingConsumer = try CaptureConsumer(source: following)
        let namedConsumer = try CaptureConsumer(source: named)

        try server.pactl(["set-default-sink", "othersink"])
        usleep(300_000)   // the move is asynchronous
        let path = scratch.file("tone1k.wav")
        let tone = CaptureSignals.sine(frequency: 1_000, amplitude: 0.5, sampleRate: 48_000, frames: 48_000)
        try AudioFileWriter.write(tone, channels: 1, sampleRate: 48_000, format: .wavFloat, to: path)
        let player = try server.play(path, sink: "othersink")

        let followingAudio = CapturedAudio(), namedAudio = CapturedAudio()
        let deadline = Monotonic.deadline(after: 10)
        while player.isRunning && Monotonic.now() < deadline {
            try followingAudio.pull(from: followingConsumer, for: 0.05)
            try namedAudio.pull(from: namedConsumer, for: 0.05)
        }
        try followingAudio.pull(from: followingConsumer, for: 0.3)
        try namedAudio.pull(from: namedConsumer, for: 0.3)
        let heard = CaptureSignals.amplitude(at: 1_000, in: followingAudio.samples[...], sampleRate: 16_000)
        let leaked = CaptureSignals.rms(namedAudio.samples)
        // The tone lasts 1 s of however long we listened; its amplitude in the whole capture
        // scales by that fraction.
        let fraction = 16_000 / Double(max(1, followingAudio.samples.count))
        XCTAssertGreaterThan(heard, 0.5 * fraction * 0.5, "the default-following source did not hear the new default sink")
        XCTAssertLessThan(leaked, 1e-4, "testsink.monitor must not hear othersink")
        XCTAssertEqual(following.state, .running)
        print("pulse follow: 1 kHz amplitude \(String(format: "%.3f", heard)) over \(followingAudio.samples.count) samples (expected ≈ \(String(format: "%.3f", 0.5 * fraction)))")
    }

    func testMissingServerFailsFastWithAClearError() throws {
        var options = self.options()
        options.pulseServer = "unix:\(scratch.file("no-such-server"))"
        let source = PulseCaptureSource(options: options)
        let begin = Monotonic.now()
        XCTAssertThrowsError(try source.start()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("PulseAudio server at unix:"), message)
            XCTAssertTrue(message.contains("is not running or not reachable"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        XCTAssertLessThan(Monotonic.secondsSince(begin), 2, "no hang when there is no server")
        if case .failed = source.state {} else { XCTFail("state: \(source.state)") }
        source.stop()
    }

    func testUnknownSourceNamesTheAvailableOnes() throws {
        let source = PulseCaptureSource(source: "no.such.source", options: options())
        XCTAssertThrowsError(try source.start()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("has no source named 'no.such.source'"), message)
            XCTAssertTrue(message.contains("testsink.monitor"), message)
        }
        source.stop()
    }

    /// The server is killed mid-capture: the source reports it, keeps running, reconnects when the
    /// server is back (same socket), and audio flows again through the same consumer.
    func testServerGoingAwayIsReportedAndReconnected() throws {
        let states = StateLog()
        var options = self.options()
        options.onStateChange = { states.append($0) }
        let source = try startedSource(CaptureSpec.defaultPulseSource, options: options)
        let consumer = try CaptureConsumer(source: source)
        let captured = CapturedAudio()
        try captured.pull(from: consumer, for: 0.3)

        let killed = ProcessInfo.processInfo.systemUptime
        server.crash()
        XCTAssertTrue(TestTools.waitFor(3) { if case .serverLost = source.state { return true } else { return false } },
                      "state after the server died: \(source.state)")
        let noticed = ProcessInfo.processInfo.systemUptime - killed
        // What was captured before the loss drains; then the consumer just waits (no error, no end).
        while try consumer.pull(timeout: 0.2, { captured.samples.append(contentsOf: $0) }) != .timedOut {}
        let beforeGap = captured.samples.count
        XCTAssertEqual(try consumer.pull(timeout: 0.3) { captured.samples.append(contentsOf: $0) }, .timedOut)
        XCTAssertEqual(captured.samples.count, beforeGap)

        try server.start()
        let restarted = ProcessInfo.processInfo.systemUptime
        XCTAssertTrue(TestTools.waitFor(5) { source.state == .running }, "no reconnection: \(source.state)")
        let reconnected = ProcessInfo.processInfo.systemUptime - restarted
        XCTAssertEqual(source.statistics.reconnects, 1)

        let clip = try excerpt("piano.wav", seconds: 1.5)
        let player = try server.play(clip.path, sink: "testsink")
        let after = captured.samples.count
        try captured.pull(from: consumer, for: 10) { !player.isRunning }
        try captured.pull(from: consumer, for: 0.3)
        let resumed = Array(captured.samples[after...])
        let body = Array(clip.samples[1_600...])   // see testDefaultMonitorCapturesWhatThePlayerPlays
        let (_, correlation, overlap) = CaptureSignals.align(body, in: resumed)
        XCTAssertGreaterThan(correlation, 0.99, "audio after reconnecting does not match the clip")
        XCTAssertEqual(overlap, body.count)
        let lost = states.all.contains { if case .serverLost = $0 { return true } else { return false } }
        XCTAssertTrue(lost, "the handler heard about the loss: \(states.all)")
        XCTAssertEqual(states.all.last, .running)
        print("pulse server loss: noticed in \(String(format: "%.0f", noticed * 1_000)) ms, reconnected \(String(format: "%.0f", reconnected * 1_000)) ms after restart; states \(states.all)")
    }

    func testListSourcesShowsMonitorsAndSaysJackIsNotRunning() throws {
        var options = self.options()
        options.jackServer = "muscaps-absent-\(UUID().uuidString.prefix(8))"
        let listing = listSources(options: options)
        let sources = try listing.pulse.get()
        XCTAssertEqual(Set(sources.map(\.name)), ["testsink.monitor", "othersink.monitor"])
        XCTAssertEqual(sources.first { $0.name == "testsink.monitor" }?.monitorOfSink, "testsink")
        XCTAssertEqual(listing.pulseDefaultSink, "testsink")
        let text = listing.description
        XCTAssertTrue(text.contains("pulse:@DEFAULT_MONITOR@"), text)
        XCTAssertTrue(text.contains("pulse:testsink.monitor"), text)
        XCTAssertTrue(text.contains("monitor of sink testsink"), text)
        XCTAssertTrue(text.contains("JACK: not available — JACK server '\(options.jackServer!)' is not running"), text)
        print(text)
    }
}

/// State changes as a source's handler reported them (from its threads).
final class StateLog: Sendable {
    private let states = Mutex<[CaptureState]>([])
    func append(_ state: CaptureState) { states.withLock { $0.append(state) } }
    var all: [CaptureState] { states.withLock { $0 } }
}
