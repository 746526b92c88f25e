import Foundation
import Synchronization
import ThreadSupport

/// What a running daemon is doing, as its control interface (D-Bus) shows it: the properties.
/// Published by the inference thread; read by the bus thread. Values that change every window
/// (latency, real-time factor) are in `DaemonStatus` instead.
public struct DaemonSnapshot: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Capturing and analysing.
        case running
        /// Paused by a client: audio is read and discarded, nothing is analysed or emitted.
        case paused
        /// The audio server went away (or is being connected to); the source retries with back-off.
        case waitingForSource = "waiting-for-source"
        /// The source failed for good (or the stream ended); the daemon is about to exit.
        case error
    }

    public var state = State.running
    public var source = ""
    public var model = ""
    /// The captioning model's id, or "none" when the daemon only tags.
    public var captioner = "none"
    public var windowSeconds = 2.992
    public var hopSeconds = 1.0
    public var beam = 1
    /// The outputs' ids (their names in logs: `stdout`, `file`, `file#2` …), in order.
    public var outputs: [String] = []
    /// The newest caption or silence event handed to the outputs (every revision).
    public var lastCaption: CaptionEvent?
    /// Audio discarded because inference fell behind, plus capture overruns, in seconds.
    public var droppedAudioSeconds = 0.0

    public init() {}
}

/// Figures for `GetStatus`: read on request, never signalled.
public struct DaemonStatus: Sendable, Equatable {
    public var uptimeSeconds = 0.0
    public var windows = 0
    public var silentWindows = 0
    public var events = 0
    /// Capture → event latency over the recent windows, milliseconds (nil before the first window).
    public var latencyP50Milliseconds: Double?
    public var latencyP99Milliseconds: Double?
    /// Seconds of inference per second of audio analysed (below 1 keeps up with real time).
    public var realTimeFactor = 0.0
    public var droppedAudioSeconds = 0.0
    /// Windows whose caption failed to decode (their events carry the reason as `captionError`).
    public var captionFailures = 0
    /// Events each output dropped because its queue was full, by output id.
    public var outputDrops: [(output: String, dropped: UInt64)] = []

    public init() {}

    public static func == (lhs: DaemonStatus, rhs: DaemonStatus) -> Bool {
        lhs.uptimeSeconds == rhs.uptimeSeconds && lhs.windows == rhs.windows && lhs.silentWindows == rhs.silentWindows
            && lhs.events == rhs.events && lhs.latencyP50Milliseconds == rhs.latencyP50Milliseconds
            && lhs.latencyP99Milliseconds == rhs.latencyP99Milliseconds && lhs.realTimeFactor == rhs.realTimeFactor
            && lhs.droppedAudioSeconds == rhs.droppedAudioSeconds && lhs.captionFailures == rhs.captionFailures
            && lhs.outputDrops.map(\.output) == rhs.outputDrops.map(\.output) && lhs.outputDrops.map(\.dropped) == rhs.outputDrops.map(\.dropped)
    }
}

/// A request from a control client, carried out by the inference thread between windows.
public enum DaemonCommand: Sendable {
    case pause
    case resume
    /// Caption the last `seconds` of audio now.
    case captionNow(seconds: Double)
    /// Change the running configuration (SetSource, SetModel, SetCaptioner, SetHop, Set of a writable
    /// property): the change is applied to a copy of the running configuration, which replaces it only
    /// if every part it changes can be built.
    case reconfigure(what: String, change: @Sendable (inout DaemonConfiguration) throws -> Void)
    case addOutput(spec: String)
    case removeOutput(id: String)
    /// Re-read the configuration file (as SIGHUP).
    case reloadConfiguration
}

/// What a command gives back.
public enum DaemonCommandReply: Sendable, Equatable {
    case done
    case caption(CaptionEvent)
    case outputAdded(id: String)
}

/// Why a command was refused. The running setup is unchanged when one is returned. `kind`'s raw value
/// is the last part of the D-Bus error name (`org.muscaps.Daemon1.Error.<kind>`).
public struct DaemonCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case invalidArgument = "InvalidArgument"
        case noSuchSource = "NoSuchSource"
        case modelRejected = "ModelRejected"
        case outputRejected = "OutputRejected"
        case noSuchOutput = "NoSuchOutput"
        case configurationRejected = "ConfigurationRejected"
        case notAvailable = "NotAvailable"
    }

    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The meeting point of the inference thread and a control interface.
