import ThreadSupport

/// A live or recorded audio source that writes interleaved float frames, at its native rate and
/// channel count, into a `SampleRing`. `CaptureConsumer` reads the ring on another thread and
/// turns it into 16 kHz mono.
///
/// Life cycle: `start()` once (it throws if the source cannot begin: no server, no such source,
/// unreadable file); then `format` and `ring` are set and `state` is `.running`. A server that goes
/// away mid-capture does not throw: the state becomes `.serverLost` and the source reconnects with
/// back-off on its own thread, writing into the same ring. A stream that ends (end of file or of
/// the pipe) becomes `.finished`. `stop()` ends capture from any thread; every source then closes
/// its ring, so the consumer drains what is left and sees the end of the stream.
public protocol CaptureSource: AnyObject, Sendable {
    /// The spec the source was made from (`pulse:@DEFAULT_MONITOR@`, `file:song.flac:realtime`, …).
    var name: String { get }
    /// Native sample rate and channels of the frames in the ring; nil until `start()` succeeded.
    var format: CaptureFormat? { get }
    /// The ring the source writes; nil until `start()` succeeded.
    var ring: SampleRing? { get }
    var state: CaptureState { get }
    /// Frames captured and dropped (overruns), reconnections, server-reported xruns.
    var statistics: CaptureStatistics { get }
    func start() throws
    /// Stops capture, joins the source's threads and closes the ring. Idempotent.
    func stop()
}

/// Frames in the ring: interleaved float32 at this rate and channel count.
public struct CaptureFormat: Sendable, Equatable, CustomStringConvertible {
    public var sampleRate: Int
    public var channels: Int
    public init(sampleRate: Int, channels: Int) {
        self.sampleRate = sampleRate
        self.channels = channels
    }
    public var description: String { "\(sampleRate) Hz, \(channels) ch" }
}

/// Where a source is in its life; sources report every change through `CaptureOptions.onStateChange`.
public enum CaptureState: Sendable, Equatable, CustomStringConvertible {
    /// Made, not started.
    case idle
    /// Connecting to the server (first connection, or reconnecting after `serverLost`).
    case connecting
    /// Samples are flowing (or will as soon as the server delivers; a JACK source whose pattern
    /// matches no port yet is running with nothing connected).
    case running
    /// The audio server went away; the source keeps trying to reconnect with back-off.
    case serverLost(reason: String)
    /// The stream ended (end of file or pipe); the ring is closed.
    case finished
    /// An error the source cannot recover from; the ring is closed.
    case failed(reason: String)
    /// `stop()` was called; the ring is closed.
    case stopped

    public var description: String {
        switch self {
        case .idle: return "idle"
        case .connecting: return "connecting"
        case .running: return "running"
        case let .serverLost(reason): return "server lost (\(reason)); reconnecting"
        case .finished: return "finished"
        case let .failed(reason): return "failed: \(reason)"
        case .stopped: return "stopped"
        }
    }

    /// True for the states a source never leaves.
    public var isTerminal: Bool {
        switch self {
        case .finished, .failed, .stopped: return true
        default: return false
        }
    }
}

/// Counters a source keeps; read at any time.
public struct CaptureStatistics: Sendable, Equatable {
    /// Frames written into the ring.
    public var capturedFrames: UInt64 = 0
    /// Frames a real-time producer dropped because the ring was full (the consumer fell behind).
    public var droppedFrames: UInt64 = 0
    /// Number of times that happened (short writes).
    public var overrunEvents: UInt64 = 0
    /// Successful reconnections after the server went away.
    public var reconnects: Int = 0
    /// xruns the JACK server reported while we were connected (0 for other sources).
    public var serverXruns: UInt64 = 0
    public init() {}
}

/// Back-off between reconnection attempts: `initialDelay`, multiplied by `multiplier` after each
/// failure, capped at `maximumDelay`.
public struct ReconnectPolicy: Sendable, Equatable {
    public var initialDelay: Double
    public var maximumDelay: Double
    public var multiplier: Double

    public init(initialDelay: Double = 0.5, maximumDelay: Double = 10, multiplier: Double = 2) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
    }

    /// Delay before attempt `attempt` (0-based).
    public func delay(attempt: Int) -> Double {
        var delay = max(0.001, initialDelay)
        for _ in 0..<min(attempt, 64) {
            delay *= max(1, multiplier)
            if delay >= maximumDelay { break }
        }
        return min(delay, max(initialDelay, maximumDelay))
    }
}

