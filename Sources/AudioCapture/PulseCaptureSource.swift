import CAudioCapture
import CPulseAudio
import Synchronization
import ThreadSupport

/// PulseAudio or PipeWire-pulse capture (`pulse[:SOURCE]`): a record stream on a named source or
/// on `@DEFAULT_MONITOR@` — the monitor of the default sink, i.e. whatever the machine plays.
///
/// - Format: float32 at the source's own rate (so libsoxr, not the server, does the one resampling
///   to 16 kHz, as for files), with the source's channels capped at 2 (PulseAudio downmixes
///   surround properly; the consumer then averages L and R as librosa does). Fixed at the first
///   connection; after a reconnect the server converts if the device changed.
/// - Latency: an explicit `fragsize` of `CaptureOptions.latencyMilliseconds` (100 ms by default)
///   with `PA_STREAM_ADJUST_LATENCY`; libpulse's default (about 2 s) lost the start of the audio.
/// - Threads: one capture thread runs a private `pa_mainloop`. It connects and sets up the stream in
///   Swift, then stays in C (`CAudioCapture_pulse_run`) while audio flows: libpulse's loop and the read
///   callback, which copies each fragment into the ring — no Swift, none of our locks, no allocation
///   (CaptureAllocationTests). It comes back to Swift only to stop, to reconnect after a loss, or to move
///   to the new default monitor. Every wait has a deadline and `stop()` wakes the loop at once.
/// - Following the default: for `@DEFAULT_MONITOR@` the source subscribes to server events and,
///   when the default sink changes, moves its stream to the new default sink's monitor.
/// - Server gone: the state becomes `.serverLost`, the thread reconnects with back-off (same ring,
///   same format) and reports `.running` again; nothing throws after `start()`.
public final class PulseCaptureSource: CaptureSource {
    /// The source name given (`@DEFAULT_MONITOR@`, `@DEFAULT_SOURCE@` or a name from `--list-sources`).
    public let source: String
    public let options: CaptureOptions
    let core: SourceCore  // internal for tests (the control lock)
    /// The live connection's main loop, for `pa_mainloop_wakeup` from `stop()`.
    private let loop = Mutex(LoopState())
    private struct LoopState: @unchecked Sendable {
        // @unchecked: C handles; `liveMainloop` is only woken, `bridge` only read through its C accessors.
        var liveMainloop: OpaquePointer?
        /// The C block the read callback writes through; created with the ring, freed in deinit.
        var bridge: OpaquePointer?
        var fragmentBytes: UInt32 = 0
    }
    private let startup = Startup()

    public init(source: String = CaptureSpec.defaultPulseSource, options: CaptureOptions = CaptureOptions()) {
        self.source = source
        self.options = options
        core = SourceCore(name: CaptureSpec.pulse(source: source).description, handler: options.onStateChange)
    }

    public var name: String { core.name }
    public var format: CaptureFormat? { core.format }
    public var ring: SampleRing? { core.ring }
    public var state: CaptureState { core.state }
    public var statistics: CaptureStatistics { core.statistics() }

    /// Times PulseAudio woke the capture thread with data, and the mean audio per wake-up in
    /// milliseconds (the server may deliver more often than the fragment size, never less).
    /// The fragment size the server granted for the current stream, in milliseconds (0 before
    /// the stream is ready).
    public var fragmentMilliseconds: Double {
        let bytes = loop.withLock { $0.fragmentBytes }
        guard let format = format else { return 0 }
        return Double(bytes) / Double(4 * format.channels * format.sampleRate) * 1_000
    }

    public var deliveries: UInt64 { loop.withLock { $0.bridge.map { CAudioCapture_pulse_deliveries($0) } ?? 0 } }
    public var meanDeliveryMilliseconds: Double {
        let (count, bytes) = loop.withLock { $0.bridge.map { (CAudioCapture_pulse_deliveries($0), CAudioCapture_pulse_bytes($0)) } ?? (0, 0) }
        guard count > 0, let format = format else { return 0 }
        return Double(bytes) / Double(count) / Double(4 * format.channels * format.sampleRate) * 1_000
    }

    deinit {
        // The capture thread holds `self` while it runs, so no stream can still call into the bridge.
        if let bridge = loop.withLock({ $0.bridge }) { CAudioCapture_pulse_destroy(bridge) }
    }

