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
/// `OutputHost`, driven from the calling thread (the inference thread), until the source ends or a
/// signal arrives.
///
/// - SIGINT/SIGTERM: finish the pipeline (the open caption is finalised), flush and shut down the
///   outputs (a hung plugin is abandoned after `shutdownTimeout`), stop the source, exit 0.
/// - SIGHUP: re-read the config file; if it is valid, everything is rebuilt from it (outputs, model,
///   source) without leaving the process; if not, the error is logged and the running setup stays.
/// - Overload (live sources only): when more than a window and two hops of audio wait in the ring, the
///   oldest audio is discarded down to one window and a hop, the windows restart after the gap, and
///   the drop is counted and announced as a status event — memory never grows and captions stay current.
public final class Daemon {
    public struct Outcome: Sendable, Equatable {
        public var exitCode: Int32
        public var reason: String
    }

    public let logger: Logger
    public let configurationPath: String?
    public private(set) var configuration: DaemonConfiguration
    /// Seconds allowed for outputs to flush and close at shutdown.
    public var shutdownTimeout = 3.0

    /// Where a control interface (D-Bus) reads state and queues commands; nil without one.
    public var control: DaemonControl?
    var controlLoop = ControlLoopState()

    private let flags = SignalFlags()
    private var signalSources: [DispatchSourceSignal] = []

    public init(configuration: DaemonConfiguration, configurationPath: String?, logger: Logger) {
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.logger = logger
    }

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

    /// Runs until the source ends, fails, or a stop is requested.
    public func run() throws -> Outcome {
        var session = try Session(configuration: configuration, logger: logger) { [unowned self] in observe($0) }
        defer {
            session.close(timeout: shutdownTimeout, logger: logger)
            control?.close(reason: "the daemon is stopping")
        }
        logger.info("capturing", metadata: ["source": "\(session.source.name)", "format": "\(session.consumer.inputFormat)",
                                            "outputs": "\(configuration.outputs.joined(separator: ", "))"])
        while true {
            if flags.stop.load(ordering: .relaxed) {
                session.pipeline.status("stopping on signal")
                return Outcome(exitCode: 0, reason: "signal")
            }
            if flags.reload.exchange(false, ordering: .relaxed) {
                if let reloaded = reload() {
                    session.close(timeout: shutdownTimeout, logger: logger)
                    configuration = reloaded
                    session = try Session(configuration: reloaded, logger: logger) { [unowned self] in observe($0) }
                    session.pipeline.status("configuration reloaded")
                    logger.info("configuration reloaded", metadata: ["path": "\(configurationPath ?? "-")"])
                }
            }
            serveControl(&session)
            controlLoop.discardedSeconds += session.discardBacklogIfBehind(logger: logger)
            let result = try session.consumer.pull(timeout: 0.25) { chunk in feed(chunk, to: session) }
            session.reportStateChanges(logger: logger)
            if result == .ended {
                switch session.source.state {
                case let .failed(reason):
                    session.pipeline.status("source failed: \(reason)")
                    logger.error("source failed", metadata: ["source": "\(session.source.name)", "reason": "\(reason)"])
                    return Outcome(exitCode: 1, reason: "source failed: \(reason)")
                default:
                    return Outcome(exitCode: 0, reason: "end of stream")
                }
            }
        }
    }

