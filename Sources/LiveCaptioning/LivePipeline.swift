import Foundation
import Logging
import MusicTagging
import ThreadSupport
import NeuralCore

/// Describes the last few seconds of audio in words. Implemented by the captioning model; the pipeline
/// runs without one (tags only).
public protocol ContextCaptioner: AnyObject {
    /// Model id for events, e.g. "muscaps-early-musicnn-mtt".
    var identifier: String { get }
    /// A caption for `chunks` feature rows of `dimension` values (oldest first), or "" if none.
    /// Throws when the model cannot decode them; the pipeline counts that, reports it in the event
    /// (`CaptionEvent.captionError`) and logs it, and the window keeps its tags.
    func caption(features: UnsafeBufferPointer<Float>, chunks: Int, dimension: Int) throws -> String
}

/// The daemon's inference side, the same windows and network as `muscaps tag`:
/// 16 kHz mono samples → `MelWindower` (187-frame windows every `hop`) → musicnn → a caption of the last
/// `context` seconds → events → `CaptionMerger` → the caller's sink (the output host).
///
/// Each window produces one event covering the audio that is new since the previous window (the last
/// `hop` seconds, the first window its whole span), so consecutive events tile the timeline and the
/// merger can join identical ones. Tags are the newest window's top tags. The caption describes the
/// context: the newest window and every window before it that does not overlap the one after it, back to
/// `context` seconds — non-overlapping 3 s chunks, as the captioning models were trained on.
/// Windows quieter than `silenceThreshold` make silence events (merged into one per pause) and no caption.
///
/// Not thread-safe: one pipeline is fed from one consumer thread. Buffers are fixed at init; a window
/// allocates only the event's strings.
public final class LivePipeline {
    public struct Settings: Sendable {
        public var hopFrames: Int
        public var contextSeconds: Double
        public var silenceThreshold: Double
        public var topTags: Int
        public init(hopSeconds: Double = 1, contextSeconds: Double = 10, silenceThreshold: Double = -60, topTags: Int = 5) {
            hopFrames = MusicnnTagger.hopFrames(seconds: hopSeconds)
            self.contextSeconds = contextSeconds
            self.silenceThreshold = silenceThreshold
            self.topTags = topTags
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var windows = 0
        public var silentWindows = 0
        public var droppedWindows = 0
        public var events = 0
        /// Windows whose caption could not be decoded (the event carries the reason, the text is empty).
        public var captionFailures = 0
    }

    /// Latency from the newest captured sample of a window to its event reaching the sink, over the
    /// last `latencyCapacity` analysed windows (milliseconds).
    public struct LatencySummary: Sendable, Equatable {
        public var count: Int
        public var p50: Double
        public var p99: Double
        public var maximum: Double
    }
    public static let latencyCapacity = 8_192

    public private(set) var settings: Settings
    public private(set) var model: Musicnn
    public private(set) var captioner: ContextCaptioner?
    public private(set) var statistics = Statistics()

    private var windower: MelWindower
    private var output: MusicnnOutput
    private var modelIdentifier: String
    private var merger = CaptionMerger()
    private let sink: (CaptionEvent) -> Void
    private let logger: Logger
    private var captionFailureLog = RateLimitedReport()
    /// Ring of the newest windows' max_pool features, `historyCapacity × 753`.
    private var history: UnsafeMutableBufferPointer<Float>
    private var historyCapacity: Int
    private var historyCount = 0
    private var historyNewest = -1
    /// Gathered context rows for the captioner.
    private var contextRows: UnsafeMutableBufferPointer<Float>
    private let wallClockOrigin: Int64
    /// Ring of recent per-window latencies (ms), preallocated.
    private var latencies: [Double]
    private var latencyCount = 0
    private var lastEnd = 0.0
    private var mediaOffset = 0.0

    /// - Parameters:
    ///   - wallClockOrigin: wall-clock time of media time 0 (ns since the epoch).
    ///   - sink: receives every event, on the caller's thread.
    ///   - logger: where caption failures are reported (the first at once, then at most every 10 s).
    public init(model: Musicnn, captioner: ContextCaptioner?, settings: Settings,
                wallClockOrigin: Int64 = CaptionEvent.wallClockNow(), logger: Logger = Logger(label: "muscaps.pipeline"),
                sink: @escaping (CaptionEvent) -> Void) {
        self.model = model
        // One window at a time, as soon as it is complete: latency, not throughput, so the convolutions use
        // a second core when there is one (a persistent helper thread, idle between windows).
        if model.splitter == nil && ProcessInfo.processInfo.activeProcessorCount > 1 { model.splitter = HalfSplitter() }
        self.captioner = captioner
        self.settings = settings
        self.sink = sink
        self.logger = logger
        self.wallClockOrigin = wallClockOrigin
        windower = MelWindower(hopFrames: settings.hopFrames)
        output = MusicnnOutput(tagCount: model.tags.count)
        modelIdentifier = Self.identifier(model: model, captioner: captioner)
        historyCapacity = Self.historyCapacity(settings)
        history = Self.allocateRows(historyCapacity)
        contextRows = Self.allocateRows(historyCapacity)
        latencies = [Double](repeating: 0, count: Self.latencyCapacity)
    }

