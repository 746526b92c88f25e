import AudioCapture
import Captioning
import Foundation
import Logging
import MusicTagging
import NeuralCore
import ThreadSupport

/// The running parts of one configuration — capture, models, pipeline, outputs — and the one way
/// they change: `apply`, which builds and starts every part that differs BEFORE touching the running
/// ones, and swaps only when all of them succeeded. Used only from the daemon's inference thread.
final class RunningSetup {
    private(set) var configuration: DaemonConfiguration
    private(set) var capture: CapturePart
    private(set) var models: ModelPart
    let pipeline: LivePipeline
    /// The outputs the pipeline's events go to; replaced (not mutated) when the outputs change.
    private let router: OutputRouter
    private let logger: Logger
    private var closed = false

    var outputs: OutputHost { router.host }

    /// Builds and starts everything `configuration` names; on failure, what was started is stopped.
    /// `observer` sees every event the outputs get (on the inference thread).
    init(configuration: DaemonConfiguration, logger: Logger, observer: ((CaptionEvent) -> Void)? = nil) throws {
        try Self.validate(configuration)
        BLAS.threadCount = 1
        let models = try ModelPart.load(configuration, logger: logger)
        let empty = OutputHost(outputs: [], logger: logger)
        PluginCrashReporter.install()
        let transition = try Self.stageOutputs(configuration, from: empty)
        let capture: CapturePart
        do { capture = try CapturePart.start(configuration, windowSeconds: models.extractor.windowSeconds) } catch {
            transition.rollBack(timeout: 3)
            throw error
        }
        self.configuration = configuration
        self.models = models
        self.capture = capture
        self.logger = logger
        let router = OutputRouter(transition.host)
        self.router = router
        pipeline = LivePipeline(extractor: models.extractor, captioner: models.captioner, settings: Self.settings(configuration),
                                logger: logger) {
            router.host.emit($0)
            observer?($0)
        }
    }

    /// Makes `new` the running configuration, changing only the parts that differ. Every changed part
    /// is built and started first; if one fails, those are torn down again, the running setup is left
    /// exactly as it was and the `ReconfigurationError` says which part was refused and why. Outputs
    /// whose spec did not change keep running untouched (a file output is not re-opened); captions
    /// already emitted are unaffected (the open one is finalised before anything is swapped).
    func apply(_ new: DaemonConfiguration, shutdownTimeout: Double) throws -> AppliedChanges {
        try Self.validate(new)
        let old = configuration
        var changes = AppliedChanges()

        // 1. Build what changed; nothing running is touched.
        let newModels = Self.modelsDiffer(old, new) ? try ModelPart.load(new, logger: logger) : nil
        let windowSeconds = (newModels ?? models).extractor.windowSeconds
        let transition = Self.outputsDiffer(old, new) ? try Self.stageOutputs(new, from: outputs) : nil
        var newCapture: CapturePart?
        if old.source != new.source || old.loop != new.loop {
            do { newCapture = try CapturePart.start(new, windowSeconds: windowSeconds) } catch {
                transition?.rollBack(timeout: shutdownTimeout)
                throw error
            }
        }

        // 2. Everything needed exists: swap (none of this can fail).
        pipeline.finalizeOpenCaption()
        if let transition {
            router.host = transition.host
            transition.commit(timeout: shutdownTimeout)
            changes.outputsAdded = transition.added.map(\.name)
            changes.outputsRemoved = transition.removed.map(\.name)
        }
        if let newCapture {
            capture.stop()
            capture = newCapture
            pipeline.restartAfterSourceChange()
            changes.source = true
        } else if old.hop != new.hop || newModels != nil {
            capture.sizeBacklog(hop: new.hop, windowSeconds: windowSeconds)
        }
        if let newModels {
            models = newModels
            changes.model = true
        }
        changes.pipelineSettings = old.hop != new.hop || old.context != new.context
            || old.silenceThreshold != new.silenceThreshold || old.topTags != new.topTags
        if changes.model || changes.pipelineSettings {
            pipeline.reconfigure(extractor: models.extractor, captioner: models.captioner, settings: Self.settings(new))
        }
        if old.bus != new.bus || old.busNameSuffix != new.busNameSuffix {
            logger.notice("the D-Bus settings (bus, bus_name_suffix) take effect when the daemon starts again")
        }
        configuration = new
        return changes
    }

