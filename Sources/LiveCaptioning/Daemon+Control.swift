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
            guard let event = session.pipeline.captionNow(seconds: seconds) else {
                return .failure(DaemonCommandError(.notAvailable, "no audio has been analysed yet"))
            }
            return .success(.caption(event))
        default:
            return .failure(DaemonCommandError(.notAvailable, "not available in this version of muscapsd"))
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
            snapshot.outputs = session.outputs.outputs.map(\.name)
            snapshot.lastCaption = lastCaption
            // Rounded to milliseconds so the property changes only when audio is really dropped.
            snapshot.droppedAudioSeconds = (dropped * 1000).rounded() / 1000
        }
        // Percentiles sort the recent latencies: at most once a second.
        if controlLoop.lastLatencyPublish == 0 || Monotonic.secondsSince(controlLoop.lastLatencyPublish) >= 1 {
            controlLoop.latency = session.pipeline.latencySummary()
            controlLoop.lastLatencyPublish = Monotonic.now()
        }
        let statistics = session.pipeline.statistics
        let latency = controlLoop.latency
        let realTimeFactor = controlLoop.analysedSeconds > 0 ? controlLoop.processingSeconds / controlLoop.analysedSeconds : 0
        let drops = session.outputs.statistics.map { (output: $0.output, dropped: UInt64($0.dropped)) }
        control.updateStatus { status in
            status.windows = statistics.windows
            status.silentWindows = statistics.silentWindows
            status.events = statistics.events
            status.latencyP50Milliseconds = latency?.p50
            status.latencyP99Milliseconds = latency?.p99
            status.realTimeFactor = realTimeFactor
            status.droppedAudioSeconds = dropped
            status.outputDrops = drops
        }
    }

    /// Every event that reaches the outputs; the newest caption or silence becomes `LastCaption`.
    func observe(_ event: CaptionEvent) {
        guard event.kind != .status else { return }
        controlLoop.lastCaption = event
    }
}
