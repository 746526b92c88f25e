import AudioCapture
import Foundation
import Logging
import MusicTagging
import ThreadSupport

/// The run loop's side of `DaemonControl`: between windows it carries out queued commands and
/// publishes what the control interface shows. Everything here runs on the inference thread.
struct ControlLoopState {
    var paused = false
    /// Audio read and discarded while paused, in 16 kHz samples.
    var pausedSamples = 0
    /// Inference time and the audio it analysed, for the real-time factor.
    var processingSeconds = 0.0
    var analysedSeconds = 0.0
    /// Audio dropped because inference fell behind.
    var discardedSeconds = 0.0
    var lastLatencyPublish: UInt64 = 0  // Monotonic; 0: never
    var latency: LivePipeline.LatencySummary?
    var lastCaption: CaptionEvent?
}

extension Daemon {
    /// Pushes samples to the pipeline, or discards them while paused; times the work for the status.
    func feed(_ chunk: UnsafeBufferPointer<Float>, to session: RunningSetup) {
        if controlLoop.paused {
            controlLoop.pausedSamples += chunk.count
            return
        }
        let started = Monotonic.now()
        session.pipeline.push(chunk, capturedAt: session.capture.newestSampleTime())
        controlLoop.processingSeconds += Monotonic.secondsSince(started)
        controlLoop.analysedSeconds += Double(chunk.count) / Double(MusicnnTagger.sampleRate)
    }

    /// Carries out the commands clients queued, then publishes the snapshot and status.
    func serveControl(_ session: RunningSetup) {
        guard let control else { return }
        for pending in control.takeCommands() {
            pending.completion(carryOut(pending.command, session: session))
        }
        publish(session, to: control)
        control.markReady()
    }

    private func carryOut(_ command: DaemonCommand, session: RunningSetup) -> Result<DaemonCommandReply, DaemonCommandError> {
        switch command {
        case .pause:
            guard !controlLoop.paused else { return .success(.done) }
            // The open caption ends here (its final revision goes out now), then nothing until Resume.
            session.pipeline.interrupt()
            session.pipeline.status("paused")
            controlLoop.paused = true
            controlLoop.pausedSamples = 0
            logger.notice("paused over D-Bus")
            return .success(.done)
        case .resume:
            guard controlLoop.paused else { return .success(.done) }
            controlLoop.paused = false
            // Media time keeps counting the paused audio; windows restart after the gap.
            session.pipeline.skip(seconds: Double(controlLoop.pausedSamples) / Double(MusicnnTagger.sampleRate), countedAsDropped: false)
            session.pipeline.status("resumed")
            logger.notice("resumed over D-Bus")
            return .success(.done)
        case let .captionNow(seconds):
            guard session.pipeline.captioner != nil else {
                return .failure(DaemonCommandError(.notAvailable, "no captioning model is loaded (Captioner is none): nothing can caption"))
            }
            do {
                guard let event = try session.pipeline.captionNow(seconds: seconds) else {
                    return .failure(DaemonCommandError(.notAvailable, "no audio has been analysed yet"))
                }
                return .success(.caption(event))
            } catch {
                return .failure(DaemonCommandError(.notAvailable, "the captioning model could not describe the audio: \(error)"))
            }
        case let .reconfigure(_, change):
            // A copy of the running configuration with one field changed, applied transactionally.
            var changed = configuration
            do { try change(&changed) } catch {
                return .failure(DaemonCommandError(.invalidArgument, "\(error)"))
            }
            return reconfigure(to: changed, invalidKind: .invalidArgument)
        case let .addOutput(spec):
            do { _ = try OutputSpec(parsing: spec) } catch {
                return .failure(DaemonCommandError(.invalidArgument, "\(error)"))
            }
            var changed = configuration
            guard !changed.outputs.contains(spec) else {
                return .failure(DaemonCommandError(.outputRejected, "output '\(spec)' is already running"))
            }
            changed.outputs.append(spec)
            return reconfigure(to: changed, invalidKind: .invalidArgument).map { _ in .outputAdded(id: spec) }
        case let .removeOutput(id):
            var changed = configuration
            guard let index = changed.outputs.firstIndex(of: id) else {
                let running = changed.outputs.map { "'\($0)'" }.joined(separator: ", ")
                return .failure(DaemonCommandError(.noSuchOutput, "no output '\(id)' (running: \(running))"))
            }
            changed.outputs.remove(at: index)
            guard !changed.outputs.isEmpty else {
                return .failure(DaemonCommandError(.invalidArgument, "'\(id)' is the only output; add another before removing it"))
            }
            return reconfigure(to: changed, invalidKind: .invalidArgument)
        case .reloadConfiguration:
            guard configurationPath != nil else {
                return .failure(DaemonCommandError(.configurationRejected, "muscapsd was started without --config: there is no file to reload"))
            }
            do {
                _ = try reloadConfiguration()
                return .success(.done)
            } catch let error as ReconfigurationError {
                return .failure(Self.commandError(error, invalidKind: .configurationRejected))
            } catch {
                return .failure(DaemonCommandError(.configurationRejected, "\(error)"))
            }
        }
    }

