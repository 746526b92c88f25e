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

/// The network the live pipeline runs: musicnn on 3 s log-mel windows or the Harmonic CNN on 5 s
/// windows of raw samples.
public enum LiveExtractor {
    case musicnn(Musicnn)
    case harmonicCNN(HarmonicCNN)

    public var kind: FeatureExtractorKind {
        switch self {
        case .musicnn: return .musicnn
        case .harmonicCNN: return .hcnn
        }
    }

    public var tags: [String] {
        switch self {
        case let .musicnn(model): return model.tags
        case let .harmonicCNN(model): return model.tags
        }
    }

    public var featureSize: Int {
        switch self {
        case .musicnn: return Musicnn.featureChannels
        case .harmonicCNN: return HarmonicCNN.featureSize
        }
    }

    /// Window length in samples at 16 kHz.
    public var windowSamples: Int {
        switch self {
        case .musicnn: return Musicnn.windowFrames * MelSpectrogram.hopLength
        case .harmonicCNN: return HarmonicCNN.windowSamples
        }
    }

    public var windowSeconds: Double { kind.windowSeconds }

    /// The feature extractor id, as captioning models record it (`musicnn-mtt`, `hcnn-mtt` …).
    public var extractorId: String {
        switch self {
        case let .musicnn(model): return MusicnnTagger(model: model).extractorId
        case let .harmonicCNN(model): return HarmonicCNNTagger(model: model).extractorId
        }
    }

    /// The same network instance (a reload that kept the model).
    func isSame(as other: LiveExtractor) -> Bool {
        switch (self, other) {
        case let (.musicnn(a), .musicnn(b)): return a === b
        case let (.harmonicCNN(a), .harmonicCNN(b)): return a === b
        default: return false
        }
    }
}