    /// Connects, opens the stream and returns once audio can flow; throws `CaptureError` if the
    /// server is not running, the source does not exist or the server does not answer in time.
    public func start() throws {
        try core.claimStart()
        core.setState(.connecting)
        do {
            try core.spawn(name: "muscaps-pulse") { [self] in self.run() }
        } catch {
            core.setState(.failed(reason: "\(error)"))
            throw error
        }
        // The thread's own deadlines end the first connection; this one is only a safety net.
        let outcome = startup.wait(until: Monotonic.deadline(after: 2 * options.connectTimeout + 2))
        switch outcome {
        case .ready:
            return
        case let .failed(error):
            core.setState(.failed(reason: "\(error)"))
            core.finishStop()
            throw error
        case .pending:
            let error = CaptureError.timedOut(server: PulseConnection.label(server: options.pulseServer),
                                              what: "starting capture", seconds: 2 * options.connectTimeout + 2)
            core.setState(.failed(reason: "\(error)"))
            core.finishStop()
            throw error
        }
    }

    public func stop() {
        core.requestStop()
        loop.withLock {
            // The capture thread may be inside CAudioCapture_pulse_run, which reads only the bridge's flag.
            if let bridge = $0.bridge { CAudioCapture_pulse_request_stop(bridge) }
            if let mainloop = $0.liveMainloop { pa_mainloop_wakeup(mainloop) }
        }
        core.finishStop()
    }

    // MARK: Capture thread

    private enum SessionEnd {
        case stopped
        /// The connection failed; `wasRunning` if audio had been flowing on it.
        case lost(String, wasRunning: Bool)
    }

    private func run() {
        var spec: pa_sample_spec?
        defer {
            core.ring?.close()
            startup.resolve(.failed(CaptureError.requestFailed(server: PulseConnection.label(server: options.pulseServer),
                                                               what: "starting capture", reason: "stopped")))
        }
        var attempt = 0
        while !core.isStopRequested {
            let end: SessionEnd
            do {
                end = try session(spec: &spec)
            } catch {
                if !startup.isResolved {
                    startup.resolve(.failed(error))
                    return
                }
                end = .lost(Self.reason(error), wasRunning: false)
            }
            switch end {
            case .stopped:
                return
            case let .lost(reason, wasRunning):
                core.setState(.serverLost(reason: reason))
                if wasRunning { attempt = 0 }
                if core.sleep(options.reconnect.delay(attempt: attempt)) { return }
                attempt += 1
            }
        }
    }