    private static func identifier(model: Musicnn, captioner: ContextCaptioner?) -> String {
        captioner?.identifier ?? "musicnn-\(model.name.prefix(3).lowercased())"
    }

    /// Windows of features the context can need: `context` seconds of hops, plus the newest.
    private static func historyCapacity(_ settings: Settings) -> Int {
        let framesPerSecond = 1 / MelWindower.frameSeconds
        return max(1, Int((settings.contextSeconds * framesPerSecond / Double(settings.hopFrames)).rounded(.up)) + 1)
    }

    private static func allocateRows(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let rows = UnsafeMutableBufferPointer<Float>.allocate(capacity: count * Musicnn.featureChannels)
        rows.initialize(repeating: 0)
        return rows
    }

    /// Switches to another tagger, captioner and/or settings mid-stream (a daemon reload), keeping media
    /// time, caption ids and statistics. The open caption is finalised first (it was made by the old
    /// setup). Windows restart (the audio not yet analysed is dropped) only if the hop changed; the
    /// captioning context is cleared if its features can no longer be used (another tagger, hop or
    /// context length). Allocates the new buffers here, never per window.
    public func reconfigure(model: Musicnn, captioner: ContextCaptioner?, settings: Settings) {
        merger.finish(emit: forward)
        let hopChanged = settings.hopFrames != self.settings.hopFrames
        let contextChanged = settings.contextSeconds != self.settings.contextSeconds
        if hopChanged { restartWindows() }
        if hopChanged || contextChanged {
            history.deallocate()
            contextRows.deallocate()
            historyCapacity = Self.historyCapacity(settings)
            history = Self.allocateRows(historyCapacity)
            contextRows = Self.allocateRows(historyCapacity)
            historyCount = 0
            historyNewest = -1
        }
        if model !== self.model {
            historyCount = 0
            if model.tags.count != self.model.tags.count { output = MusicnnOutput(tagCount: model.tags.count) }
        }
        self.model = model
        self.captioner = captioner
        self.settings = settings
        modelIdentifier = Self.identifier(model: model, captioner: captioner)
    }

    /// Emits the open caption's final revision now (before the outputs or models change under it); the
    /// next window starts a new caption.
    public func finalizeOpenCaption() {
        merger.finish(emit: forward)
    }

    /// The audio source changed (a daemon reload): what comes next does not continue what came before,
    /// so the open caption is finalised and windows and context restart; media time keeps counting.
    public func restartAfterSourceChange() {
        merger.finish(emit: forward)
        restartWindows()
    }

    /// Percentiles of the recorded latencies (nil before any window with a capture time).
    public func latencySummary() -> LatencySummary? {
        let count = min(latencyCount, Self.latencyCapacity)
        guard count > 0 else { return nil }
        let sorted = latencies.prefix(count).sorted()
        func percentile(_ p: Double) -> Double { sorted[min(count - 1, Int((Double(count - 1) * p).rounded()))] }
        return LatencySummary(count: count, p50: percentile(0.5), p99: percentile(0.99), maximum: sorted[count - 1])
    }

    deinit {
        history.deallocate()
        contextRows.deallocate()
    }

    /// Feeds samples; windows they complete are analysed and their events emitted before this returns.
    /// - Parameter capturedAt: when the newest of these samples was captured (`Monotonic` nanoseconds; for latency), if known.
    public func push(_ samples: UnsafeBufferPointer<Float>, capturedAt: UInt64? = nil) {
        windower.push(samples) { analyse($0, capturedAt: capturedAt) }
    }

    /// Ends the stream: analyses the last windows and finalises the open caption.
    public func finish() {
        windower.finish { analyse($0, capturedAt: nil) }
        merger.finish(emit: forward)
    }

    /// Inference fell behind and the caller skipped `seconds` of the oldest pending audio: windows restart
    /// after the gap (none may join audio across it), the context is cleared, media time keeps counting
    /// the skipped audio, and the drop is counted in windows.
    /// (`countedAsDropped: false` for audio a client paused the daemon over.)
    public func skip(seconds: Double, countedAsDropped: Bool = true) {
        guard seconds > 0 else { return }
        if countedAsDropped {
            statistics.droppedWindows += max(1, Int((seconds / (Double(settings.hopFrames) * MelWindower.frameSeconds)).rounded()))
        }
        merger.finish(emit: forward)
        restartWindows()
        mediaOffset += seconds
    }

    /// New windows from the current media time on; the context is cleared.
    private func restartWindows() {
        mediaOffset += Double(windower.streamLength) / Double(MusicnnTagger.sampleRate)
        windower = MelWindower(hopFrames: settings.hopFrames)
        historyCount = 0
        lastEnd = 0
    }