    /// Live sources only: when inference is behind, drops the oldest audio, restarts the windows after
    /// the gap, counts it and announces it. Returns the seconds dropped.
    @discardableResult
    func discardBacklogIfBehind() -> Double {
        let skipped = capture.discardBacklogIfBehind()
        guard skipped > 0 else { return 0 }
        pipeline.skip(seconds: skipped)
        pipeline.status(String(format: "inference fell behind: skipped %.1f s of audio", skipped))
        logger.warning("inference fell behind; oldest audio dropped", metadata: ["seconds": "\(skipped)"])
        return skipped
    }

    /// Stops the source, finishes the pipeline (the open caption is finalised), logs a summary, then
    /// flushes and shuts the outputs down (a hung plugin is abandoned after `timeout`).
    func close(timeout: Double) {
        guard !closed else { return }
        closed = true
        capture.stop()
        pipeline.finish()
        let stats = pipeline.statistics, captured = capture.source.statistics
        var metadata: Logger.Metadata = [
            "windows": "\(stats.windows)", "silent": "\(stats.silentWindows)", "dropped_windows": "\(stats.droppedWindows)",
            "events": "\(stats.events)", "caption_failures": "\(stats.captionFailures)",
            "captured_frames": "\(captured.capturedFrames)", "overrun_frames": "\(captured.droppedFrames)",
        ]
        if let latency = pipeline.latencySummary() {
            metadata["latency_ms_p50"] = "\(String(format: "%.1f", latency.p50))"
            metadata["latency_ms_p99"] = "\(String(format: "%.1f", latency.p99))"
            metadata["latency_ms_max"] = "\(String(format: "%.1f", latency.maximum))"
        }
        for output in outputs.statistics { metadata["output_\(output.output)_dropped"] = "\(output.dropped)" }
        logger.info("summary", metadata: metadata)
        _ = outputs.flush(timeout: timeout)
        _ = outputs.shutdown(timeout: timeout)
    }

    // MARK: Parts

    private static func validate(_ configuration: DaemonConfiguration) throws {
        do { try configuration.validate() } catch { throw ReconfigurationError.invalidConfiguration(message: "\(error)") }
    }

    static func settings(_ configuration: DaemonConfiguration) -> LivePipeline.Settings {
        .init(hopSeconds: configuration.hop, contextSeconds: configuration.context,
              silenceThreshold: configuration.silenceThreshold, topTags: configuration.topTags)
    }

    private static func modelsDiffer(_ a: DaemonConfiguration, _ b: DaemonConfiguration) -> Bool {
        a.extractor != b.extractor || a.model != b.model || a.weights != b.weights || a.captioner != b.captioner || a.beam != b.beam
    }

    private static func outputsDiffer(_ a: DaemonConfiguration, _ b: DaemonConfiguration) -> Bool {
        a.outputs != b.outputs || a.pluginPath != b.pluginPath || a.queueSize != b.queueSize
    }

    /// The outputs `configuration` names, from `host`'s: unchanged ones kept, new ones started.
    private static func stageOutputs(_ configuration: DaemonConfiguration, from host: OutputHost) throws -> OutputTransition {
        var specs: [OutputSpec] = []
        for text in configuration.outputs {
            do { specs.append(try OutputSpec(parsing: text)) } catch { throw ReconfigurationError.outputRejected(output: text, reason: "\(error)") }
        }
        var searchPath = PluginSearchPath.standard()
        if !configuration.pluginPath.isEmpty {
            searchPath = PluginSearchPath(directories: configuration.pluginPath + searchPath.directories)
        }
        do {
            return try host.transition(to: specs, searchPath: searchPath, hostVersion: "muscapsd \(MusCapsVersion.string)",
                                       queueCapacity: configuration.queueSize)
        } catch let rejection as OutputRejection {
            throw ReconfigurationError.outputRejected(output: rejection.spec.description, reason: rejection.reason)
        }
    }
}