    /// `apply` on this thread (between windows), its refusal in the control interface's terms.
    private func reconfigure(to changed: DaemonConfiguration, invalidKind: DaemonCommandError.Kind) -> Result<DaemonCommandReply, DaemonCommandError> {
        do {
            _ = try apply(changed)
            return .success(.done)
        } catch let error as ReconfigurationError {
            return .failure(Self.commandError(error, invalidKind: invalidKind))
        } catch {
            return .failure(DaemonCommandError(invalidKind, "\(error)"))
        }
    }

    /// Which part was refused → the D-Bus error name's last part.
    static func commandError(_ error: ReconfigurationError, invalidKind: DaemonCommandError.Kind) -> DaemonCommandError {
        switch error {
        case .invalidConfiguration: return DaemonCommandError(invalidKind, "\(error)")
        case .sourceRejected: return DaemonCommandError(.noSuchSource, "\(error); the running source is kept")
        case .modelRejected, .captionerRejected: return DaemonCommandError(.modelRejected, "\(error); the running model is kept")
        case .outputRejected: return DaemonCommandError(.outputRejected, "\(error)")
        case .notRunning: return DaemonCommandError(.notAvailable, "\(error)")
        }
    }

    /// What clients see: the properties (a change bumps the snapshot's version) and GetStatus's figures.
    private func publish(_ session: RunningSetup, to control: DaemonControl) {
        let configuration = self.configuration
        let capture = session.capture.source.statistics
        let rate = Double(max(1, session.capture.consumer.inputFormat.sampleRate))
        let dropped = controlLoop.discardedSeconds + Double(capture.droppedFrames) / rate
        let state: DaemonSnapshot.State
        switch session.capture.source.state {
        case .serverLost, .connecting: state = .waitingForSource
        case .failed: state = .error
        default: state = controlLoop.paused ? .paused : .running
        }
        let lastCaption = controlLoop.lastCaption
        control.update { snapshot in
            snapshot.state = state
            snapshot.source = configuration.source
            snapshot.model = configuration.model
            snapshot.captioner = session.pipeline.captioner?.identifier ?? "none"
            snapshot.hopSeconds = configuration.hop
            snapshot.beam = configuration.beam
            snapshot.outputs = configuration.outputs
            snapshot.lastCaption = lastCaption
            // Rounded to milliseconds so the property changes only when audio is really dropped.
            snapshot.droppedAudioSeconds = (dropped * 1000).rounded() / 1000
        }
        // Percentiles sort the recent latencies: at most once a second.
        if controlLoop.lastLatencyPublish == 0 || Monotonic.secondsSince(controlLoop.lastLatencyPublish) >= 1 {
            controlLoop.latency = session.pipeline.latencySummary()
            controlLoop.lastLatencyPublish = Monotonic.now()
        }
        let pipelineStatistics = session.pipeline.statistics
        let latency = controlLoop.latency
        let realTimeFactor = controlLoop.analysedSeconds > 0 ? controlLoop.processingSeconds / controlLoop.analysedSeconds : 0
        // By the outputs' ids (their specs) when the host's outputs are in the configuration's order.
        let statistics = session.outputs.statistics
        let ids = statistics.count == configuration.outputs.count ? configuration.outputs : statistics.map(\.output)
        let drops = zip(ids, statistics).map { (output: $0, dropped: UInt64($1.dropped)) }
        control.updateStatus { status in
            status.windows = pipelineStatistics.windows
            status.silentWindows = pipelineStatistics.silentWindows
            status.events = pipelineStatistics.events
            status.latencyP50Milliseconds = latency?.p50
            status.latencyP99Milliseconds = latency?.p99
            status.realTimeFactor = realTimeFactor
            status.droppedAudioSeconds = dropped
            status.captionFailures = pipelineStatistics.captionFailures
            status.outputDrops = drops
        }
    }

    /// Every event that reaches the outputs; the newest caption or silence becomes `LastCaption`.
    func observe(_ event: CaptionEvent) {
        guard event.kind != .status else { return }
        controlLoop.lastCaption = event
    }
}