    /// Ends the open caption now (its final revision is emitted), e.g. when the daemon is paused.
    public func interrupt() {
        merger.finish(emit: forward)
    }

    /// Sends a status message (source lost, reconnected, windows dropped …) through to the outputs.
    public func status(_ message: String) {
        let now = mediaTime
        merger.add(CaptionEvent(kind: .status, start: now, end: now, wallClockStart: wallClockOrigin + Int64(now * 1e9),
                                text: message, model: modelIdentifier), emit: forward)
    }

    /// Media time of the end of the audio pushed so far, in seconds.
    public var mediaTime: Double { mediaOffset + Double(windower.streamLength) / Double(MusicnnTagger.sampleRate) }

    private func analyse(_ window: MelWindow, capturedAt: UInt64?) {
        statistics.windows += 1
        let start = window.index == 0 ? window.start : max(lastEnd, window.end - Double(settings.hopFrames) * MelWindower.frameSeconds)
        lastEnd = window.end
        var event = CaptionEvent(kind: .caption, start: start + mediaOffset, end: window.end + mediaOffset,
                                 wallClockStart: wallClockOrigin + Int64((start + mediaOffset) * 1e9), model: modelIdentifier)
        if window.levelDBFS < settings.silenceThreshold {
            statistics.silentWindows += 1
            event.kind = .silence
        } else {
            window.frames.withMemoryRebound(to: Float.self) { model.forward(window: $0.baseAddress!, into: output) }
            remember(output.maxPoolBuffer)
            event.tags = topTags(output.taggramBuffer, names: model.tags, count: settings.topTags).map { CaptionEvent.Tag($0.tag, $0.probability) }
            if let captioner {
                let chunks = gatherContext()
                do {
                    event.text = try captioner.caption(features: UnsafeBufferPointer(rebasing: contextRows[0..<(chunks * Musicnn.featureChannels)]),
                                                       chunks: chunks, dimension: Musicnn.featureChannels)
                } catch {
                    reportCaptionFailure(error, event: &event)
                }
            }
        }
        if let capturedAt {
            event.latencyMilliseconds = Monotonic.secondsSince(capturedAt) * 1000
        }
        merger.add(event, emit: forward)
        if let capturedAt {
            // Measured after the event went through the merger to the sink (the output queues), so it
            // covers spectrogram, network, captioner and hand-off.
            let milliseconds = Monotonic.secondsSince(capturedAt) * 1000
            latencies[latencyCount % Self.latencyCapacity] = milliseconds
            latencyCount += 1
        }
    }

    /// A caption that could not be decoded: counted, said in the event, logged (rate-limited).
    private func reportCaptionFailure(_ error: Error, event: inout CaptionEvent) {
        statistics.captionFailures += 1
        let reason = "\(error)"
        event.captionError = reason.isEmpty ? "caption decoding failed" : reason
        let total = UInt64(statistics.captionFailures)
        if captionFailureLog.shouldReport(total: total) {
            logger.error("a caption could not be decoded; the event has tags only",
                         metadata: ["reason": "\(event.captionError)", "failures": "\(total)", "since_last_report": "\(captionFailureLog.sinceLast)",
                                    "model": "\(modelIdentifier)"])
        }
    }

    private func forward(_ event: CaptionEvent) {
        statistics.events += 1
        sink(event)
    }

    private func remember(_ features: UnsafeBufferPointer<Float>) {
        historyNewest = (historyNewest + 1) % historyCapacity
        _ = UnsafeMutableBufferPointer(rebasing: history[(historyNewest * Musicnn.featureChannels)...]).update(fromContentsOf: features)
        historyCount = min(historyCount + 1, historyCapacity)
    }

    /// Copies the context's non-overlapping windows, oldest first, into `contextRows`; returns their count.
    private func gatherContext() -> Int {
        let stride = max(1, Int((Double(Musicnn.windowFrames) / Double(settings.hopFrames)).rounded(.up)))
        let span = Int((settings.contextSeconds / MelWindower.frameSeconds).rounded(.down))
        var chunks = 0
        var back = 0
        // Newest first: back = 0, stride, 2·stride … while the window still starts inside the context.
        while back < historyCount && (back * settings.hopFrames + Musicnn.windowFrames) <= max(span, Musicnn.windowFrames) {
            chunks += 1
            back += stride
        }
        for k in 0..<chunks {
            let age = (chunks - 1 - k) * stride
            let slot = (historyNewest - age + historyCapacity) % historyCapacity
            _ = UnsafeMutableBufferPointer(rebasing: contextRows[(k * Musicnn.featureChannels)...])
                .update(fromContentsOf: UnsafeBufferPointer(rebasing: history[(slot * Musicnn.featureChannels)..<((slot + 1) * Musicnn.featureChannels)]))
        }
        return chunks
    }
}