/// Where the pipeline's events go; the daemon's inference thread swaps `host` between windows.
final class OutputRouter {
    var host: OutputHost
    init(_ host: OutputHost) { self.host = host }
}

/// The tagging network (musicnn or the Harmonic CNN) and the optional captioning model of a configuration.
struct ModelPart {
    let extractor: LiveExtractor
    let captioner: ModelCaptioner?

    /// The captioner named (else the shipped default when there is one and the extractor is musicnn —
    /// it was trained on musicnn features; "none" turns it off) and the network it was trained with:
    /// a captioner trained on Harmonic CNN features brings that extractor (with `weights`), one trained on
    /// musicnn features refuses `extractor = "hcnn"`, and features of other weights or size are refused.
    static func load(_ configuration: DaemonConfiguration, logger: Logger) throws -> ModelPart {
        var bundle: CaptioningModelBundle?
        let captionerPath = configuration.captioner ?? (configuration.extractor == "hcnn" ? nil : CaptioningModelBundle.locateDefault()?.path)
        if let captionerPath, captionerPath != "none" {
            do { bundle = try CaptioningModelBundle.load(URL(fileURLWithPath: captionerPath)) } catch {
                throw ReconfigurationError.captionerRejected(captioner: captionerPath, reason: "\(error)")
            }
        }
        if configuration.extractor == "hcnn" && configuration.captioner == nil {
            logger.notice("extractor hcnn: no captioner named (the shipped one takes musicnn features); tags only")
        }
        let extractor: LiveExtractor
        switch (configuration.extractor, bundle.flatMap { FeatureExtractorKind(extractorId: $0.extractor) }) {
        case ("hcnn", .musicnn?):
            throw ReconfigurationError.captionerRejected(
                captioner: captionerPath ?? "", reason: "it was trained on \(bundle!.extractor) features; use --extractor musicnn (or --captioner none)")
        case ("hcnn", _), ("musicnn", .hcnn?):
            // A captioner trained on Harmonic CNN features brings the extractor with it.
            do {
                extractor = .harmonicCNN(try HarmonicCNN(contentsOf: try HarmonicCNNWeights.resolve(configuration.weights)))
            } catch {
                throw ReconfigurationError.modelRejected(model: configuration.weights ?? HarmonicCNNWeights.defaultPath, reason: "\(error)")
            }
        default:
            if let trainedOn = bundle?.musicnnModel?.rawValue, trainedOn != configuration.model.lowercased(),
               configuration.model != DaemonConfiguration().model {
                throw ReconfigurationError.captionerRejected(
                    captioner: captionerPath ?? "", reason: "it was trained on musicnn-\(trainedOn) features; use --model \(trainedOn) (or --captioner none)")
            }
            let taggerName = bundle?.musicnnModel?.rawValue ?? configuration.model
            do {
                extractor = .musicnn(try Musicnn(contentsOf: try MusicnnModelName.resolve(taggerName)))
            } catch {
                throw ReconfigurationError.modelRejected(model: taggerName, reason: "\(error)")
            }
        }
        guard let bundle, let captionerPath else { return ModelPart(extractor: extractor, captioner: nil) }
        do {
            try bundle.requireCompatible(extractorId: extractor.extractorId, featureSize: extractor.featureSize)
            return ModelPart(extractor: extractor, captioner: try ModelCaptioner(bundle: bundle, beamWidth: configuration.beam, featureSize: extractor.featureSize))
        } catch {
            throw ReconfigurationError.captionerRejected(captioner: captionerPath, reason: "\(error)")
        }
    }
}