    /// One connection: connect, (first time) pick the format, open the stream, capture until the
    /// server goes away or a stop is requested. Throws for failures before the stream runs.
    private func session(spec: inout pa_sample_spec?) throws -> SessionEnd {
        let connection = try PulseConnection(clientName: options.clientName, server: options.pulseServer, timeout: options.connectTimeout)
        loop.withLock { $0.liveMainloop = connection.mainloop }
        defer {
            // Runs last: the stream is gone by now, and the main loop must outlive both the stream
            // and the pointer `stop()` may wake.
            loop.withLock { $0.liveMainloop = nil }
            withExtendedLifetime(connection) {}
        }
        let deadline = Monotonic.deadline(after: options.connectTimeout)
        guard try connection.connect(server: options.pulseServer, deadline: deadline, shouldStop: { core.isStopRequested }) else {
            return .stopped
        }

        if spec == nil {
            guard let info = try connection.source(named: source, deadline: deadline) else {
                let available = (try? connection.sources(deadline: deadline).map(\.name)) ?? []
                throw CaptureError.noSuchSource(server: connection.label, name: source, available: available)
            }
            let chosen = pa_sample_spec(format: PA_SAMPLE_FLOAT32LE, rate: UInt32(info.sampleRate),
                                        channels: UInt8(min(max(info.channels, 1), 2)))
            let format = CaptureFormat(sampleRate: Int(chosen.rate), channels: Int(chosen.channels))
            let ring = try SampleRing(capacity: options.ringSizing.capacity(sampleRate: format.sampleRate, channels: format.channels),
                                      frameSamples: format.channels)
            guard let created = CAudioCapture_pulse_create(ring.pointer) else {
                throw CaptureError.system(what: "cannot allocate the PulseAudio bridge", code: 12)
            }
            loop.withLock { $0.bridge = created }
            spec = chosen
            core.publish(format: format, ring: ring)
        }
        guard var sampleSpec = spec, let bridge = loop.withLock({ $0.bridge }) else { return .stopped }

        guard let stream = pa_stream_new(connection.context, "capture", &sampleSpec, nil) else {
            throw CaptureError.requestFailed(server: connection.label, what: "creating a record stream", reason: connection.lastError)
        }
        defer { pa_stream_unref(stream) }
        CAudioCapture_pulse_attach_stream(stream, bridge)
        let fragment = pa_usec_to_bytes(UInt64(max(1, options.latencyMilliseconds)) * 1_000, &sampleSpec)
        var attributes = pa_buffer_attr(maxlength: UInt32.max, tlength: UInt32.max, prebuf: UInt32.max,
                                        minreq: UInt32.max, fragsize: UInt32(clamping: fragment))
        if pa_stream_connect_record(stream, source, &attributes, PA_STREAM_ADJUST_LATENCY) < 0 {
            throw CaptureError.requestFailed(server: connection.label, what: "connecting to source '\(source)'", reason: connection.lastError)
        }
        defer { pa_stream_disconnect(stream) }
        while true {
            let state = pa_stream_get_state(stream)
            if state == PA_STREAM_READY { break }
            if state == PA_STREAM_FAILED || state == PA_STREAM_TERMINATED {
                if pa_context_errno(connection.context) == Int32(PA_ERR_NOENTITY.rawValue) {
                    throw CaptureError.noSuchSource(server: connection.label, name: source, available: [])
                }
                throw CaptureError.requestFailed(server: connection.label, what: "opening the record stream on '\(source)'",
                                                 reason: connection.lastError)
            }
            if core.isStopRequested { return .stopped }
            if Monotonic.now() > deadline {
                throw CaptureError.timedOut(server: connection.label, what: "opening the record stream", seconds: options.connectTimeout)
            }
            connection.iterate(milliseconds: 50)
        }

        if let granted = pa_stream_get_buffer_attr(stream) {
            loop.withLock { $0.fragmentBytes = granted.pointee.fragsize }
        }

        let followsDefault = source == CaptureSpec.defaultPulseSource
        if followsDefault {
            CAudioCapture_pulse_attach_context(connection.context, bridge)
            if let operation = pa_context_subscribe(connection.context, PA_SUBSCRIPTION_MASK_SERVER, nil, nil) {
                pa_operation_unref(operation)
            }
        }

        let reconnected = startup.isResolved
        if reconnected { core.noteReconnect() }
        core.setState(.running)
        if !reconnected { startup.resolve(.ready) }   // after the state, so start() returns with .running

        // Steady state: the thread stays in C (libpulse's loop and the read callback) until there is something
        // for Swift to do. `stop()` sets the bridge's flag after `core`'s, so checking `core` here first
        // cannot miss a stop requested before the bridge existed.
        while true {
            if core.isStopRequested { return .stopped }
            switch CAudioCapture_pulse_run(connection.mainloop, connection.context, stream, bridge, followsDefault ? 1 : 0) {
            case CAudioCapture_pulse_stopped:
                return .stopped
            case CAudioCapture_pulse_stream_ended:
                return .lost("record stream ended: \(connection.lastError)", wasRunning: true)
            case CAudioCapture_pulse_server_changed:
                if CAudioCapture_pulse_take_server_changed(bridge) != 0 {
                    // The default sink may have changed: move to its monitor (a no-op if it did not).
                    if let operation = pa_context_move_source_output_by_name(
                        connection.context, pa_stream_get_index(stream), CaptureSpec.defaultPulseSource, nil, nil) {
                        pa_operation_unref(operation)
                    }
                }
            default:
                return .lost(connection.lastError, wasRunning: true)
            }
        }
    }

    private static func reason(_ error: Error) -> String {
        if let error = error as? CaptureError, case let .serverUnavailable(_, reason) = error { return reason }
        return "\(error)"
    }
}

/// The first connection's outcome, handed from the capture thread to `start()`.
final class Startup: @unchecked Sendable {
    // @unchecked: `outcome` is read and written under `lock`.
    enum Outcome {
        case pending
        case ready
        case failed(Error)
    }

    private let lock = ConditionLock()
    private var outcome = Outcome.pending

    var isResolved: Bool {
        lock.withLock {
            if case .pending = outcome { return false }
            return true
        }
    }

    /// Sets the outcome once; later calls are ignored.
    func resolve(_ value: Outcome) {
        lock.withLockBroadcast {
            if case .pending = outcome { outcome = value }
        }
    }

    func wait(until deadline: UInt64) -> Outcome {
        lock.wait(until: deadline) {
            if case .pending = outcome { return false }
            return true
        }
        return lock.withLock { outcome }
    }
}