/// The daemon's inference side, the same windows and network as `muscaps tag`:
/// 16 kHz mono samples → `MelWindower` (187-frame windows every `hop`) → musicnn, or `SampleWindower`
/// (5 s windows every `hop`) → the Harmonic CNN → a caption of the last `context` seconds → events →
/// `CaptionMerger` → the caller's sink (the output host).
///
/// Each window produces one event covering the audio that is new since the previous window (the last
/// `hop` seconds, the first window its whole span), so consecutive events tile the timeline and the
/// merger can join identical ones. Tags are the newest window's top tags. The caption describes the
/// context: the newest window and every window before it that does not overlap the one after it, back to
/// `context` seconds — non-overlapping 3 s (musicnn) or 5 s (Harmonic CNN) chunks, as the captioning
/// models were trained on.
/// Windows quieter than `silenceThreshold` make silence events (merged into one per pause) and no caption.
///
/// Not thread-safe: one pipeline is fed from one consumer thread. Buffers are fixed at init; a window
/// allocates only the event's strings.
public final class LivePipeline {
    public struct Settings: Sendable {
        public var hopSeconds: Double
        /// musicnn's hop in 16 ms frames (its windows start on frame boundaries).
        public var hopFrames: Int
        public var contextSeconds: Double
        public var silenceThreshold: Double
        public var topTags: Int
        public init(hopSeconds: Double = 1, contextSeconds: Double = 10, silenceThreshold: Double = -60, topTags: Int = 5) {
            self.hopSeconds = hopSeconds
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
    public private(set) var extractor: LiveExtractor
    public private(set) var captioner: ContextCaptioner?
    public private(set) var statistics = Statistics()

    /// The windower and the network's output buffers, per extractor.
    private enum Windowing {
        case mel(MelWindower, MusicnnOutput)
        case samples(SampleWindower, HarmonicCNNOutput)
    }
    private var windowing: Windowing
    private var modelIdentifier: String
    private var merger = CaptionMerger()
    private let sink: (CaptionEvent) -> Void
    private let logger: Logger
    private var captionFailureLog = RateLimitedReport()
    /// Ring of the newest windows' features, `historyCapacity × featureSize` (753 musicnn, 256 Harmonic CNN).
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
    public convenience init(model: Musicnn, captioner: ContextCaptioner?, settings: Settings,
                            wallClockOrigin: Int64 = CaptionEvent.wallClockNow(), logger: Logger = Logger(label: "muscaps.pipeline"),
                            sink: @escaping (CaptionEvent) -> Void) {
        self.init(extractor: .musicnn(model), captioner: captioner, settings: settings, wallClockOrigin: wallClockOrigin,
                  logger: logger, sink: sink)
    }

    public init(extractor: LiveExtractor, captioner: ContextCaptioner?, settings: Settings,
                wallClockOrigin: Int64 = CaptionEvent.wallClockNow(), logger: Logger = Logger(label: "muscaps.pipeline"),
                sink: @escaping (CaptionEvent) -> Void) {
        self.extractor = extractor
        // One window at a time, as soon as it is complete: latency, not throughput, so musicnn's convolutions
        // use a second core when there is one (a persistent helper thread, idle between windows).
        if case let .musicnn(model) = extractor, model.splitter == nil && ProcessInfo.processInfo.activeProcessorCount > 1 {
            model.splitter = HalfSplitter()
        }
        self.captioner = captioner
        self.settings = settings
        self.sink = sink
        self.logger = logger
        self.wallClockOrigin = wallClockOrigin
        windowing = Self.windowing(extractor, settings)
        modelIdentifier = Self.identifier(extractor: extractor, captioner: captioner)
        historyCapacity = Self.historyCapacity(settings, extractor: extractor)
        history = Self.allocateRows(historyCapacity, extractor.featureSize)
        contextRows = Self.allocateRows(historyCapacity, extractor.featureSize)
        latencies = [Double](repeating: 0, count: Self.latencyCapacity)
    }

    private static func windowing(_ extractor: LiveExtractor, _ settings: Settings) -> Windowing {
        switch extractor {
        case let .musicnn(model):
            return .mel(MelWindower(hopFrames: settings.hopFrames), MusicnnOutput(tagCount: model.tags.count))
        case let .harmonicCNN(model):
            return .samples(SampleWindower(windowSamples: HarmonicCNN.windowSamples, hopSamples: hopSamples(extractor, settings)),
                            HarmonicCNNOutput(tagCount: model.tags.count))
        }
    }

    private static func identifier(extractor: LiveExtractor, captioner: ContextCaptioner?) -> String {
        switch extractor {
        case let .musicnn(model): return captioner?.identifier ?? "musicnn-\(model.name.prefix(3).lowercased())"
        case .harmonicCNN: return captioner?.identifier ?? extractor.extractorId
        }
    }

    /// Samples between window starts: musicnn's whole 16 ms frames, the Harmonic CNN's samples.
    private static func hopSamples(_ extractor: LiveExtractor, _ settings: Settings) -> Int {
        switch extractor {
        case .musicnn: return settings.hopFrames * MelSpectrogram.hopLength
        case .harmonicCNN: return HarmonicCNNTagger.hopSamples(seconds: settings.hopSeconds)
        }
    }

    private var hopSamples: Int { Self.hopSamples(extractor, settings) }

    /// Seconds between window starts (musicnn's as whole frames × 16 ms).
    private var hopDuration: Double {
        switch extractor {
        case .musicnn: return Double(settings.hopFrames) * MelWindower.frameSeconds
        case .harmonicCNN: return Double(hopSamples) / Double(HarmonicCNN.sampleRate)
        }
    }

    /// Windows of features the context can need: `context` seconds of hops, plus the newest.
    private static func historyCapacity(_ settings: Settings, extractor: LiveExtractor) -> Int {
        let hops = settings.contextSeconds * Double(MusicnnTagger.sampleRate) / Double(hopSamples(extractor, settings))
        return max(1, Int(hops.rounded(.up)) + 1)
    }

    private static func allocateRows(_ count: Int, _ featureSize: Int) -> UnsafeMutableBufferPointer<Float> {
        let rows = UnsafeMutableBufferPointer<Float>.allocate(capacity: count * featureSize)
        rows.initialize(repeating: 0)
        return rows
    }

    /// Switches to another tagger, captioner and/or settings mid-stream (a daemon reload), keeping media
    /// time, caption ids and statistics. The open caption is finalised first (it was made by the old
    /// setup). Windows restart (the audio not yet analysed is dropped) only if the hop changed; the
    /// captioning context is cleared if its features can no longer be used (another tagger, hop or
    /// context length). Allocates the new buffers here, never per window.
    public func reconfigure(model: Musicnn, captioner: ContextCaptioner?, settings: Settings) {
        reconfigure(extractor: .musicnn(model), captioner: captioner, settings: settings)
    }

    /// As `reconfigure(model:…)`, for either network; switching between musicnn and the Harmonic CNN
    /// (or a hop that moves window starts) restarts the windows.
    public func reconfigure(extractor: LiveExtractor, captioner: ContextCaptioner?, settings: Settings) {
        merger.finish(emit: forward)
        let kindChanged = extractor.kind != self.extractor.kind
        let hopChanged = kindChanged || Self.hopSamples(extractor, settings) != hopSamples
        let contextChanged = settings.contextSeconds != self.settings.contextSeconds
        if hopChanged { restartWindows() }
        if hopChanged || contextChanged {
            history.deallocate()
            contextRows.deallocate()
            historyCapacity = Self.historyCapacity(settings, extractor: extractor)
            history = Self.allocateRows(historyCapacity, extractor.featureSize)
            contextRows = Self.allocateRows(historyCapacity, extractor.featureSize)
            historyCount = 0
            historyNewest = -1
        }
        if !extractor.isSame(as: self.extractor) {
            historyCount = 0
        }
        let oldTagCount = self.extractor.tags.count
        self.extractor = extractor
        self.captioner = captioner
        self.settings = settings
        if hopChanged {
            windowing = Self.windowing(extractor, settings)   // restartWindows above made its windower obsolete
        } else if extractor.tags.count != oldTagCount {
            switch (windowing, extractor) {
            case let (.mel(windower, _), .musicnn(model)): windowing = .mel(windower, MusicnnOutput(tagCount: model.tags.count))
            case let (.samples(windower, _), .harmonicCNN(model)): windowing = .samples(windower, HarmonicCNNOutput(tagCount: model.tags.count))
            default: windowing = Self.windowing(extractor, settings)
            }
        }
        modelIdentifier = Self.identifier(extractor: extractor, captioner: captioner)
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
        switch windowing {
        case let .mel(windower, _): windower.push(samples) { analyse($0, capturedAt: capturedAt) }
        case let .samples(windower, _): windower.push(samples) { analyse($0, capturedAt: capturedAt) }
        }
    }

    /// Ends the stream: analyses the last windows and finalises the open caption.
    public func finish() {
        switch windowing {
        case let .mel(windower, _): windower.finish { analyse($0, capturedAt: nil) }
        case let .samples(windower, _): windower.finish { analyse($0, capturedAt: nil) }
        }
        merger.finish(emit: forward)
    }

    private var streamLength: Int {
        switch windowing {
        case let .mel(windower, _): return windower.streamLength
        case let .samples(windower, _): return windower.streamLength
        }
    }

    /// Inference fell behind and the caller skipped `seconds` of the oldest pending audio: windows restart
    /// after the gap (none may join audio across it), the context is cleared, media time keeps counting
    /// the skipped audio, and the drop is counted in windows.
    /// (`countedAsDropped: false` for audio a client paused the daemon over.)
    public func skip(seconds: Double, countedAsDropped: Bool = true) {
        guard seconds > 0 else { return }
        if countedAsDropped {
            statistics.droppedWindows += max(1, Int((seconds / hopDuration).rounded()))
        }
        merger.finish(emit: forward)
        restartWindows()
        mediaOffset += seconds
    }

    /// New windows from the current media time on; the context is cleared.
    private func restartWindows() {
        mediaOffset += Double(streamLength) / Double(MusicnnTagger.sampleRate)
        switch windowing {
        case let .mel(_, output): windowing = .mel(MelWindower(hopFrames: settings.hopFrames), output)
        case let .samples(_, output):
            windowing = .samples(SampleWindower(windowSamples: HarmonicCNN.windowSamples, hopSamples: hopSamples), output)
        }
        historyCount = 0
        lastEnd = 0
    }

    /// Ends the open caption now (its final revision is emitted), e.g. when the daemon is paused.
    public func interrupt() {
        merger.finish(emit: forward)
    }

    /// A caption of the last `seconds` of analysed audio (at most the context kept, `contextSeconds`),
    /// made now from the features in memory; nil without a captioner or before the first analysed window.
    /// It is not sent to the outputs. Its span ends with the newest window and starts with the oldest
    /// window the caption read (at least one window). Throws what the captioner throws.
    public func captionNow(seconds: Double) throws -> CaptionEvent? {
        guard let captioner, historyCount > 0 else { return nil }
        let chunks = gatherContext(seconds: seconds)
        let window = extractor.windowSamples, hop = hopSamples, featureSize = extractor.featureSize
        let stride = max(1, Int((Double(window) / Double(hop)).rounded(.up)))
        let sampleRate: Double
        switch extractor {
        case .musicnn: sampleRate = Double(MusicnnTagger.sampleRate)
        case .harmonicCNN: sampleRate = Double(HarmonicCNN.sampleRate)
        }
        let end = lastEnd + mediaOffset
        let start = max(mediaOffset, end - Double((chunks - 1) * stride * hop + window) / sampleRate)
        let text = try captioner.caption(features: UnsafeBufferPointer(rebasing: contextRows[0..<(chunks * featureSize)]),
                                         chunks: chunks, dimension: featureSize)
        return CaptionEvent(kind: .caption, start: start, end: end, wallClockStart: wallClockOrigin + Int64(start * 1e9),
                            text: text, model: modelIdentifier)
    }

    /// Sends a status message (source lost, reconnected, windows dropped …) through to the outputs.
    public func status(_ message: String) {
        let now = mediaTime
        merger.add(CaptionEvent(kind: .status, start: now, end: now, wallClockStart: wallClockOrigin + Int64(now * 1e9),
                                text: message, model: modelIdentifier), emit: forward)
    }

    /// Media time of the end of the audio pushed so far, in seconds.
    public var mediaTime: Double { mediaOffset + Double(streamLength) / Double(MusicnnTagger.sampleRate) }

    private func analyse(_ window: MelWindow, capturedAt: UInt64?) {
        guard case let .mel(_, output) = windowing, case let .musicnn(model) = extractor else { return }
        analyse(index: window.index, start: window.start, end: window.end, levelDBFS: window.levelDBFS, capturedAt: capturedAt) {
            window.frames.withMemoryRebound(to: Float.self) { model.forward(window: $0.baseAddress!, into: output) }
            return output
        }
    }

    private func analyse(_ window: SampleWindow, capturedAt: UInt64?) {
        guard case let .samples(_, output) = windowing, case let .harmonicCNN(model) = extractor else { return }
        let rate = Double(HarmonicCNN.sampleRate)
        let start = Double(window.firstSample) / rate
        analyse(index: window.index, start: start, end: start + Double(window.samples.count) / rate,
                levelDBFS: window.levelDBFS, capturedAt: capturedAt) {
            model.forward(samples: window.samples.baseAddress!, into: output)
            return output
        }
    }

    private func analyse(index: Int, start windowStart: Double, end windowEnd: Double, levelDBFS: Double, capturedAt: UInt64?,
                         run: () -> any WindowOutput) {
        statistics.windows += 1
        let start = index == 0 ? windowStart : max(lastEnd, windowEnd - hopDuration)
        lastEnd = windowEnd
        var event = CaptionEvent(kind: .caption, start: start + mediaOffset, end: windowEnd + mediaOffset,
                                 wallClockStart: wallClockOrigin + Int64((start + mediaOffset) * 1e9), model: modelIdentifier)
        if levelDBFS < settings.silenceThreshold {
            statistics.silentWindows += 1
            event.kind = .silence
        } else {
            let output = run()
            remember(output.featureBuffer)
            event.tags = topTags(output.taggramBuffer, names: extractor.tags, count: settings.topTags).map { CaptionEvent.Tag($0.tag, $0.probability) }
            if let captioner {
                let chunks = gatherContext()
                let featureSize = extractor.featureSize
                do {
                    event.text = try captioner.caption(features: UnsafeBufferPointer(rebasing: contextRows[0..<(chunks * featureSize)]),
                                                       chunks: chunks, dimension: featureSize)
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
        _ = UnsafeMutableBufferPointer(rebasing: history[(historyNewest * extractor.featureSize)...]).update(fromContentsOf: features)
        historyCount = min(historyCount + 1, historyCapacity)
    }

    /// Copies the context's non-overlapping windows, oldest first, into `contextRows`; returns their count.
    /// `seconds`: a shorter context than the configured one (CaptionNow); never a longer one.
    private func gatherContext(seconds: Double? = nil) -> Int {
        // In samples; musicnn's context is counted in whole 16 ms frames, as it always was.
        let window = extractor.windowSamples, hop = hopSamples, featureSize = extractor.featureSize
        let stride = max(1, Int((Double(window) / Double(hop)).rounded(.up)))
        let contextSeconds = min(seconds ?? settings.contextSeconds, settings.contextSeconds)
        let span: Int
        switch extractor {
        case .musicnn: span = Int((contextSeconds / MelWindower.frameSeconds).rounded(.down)) * MelSpectrogram.hopLength
        case .harmonicCNN: span = Int((contextSeconds * Double(HarmonicCNN.sampleRate)).rounded(.down))
        }
        var chunks = 0
        var back = 0
        // Newest first: back = 0, stride, 2·stride … while the window still starts inside the context.
        while back < historyCount && (back * hop + window) <= max(span, window) {
            chunks += 1
            back += stride
        }
        for k in 0..<chunks {
            let age = (chunks - 1 - k) * stride
            let slot = (historyNewest - age + historyCapacity) % historyCapacity
            _ = UnsafeMutableBufferPointer(rebasing: contextRows[(k * featureSize)...])
                .update(fromContentsOf: UnsafeBufferPointer(rebasing: history[(slot * featureSize)..<((slot + 1) * featureSize)]))
        }
        return chunks
    }
}