/// A started capture source, its consumer (16 kHz mono) and the backlog policy for it.
final class CapturePart {
    let spec: CaptureSpec
    let source: any CaptureSource
    let consumer: CaptureConsumer
    /// Live sources cannot wait for inference, so a backlog is dropped (oldest first). Files and stdin
    /// are lossless instead: their readers wait for room in the ring (back-pressure), which is right for
    /// piped files and leaves a real-time producer on stdin to its pipe's buffering.
    let isLive: Bool
    private(set) var backlogLimit = 0
    private(set) var backlogKeep = 0
    private let discardBuffer: UnsafeMutableBufferPointer<Float>
    var lastState: CaptureState

    /// Parses and starts the source `configuration` names.
    static func start(_ configuration: DaemonConfiguration, windowSeconds: Double) throws -> CapturePart {
        let spec: CaptureSpec
        do { spec = try CaptureSpec(parsing: configuration.source) } catch {
            throw ReconfigurationError.sourceRejected(source: configuration.source, reason: "\(error)")
        }
        var options = CaptureOptions()
        options.ringSizing = RingSizing(windowSeconds: windowSeconds, hopSeconds: configuration.hop, slackSeconds: 1)
        let source: any CaptureSource
        if case let .file(path, realtime, loop) = spec, configuration.loop, !loop {
            source = CaptureSpec.file(path: path, realtime: realtime, loop: true).makeSource(options: options)
        } else {
            source = spec.makeSource(options: options)
        }
        do {
            try source.start()
            let consumer = try CaptureConsumer(source: source)
            return CapturePart(spec: spec, source: source, consumer: consumer, hop: configuration.hop, windowSeconds: windowSeconds)
        } catch {
            source.stop()
            throw ReconfigurationError.sourceRejected(source: configuration.source, reason: "\(error)")
        }
    }

    private init(spec: CaptureSpec, source: any CaptureSource, consumer: CaptureConsumer, hop: Double, windowSeconds: Double) {
        self.spec = spec
        self.source = source
        self.consumer = consumer
        switch spec {
        case .pulse, .jack: isLive = true
        case let .file(_, realtime, _): isLive = realtime
        case .stdin: isLive = false
        }
        discardBuffer = .allocate(capacity: 4_096 * consumer.inputFormat.channels)
        discardBuffer.initialize(repeating: 0)
        lastState = source.state
        sizeBacklog(hop: hop, windowSeconds: windowSeconds)
    }

    deinit { discardBuffer.deallocate() }

    /// Audio is dropped when more than a window and two hops wait, down to a window and a hop — within
    /// the ring, whose size was fixed for the hop the source started with.
    func sizeBacklog(hop: Double, windowSeconds: Double) {
        let format = consumer.inputFormat, frame = format.channels
        let ringLimit = (source.ring?.capacity ?? Int.max) / 4 * 3
        backlogLimit = min(Int((windowSeconds + 2 * hop) * Double(format.sampleRate)) * frame, ringLimit)
        backlogKeep = min(Int((windowSeconds + hop) * Double(format.sampleRate)) * frame, backlogLimit / 3 * 2)
        backlogLimit -= backlogLimit % frame
        backlogKeep -= backlogKeep % frame
    }

    func stop() { source.stop() }

    /// When the newest sample in the ring was captured (for latency).
    func newestSampleTime() -> UInt64 {
        let age = source.ring?.secondsSinceLastWrite ?? 0
        return Monotonic.now() &- UInt64(max(0, age) * 1e9)
    }

    /// Drops the oldest audio when a live source is ahead of inference by more than the backlog limit;
    /// returns the seconds dropped (0 when nothing was).
    func discardBacklogIfBehind() -> Double {
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
        return Double(discarded / consumer.inputFormat.channels) / Double(consumer.inputFormat.sampleRate)
    }
}