/// Settings shared by the sources (each uses the ones that concern it).
public struct CaptureOptions: Sendable {
    /// Client name shown by the servers (`pactl list source-outputs`, `jack_lsp`).
    public var clientName: String = "muscapsd"
    /// PulseAudio fragment size (`fragsize`) in milliseconds: how often the server hands over audio.
    /// 100 ms was clean in 10 of 10 runs on the reference machine; 20 ms garbled about 1 in 10.
    public var latencyMilliseconds: Int = 100
    public var ringSizing = RingSizing()
    public var reconnect = ReconnectPolicy()
    /// PulseAudio server address; nil uses libpulse's default lookup (`$PULSE_SERVER`, then the
    /// user's runtime directory).
    public var pulseServer: String?
    /// JACK server name; nil uses `$JACK_DEFAULT_SERVER`, then "default".
    public var jackServer: String?
    /// Limit for connecting to a server and setting up the stream, in seconds.
    public var connectTimeout: Double = 5
    /// Called on the source's own threads whenever its state changes. Keep it short and non-blocking
    /// (store it, post it to a queue); do not call `stop()` from it.
    public var onStateChange: (@Sendable (CaptureState) -> Void)?

    public init() {}
}

// MARK: - Shared state for the concrete sources

/// State, format, ring and stop flag of one source, behind one lock (never taken on an audio path).
final class SourceCore: @unchecked Sendable {
    // @unchecked: every mutable field is read and written under `lock`.
    let lock = ConditionLock()
    let name: String
    private let handler: (@Sendable (CaptureState) -> Void)?
    private var currentState: CaptureState = .idle
    private var currentFormat: CaptureFormat?
    private var currentRing: SampleRing?
    private var stopRequested = false
    private var started = false
    private var reconnectCount = 0
    private var threads: [CaptureThread] = []

    init(name: String, handler: (@Sendable (CaptureState) -> Void)?) {
        self.name = name
        self.handler = handler
    }

    var state: CaptureState { lock.withLock { currentState } }
    var format: CaptureFormat? { lock.withLock { currentFormat } }
    var ring: SampleRing? { lock.withLock { currentRing } }
    var reconnects: Int { lock.withLock { reconnectCount } }
    var isStopRequested: Bool { lock.withLock { stopRequested } }

    /// Marks the source started; throws if it already was.
    func claimStart() throws {
        try lock.withLock {
            if started { throw CaptureError.alreadyStarted(source: name) }
            started = true
        }
    }

    func publish(format: CaptureFormat, ring: SampleRing) {
        lock.withLockBroadcast {
            currentFormat = format
            currentRing = ring
        }
    }

    func noteReconnect() { lock.withLock { reconnectCount += 1 } }

    /// Sets the state and tells the handler (outside the lock). A terminal state is never left.
    func setState(_ state: CaptureState) {
        let changed = lock.withLockBroadcast { () -> Bool in
            if currentState == state || currentState.isTerminal { return false }
            currentState = state
            return true
        }
        if changed { handler?(state) }
    }

    /// Requests a stop; returns false if one was already requested.
    @discardableResult
    func requestStop() -> Bool {
        lock.withLockBroadcast {
            if stopRequested { return false }
            stopRequested = true
            return true
        }
    }

    /// Sleeps up to `seconds`, waking early on a stop request; returns true if a stop was requested.
    func sleep(_ seconds: Double) -> Bool {
        lock.wait(until: Monotonic.deadline(after: seconds)) { stopRequested }
    }

    /// Waits until `predicate` holds (checked under the lock on every state change) or the `Monotonic` deadline.
    func wait(until deadline: UInt64, _ predicate: (CaptureState) -> Bool) -> Bool {
        lock.wait(until: deadline) { predicate(currentState) }
    }

    /// Starts a thread for this source; `stop` joins it.
    func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws {
        let thread = try CaptureThread(name: name, body)
        lock.withLock { threads.append(thread) }
    }

    /// The end of every `stop()`: request the stop (if not done yet), join the source's threads
    /// (except the calling one), close the ring and report `.stopped` unless already terminal.
    func finishStop() {
        requestStop()
        let running = lock.withLock { threads }
        for thread in running where !thread.isCurrent { thread.join() }
        ring?.close()
        setState(.stopped)
    }

    /// For producers that may wait (files, pipes): writes everything, sleeping a millisecond
    /// whenever the ring is full; false if a stop was requested meanwhile.
    func writeWaiting(_ samples: UnsafeBufferPointer<Float>, to ring: SampleRing) -> Bool {
        var offset = 0
        while offset < samples.count {
            offset += ring.write(UnsafeBufferPointer(rebasing: samples[offset...]))
            if offset < samples.count, sleep(0.001) { return false }
        }
        return true
    }

    /// Statistics from the ring plus the reconnect count.
    func statistics(extraXruns: UInt64 = 0) -> CaptureStatistics {
        var statistics = CaptureStatistics()
        let (ring, reconnects) = lock.withLock { (currentRing, reconnectCount) }
        if let ring {
            let channels = UInt64(ring.frameSamples)
            statistics.capturedFrames = ring.writtenSamples / channels
            statistics.droppedFrames = ring.droppedSamples / channels
            statistics.overrunEvents = ring.overrunEvents
        }
        statistics.reconnects = reconnects
        statistics.serverXruns = extraXruns
        return statistics
    }
}
