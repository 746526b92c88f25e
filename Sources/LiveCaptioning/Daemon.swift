import AudioCapture
import Captioning
import Dispatch
import Foundation
import Logging
import MusicTagging
import NeuralCore
import Synchronization
import ThreadSupport

/// `muscapsd` at run time: one capture source → `CaptureConsumer` (16 kHz mono) → `LivePipeline` →
/// `OutputHost`, driven from the thread that calls `run()` (the inference thread), until the source
/// ends or a signal arrives.
///
/// - SIGINT/SIGTERM: finish the pipeline (the open caption is finalised), flush and shut down the
///   outputs (a hung plugin is abandoned after `shutdownTimeout`), stop the source, exit 0.
/// - SIGHUP: re-read the config file, put the command-line options back on top (the command line
///   wins) and `apply` the result. Only the parts that changed are rebuilt, each built and started
///   before the old one is stopped; if any cannot be (bad file, missing plugin or model, a source
///   that cannot be opened) the running setup is kept, the reason logged and announced as a status
///   event. Kept outputs are flushed.
/// - `apply(_:)`: the same transactional change from any thread (the D-Bus setters use it).
/// - Overload (live sources only): when more than a window and two hops of audio wait in the ring, the
///   oldest audio is discarded down to one window and a hop, the windows restart after the gap, and
///   the drop is counted and announced as a status event — memory never grows and captions stay current.
public final class Daemon: @unchecked Sendable {
    // @unchecked: what other threads may touch (`shared`, `flags`) is behind a Mutex or atomic; the
    // running setup belongs to the thread in `run()`.

    public struct Outcome: Sendable, Equatable {
        public var exitCode: Int32
        public var reason: String
    }

    public let logger: Logger
    public let configurationPath: String?
    /// Command-line settings, re-applied over the file on every reload.
    public let overrides: DaemonConfiguration.Overrides
    /// Seconds allowed for outputs to flush and close at shutdown (and for removed outputs on a reload).
    public var shutdownTimeout = 3.0

    /// Where a control interface (D-Bus) reads state and queues commands; nil without one.
    public var control: DaemonControl?
    var controlLoop = ControlLoopState()

    private let flags = SignalFlags()
    private var signalSources: [DispatchSourceSignal] = []
    private let shared: Mutex<SharedState>

    private enum Phase { case notStarted, running(pthread_t), stopped }

    /// What other threads read or hand to the run loop.
    private struct SharedState {
        var configuration: DaemonConfiguration
        var phase = Phase.notStarted
        var pending: [ApplyRequest] = []
        var statistics = LivePipeline.Statistics()
    }

    public init(configuration: DaemonConfiguration, configurationPath: String?,
                overrides: DaemonConfiguration.Overrides = .init(), logger: Logger) {
        self.configurationPath = configurationPath
        self.overrides = overrides
        self.logger = logger
        shared = Mutex(SharedState(configuration: configuration))
    }

    /// The configuration the daemon runs (after the last successful apply).
    public var configuration: DaemonConfiguration { shared.withLock { $0.configuration } }

    /// The pipeline's counters (windows, events, caption failures …) as of the last pass of the run loop.
    public var statistics: LivePipeline.Statistics { shared.withLock { $0.statistics } }

    /// Asks the run loop to stop (what SIGTERM does).
    public func requestStop() { flags.stop.store(true, ordering: .relaxed) }