///
/// The inference thread publishes the snapshot and counters (O(1) under a mutex, never waiting on a
/// client) and takes queued commands between windows; the control side (the D-Bus thread) reads
/// snapshots and queues commands whose replies arrive through a callback. Neither side ever blocks on
/// the other for longer than a struct copy.
public final class DaemonControl: Sendable {
    public typealias Completion = @Sendable (Result<DaemonCommandReply, DaemonCommandError>) -> Void

    public struct PendingCommand: Sendable {
        public let command: DaemonCommand
        public let completion: Completion
    }

    struct Shared {
        var version: UInt64 = 0
        var snapshot = DaemonSnapshot()
        var status = DaemonStatus()
        var pending: [PendingCommand] = []
        var accepting = true
    }

    private let shared = Mutex(Shared())
    private let started = Monotonic.now()
    /// Bumped whenever the snapshot changes, so the bus thread can poll it without locking.
    private let changes = Atomic<UInt64>(0)
    private let ready = Atomic<Bool>(false)

    /// Commands waiting for the inference thread at most; more are refused at once (`.notAvailable`),
    /// so a client flooding the daemon with changes cannot hold up its windows.
    public static let pendingLimit = 16

    public init() {}

    // MARK: Inference side

    /// Changes the snapshot; a real change bumps `version`.
    public func update(_ body: (inout DaemonSnapshot) -> Void) {
        let changed: Bool = shared.withLock { state in
            var copy = state.snapshot
            body(&copy)
            guard copy != state.snapshot else { return false }
            state.snapshot = copy
            state.version &+= 1
            return true
        }
        if changed { changes.add(1, ordering: .releasing) }
    }

    /// Replaces the `GetStatus` figures (uptime is filled in on reading).
    public func updateStatus(_ body: (inout DaemonStatus) -> Void) {
        shared.withLock { body(&$0.status) }
    }

    /// The commands queued since the last call, oldest first.
    public func takeCommands() -> [PendingCommand] {
        shared.withLock { state in
            guard !state.pending.isEmpty else { return [] }
            defer { state.pending.removeAll(keepingCapacity: true) }
            return state.pending
        }
    }

    /// The daemon runs and the snapshot describes it: the control interface may show itself (take its
    /// bus name, so clients never see the defaults of a daemon still loading its models).
    public func markReady() { ready.store(true, ordering: .releasing) }

    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Refuses every queued and future command (the daemon is stopping).
    public func close(reason: String) {
        let leftovers: [PendingCommand] = shared.withLock { state in
            state.accepting = false
            defer { state.pending = [] }
            return state.pending
        }
        for item in leftovers { item.completion(.failure(DaemonCommandError(.notAvailable, reason))) }
    }

    // MARK: Control side

    /// A counter that changes whenever the snapshot does (cheap to poll).
    public var changeCount: UInt64 { changes.load(ordering: .acquiring) }

    public func snapshot() -> DaemonSnapshot { shared.withLock { $0.snapshot } }

    public func status() -> DaemonStatus {
        var status = shared.withLock { $0.status }
        status.uptimeSeconds = Monotonic.secondsSince(started)
        return status
    }

    /// Queues a command for the inference thread; `completion` is called on that thread (or at once,
    /// with `.notAvailable`, if the daemon is stopping).
    public func submit(_ command: DaemonCommand, completion: @escaping Completion) {
        let refusal: DaemonCommandError? = shared.withLock { state in
            guard state.accepting else { return DaemonCommandError(.notAvailable, "the daemon is stopping") }
            guard state.pending.count < Self.pendingLimit else {
                return DaemonCommandError(.notAvailable, "busy: \(Self.pendingLimit) commands are already waiting; try again")
            }
            state.pending.append(PendingCommand(command: command, completion: completion))
            return nil
        }
        if let refusal { completion(.failure(refusal)) }
    }
}