    /// The config file re-read, or nil (logged) if it is missing or invalid.
    private func reload() -> DaemonConfiguration? {
        guard let configurationPath else {
            logger.notice("SIGHUP: no --config file to reload")
            return nil
        }
        do {
            let reloaded = try DaemonConfiguration.load(path: configurationPath)
            try reloaded.validate()
            return reloaded
        } catch {
            logger.error("SIGHUP: keeping the running configuration", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

/// What the signal handlers tell the run loop.
final class SignalFlags: Sendable {
    let stop = Atomic<Bool>(false)
    let reload = Atomic<Bool>(false)
}

/// One configuration's worth of running parts.
struct Session {
    let source: any CaptureSource
    let consumer: CaptureConsumer
    let pipeline: LivePipeline
    let outputs: OutputHost
    let isLive: Bool
    private let backlogLimit: Int
    private let backlogKeep: Int
    private let discardBuffer: UnsafeMutableBufferPointer<Float>
    private var lastState: CaptureState
    private var closed = false

    init(configuration: DaemonConfiguration, logger: Logger, observer: ((CaptionEvent) -> Void)? = nil) throws {
        try configuration.validate()
        let spec = try CaptureSpec(parsing: configuration.source)
        let specs = try configuration.outputs.map(OutputSpec.init(parsing:))
        var searchPath = PluginSearchPath.standard()
        if !configuration.pluginPath.isEmpty {
            searchPath = PluginSearchPath(directories: configuration.pluginPath + searchPath.directories)
        }
        BLAS.threadCount = 1
        // The captioner: the one named, else the shipped default if there is one; "none" turns it off.
        var captioner: ModelCaptioner?
        let captionerPath = configuration.captioner ?? CaptioningModelBundle.locateDefault()?.path
        if let captionerPath, captionerPath != "none" {
            captioner = try ModelCaptioner(bundle: try CaptioningModelBundle.load(URL(fileURLWithPath: captionerPath)), beamWidth: configuration.beam)
        }
        if let captioner, let trainedOn = captioner.taggerName, trainedOn != configuration.model.lowercased() {
            guard configuration.model == DaemonConfiguration().model else {
                throw CaptionerError(message: "the captioning model was trained on musicnn-\(trainedOn) features; use --model \(trainedOn) (or --captioner none)")
            }
        }
        let taggerName = captioner?.taggerName ?? configuration.model
        let model = try Musicnn(contentsOf: try MusicnnModelName.resolve(taggerName))
        outputs = try OutputHost.start(specs, searchPath: searchPath, queueCapacity: configuration.queueSize, logger: logger)
        let outputs = self.outputs
        pipeline = LivePipeline(
            model: model, captioner: captioner,
            settings: .init(hopSeconds: configuration.hop, contextSeconds: configuration.context,
                            silenceThreshold: configuration.silenceThreshold, topTags: configuration.topTags)) {
            outputs.emit($0)
            observer?($0)
        }
        var options = CaptureOptions()
        options.ringSizing = RingSizing(windowSeconds: 2.992, hopSeconds: configuration.hop, slackSeconds: 1)
        if case let .file(path, realtime, loop) = spec, configuration.loop, !loop {
            source = CaptureSpec.file(path: path, realtime: realtime, loop: true).makeSource(options: options)
        } else {
            source = spec.makeSource(options: options)
        }
        do { try source.start() } catch {
            _ = outputs.shutdown(timeout: 3)
            throw error
        }
        consumer = try CaptureConsumer(source: source)
        // Live sources cannot wait for inference, so a backlog is dropped (oldest first). Files and
        // stdin are lossless instead: their readers wait for room in the ring (back-pressure), which
        // is right for piped files and leaves a real-time producer on stdin to its pipe's buffering.
        switch spec {
        case .pulse, .jack: isLive = true
        case let .file(_, realtime, _): isLive = realtime
        case .stdin: isLive = false
        }
        let format = consumer.inputFormat
        let frame = format.channels
        backlogLimit = Int((2.992 + 2 * configuration.hop) * Double(format.sampleRate)) * frame
        backlogKeep = Int((2.992 + configuration.hop) * Double(format.sampleRate)) * frame
        discardBuffer = .allocate(capacity: 4_096 * frame)
        discardBuffer.initialize(repeating: 0)
        lastState = source.state
    }

    /// When the newest sample in the ring was captured (for latency).
    func newestSampleTime() -> UInt64 {
        let age = consumer.source.ring?.secondsSinceLastWrite ?? 0
        return Monotonic.now() &- UInt64(max(0, age) * 1e9)
    }

    /// Drops the oldest audio when a live source is ahead of inference by more than a window and two hops.
    /// Returns the seconds discarded.
    @discardableResult
    func discardBacklogIfBehind(logger: Logger) -> Double {
        guard isLive, let ring = source.ring, ring.readable > backlogLimit else { return 0 }
        var toDiscard = ring.readable - backlogKeep
        toDiscard -= toDiscard % consumer.inputFormat.channels
        var discarded = 0
        while discarded < toDiscard {
            let count = min(discardBuffer.count, toDiscard - discarded)
            let got = ring.read(into: UnsafeMutableBufferPointer(rebasing: discardBuffer[0..<count]))
            if got == 0 { break }
            discarded += got
        }
        let seconds = Double(discarded / consumer.inputFormat.channels) / Double(consumer.inputFormat.sampleRate)
        pipeline.skip(seconds: seconds)
        pipeline.status(String(format: "inference fell behind: skipped %.1f s of audio", seconds))
        logger.warning("inference fell behind; oldest audio dropped", metadata: ["seconds": "\(seconds)"])
        return seconds
    }

    mutating func reportStateChanges(logger: Logger) {
        let state = source.state
        guard state != lastState else { return }
        lastState = state
        switch state {
        case .serverLost, .running, .connecting:
            pipeline.status("source \(state)")
            logger.notice("source state", metadata: ["state": "\(state)"])
        default: break
        }
    }

    mutating func close(timeout: Double, logger: Logger? = nil) {
        guard !closed else { return }
        closed = true
        source.stop()
        pipeline.finish()
        if let logger {
            let stats = pipeline.statistics, capture = source.statistics
            var metadata: Logger.Metadata = [
                "windows": "\(stats.windows)", "silent": "\(stats.silentWindows)", "dropped_windows": "\(stats.droppedWindows)",
                "events": "\(stats.events)", "captured_frames": "\(capture.capturedFrames)", "overrun_frames": "\(capture.droppedFrames)",
            ]
            if let latency = pipeline.latencySummary() {
                metadata["latency_ms_p50"] = "\(String(format: "%.1f", latency.p50))"
                metadata["latency_ms_p99"] = "\(String(format: "%.1f", latency.p99))"
                metadata["latency_ms_max"] = "\(String(format: "%.1f", latency.maximum))"
            }
            for output in outputs.statistics { metadata["output_\(output.output)_dropped"] = "\(output.dropped)" }
            logger.info("summary", metadata: metadata)
        }
        _ = outputs.flush(timeout: timeout)
        _ = outputs.shutdown(timeout: timeout)
        discardBuffer.deallocate()
    }
}