    /// Installs SIGINT/SIGTERM/SIGHUP handling (dispatch sources: the handlers run on a queue, not in
    /// signal context, and only set flags the run loop polls).
    public func handleSignals() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [flags] in
                if signalNumber == SIGHUP { flags.reload.store(true, ordering: .relaxed) } else { flags.stop.store(true, ordering: .relaxed) }
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Makes `newConfiguration` the running one, transactionally: every part that differs (source,
    /// tagging model, captioner, outputs, hop and other pipeline settings) is built and started first,
    /// and swapped in only if all of them succeeded; otherwise nothing changes and the error says which
    /// part was refused and why. Unchanged outputs keep running untouched.
    ///
    /// Callable from any thread: while `run()` runs, the change is made on its thread between windows
    /// and this call waits for it. Before `run()` it only validates and stores the configuration (run
    /// builds it); after `run()` has returned it throws `.notRunning`.
    /// - Throws: `ReconfigurationError`.
    public func apply(_ newConfiguration: DaemonConfiguration) throws -> AppliedChanges {
        let request = ApplyRequest(newConfiguration)
        enum Route { case now, queued, before, after }
        let route: Route = shared.withLock { state in
            switch state.phase {
            case let .running(thread):
                if pthread_equal(thread, pthread_self()) != 0 { return .now }
                state.pending.append(request)
                return .queued
            case .notStarted: return .before
            case .stopped: return .after
            }
        }
        switch route {
        case .now:
            guard let setup = currentSetup else { throw ReconfigurationError.notRunning }
            return try apply(newConfiguration, to: setup, origin: "apply")
        case .queued:
            request.done.wait()
            return try request.result!.get()
        case .before:
            do { try newConfiguration.validate() } catch { throw ReconfigurationError.invalidConfiguration(message: "\(error)") }
            shared.withLock { $0.configuration = newConfiguration }
            return AppliedChanges()
        case .after:
            throw ReconfigurationError.notRunning
        }
    }

    /// What SIGHUP does: the config file re-read, the command-line options put back on top, applied.
    /// - Throws: `ReconfigurationError` (`.invalidConfiguration` for a file that is missing or invalid).
    public func reloadConfiguration() throws -> AppliedChanges {
        let reloaded: DaemonConfiguration
        do { reloaded = try DaemonConfiguration.load(path: configurationPath, overrides: overrides) } catch {
            throw ReconfigurationError.invalidConfiguration(message: "\(error)")
        }
        return try apply(reloaded)
    }

    /// The setup `run()` is driving (only read on its thread).
    private var currentSetup: RunningSetup?

    /// Runs until the source ends, fails, or a stop is requested.
    public func run() throws -> Outcome {
        let setup = try RunningSetup(configuration: configuration, logger: logger) { [unowned self] in observe($0) }
        currentSetup = setup
        shared.withLock { $0.phase = .running(pthread_self()) }
        defer {
            setup.close(timeout: shutdownTimeout)
            control?.close(reason: "the daemon is stopping")
            currentSetup = nil
            let abandoned = shared.withLock { state in
                state.phase = .stopped
                state.statistics = setup.pipeline.statistics
                defer { state.pending = [] }
                return state.pending
            }
            for request in abandoned { request.finish(.failure(.notRunning)) }
        }
        logger.info("capturing", metadata: ["source": "\(setup.capture.source.name)", "format": "\(setup.capture.consumer.inputFormat)",
                                            "outputs": "\(setup.configuration.outputs.joined(separator: ", "))", "blas": "\(BLAS.kernelDescription)"])
        while true {
            if flags.stop.load(ordering: .relaxed) {
                setup.pipeline.status("stopping on signal")
                return Outcome(exitCode: 0, reason: "signal")
            }
            if flags.reload.exchange(false, ordering: .relaxed) { reloadOnSignal(setup) }
            for request in shared.withLock({ state in defer { state.pending = [] }; return state.pending }) {
                do { request.finish(.success(try apply(request.configuration, to: setup, origin: "apply"))) } catch let error as ReconfigurationError {
                    request.finish(.failure(error))
                } catch {
                    request.finish(.failure(.invalidConfiguration(message: "\(error)")))
                }
            }
            serveControl(setup)
            controlLoop.discardedSeconds += setup.discardBacklogIfBehind()
            let capture = setup.capture
            let result = try capture.consumer.pull(timeout: 0.25) { chunk in feed(chunk, to: setup) }
            reportStateChanges(capture, setup.pipeline)
            let statistics = setup.pipeline.statistics
            shared.withLock { $0.statistics = statistics }
            if result == .ended {
                switch capture.source.state {
                case let .failed(reason):
                    setup.pipeline.status("source failed: \(reason)")
                    logger.error("source failed", metadata: ["source": "\(capture.source.name)", "reason": "\(reason)"])
                    return Outcome(exitCode: 1, reason: "source failed: \(reason)")
                default:
                    return Outcome(exitCode: 0, reason: "end of stream")
                }
            }
        }
    }

    /// Applies on the run loop's thread; logs and announces the outcome either way.
    private func apply(_ newConfiguration: DaemonConfiguration, to setup: RunningSetup, origin: String) throws -> AppliedChanges {
        do {
            let changes = try setup.apply(newConfiguration, shutdownTimeout: shutdownTimeout)
            shared.withLock { $0.configuration = newConfiguration }
            setup.pipeline.status("configuration \(origin == "SIGHUP" ? "reloaded" : "changed"): \(changes)")
            logger.info("configuration \(origin == "SIGHUP" ? "reloaded" : "changed")", metadata: ["changed": "\(changes)", "by": "\(origin)"])
            return changes
        } catch let error as ReconfigurationError {
            setup.pipeline.status("configuration refused, running setup kept: \(error)")
            logger.error("\(origin): keeping the running configuration", metadata: ["refused": "\(error.part)", "error": "\(error)"])
            throw error
        }
    }

    /// SIGHUP: the file again, the command line on top, applied; kept outputs are asked to flush.
    private func reloadOnSignal(_ setup: RunningSetup) {
        guard configurationPath != nil else {
            logger.notice("SIGHUP: no --config file to reload")
            return
        }
        do {
            let reloaded: DaemonConfiguration
            do { reloaded = try DaemonConfiguration.load(path: configurationPath, overrides: overrides) } catch {
                let refusal = ReconfigurationError.invalidConfiguration(message: "\(error)")
                setup.pipeline.status("configuration refused, running setup kept: \(refusal)")
                logger.error("SIGHUP: keeping the running configuration", metadata: ["refused": "\(refusal.part)", "error": "\(refusal)"])
                return
            }
            _ = try apply(reloaded, to: setup, origin: "SIGHUP")
        } catch {
            // Logged and announced by apply.
        }
        for output in setup.outputs.outputs { _ = output.requestFlush() }
    }

    private func reportStateChanges(_ capture: CapturePart, _ pipeline: LivePipeline) {
        let state = capture.source.state
        guard state != capture.lastState else { return }
        capture.lastState = state
        switch state {
        case .serverLost, .running, .connecting:
            pipeline.status("source \(state)")
            logger.notice("source state", metadata: ["state": "\(state)"])
        default: break
        }
    }
}

/// A configuration handed to the run loop by another thread, and its outcome.
private final class ApplyRequest: @unchecked Sendable {
    // @unchecked: `result` is written once before `done` is signalled and read only after waiting on it.
    let configuration: DaemonConfiguration
    var result: Result<AppliedChanges, ReconfigurationError>?
    let done = DispatchSemaphore(value: 0)

    init(_ configuration: DaemonConfiguration) { self.configuration = configuration }

    func finish(_ result: Result<AppliedChanges, ReconfigurationError>) {
        self.result = result
        done.signal()
    }
}

/// What the signal handlers tell the run loop.
final class SignalFlags: Sendable {
    let stop = Atomic<Bool>(false)
    let reload = Atomic<Bool>(false)
}
