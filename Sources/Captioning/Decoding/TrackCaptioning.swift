import AudioIO
import Foundation
import MusicTagging
import NeuralCore

/// The musicnn windows of a piece of audio with their features: what `muscaps caption` captions from.
/// Windows are cut exactly as for training (`TrackFeatureExtractor`, `muscaps prepare`) and as the live
/// daemon cuts them (`MusicnnTagger`/`MelWindower`, non-overlapping 2.992 s windows).
public struct WindowFeatures: Sendable {
    public var windows: [AnalysisWindow]
    /// `[windows, dimension]` row-major.
    public var values: [Float]
    public var dimension: Int
    /// Seconds of audio.
    public var duration: Double
    /// Largest absolute sample (0: digital silence).
    public var peak: Float
    /// The tagger's tag probabilities, `[windows, tags]` row-major (tags in `tagger.model.tags` order):
    /// the same forward pass gives them, so callers that want tags and captions run musicnn once.
    public var taggram: [Float] = []
    /// The tagger's tag names (tag-consistent decoding reads them with `taggram`).
    public var tags: [String] = []

    public var count: Int { windows.count }

    /// The features of windows `range` as a `[n, dimension]` tensor.
    public func features(_ range: Range<Int>) -> Tensor {
        Tensor(shape: [range.count, dimension], scalars: Array(values[(range.lowerBound * dimension)..<(range.upperBound * dimension)]))
    }

    /// All windows.
    public var all: Tensor { features(0..<count) }

    /// Mean tag probabilities over windows `range` (non-empty), aligned with `tags`.
    public func meanTags(_ range: Range<Int>) -> [Float] {
        precondition(!range.isEmpty && taggram.count == count * tags.count)
        return taggram.withUnsafeBufferPointer {
            TagConsistency.meanProbabilities(UnsafeBufferPointer(rebasing: $0[(range.lowerBound * tags.count)..<(range.upperBound * tags.count)]), windows: range.count)
        }
    }
}

extension TrackFeatureExtractor {
    /// Decodes `audioPath` (or reads a 16 kHz `.npy`) and returns every window with its features.
    public func extractWindows(audioPath: String) throws -> WindowFeatures {
        var windows: [AnalysisWindow] = [], values: [Float] = [], taggram: [Float] = []
        let (duration, peak) = try CaptioningAudio.analyze(audioPath, with: tagger) { window, output in
            windows.append(window)
            values.append(contentsOf: output.featureBuffer)
            taggram.append(contentsOf: output.taggramBuffer)
        }
        return WindowFeatures(windows: windows, values: values, dimension: dimension, duration: duration, peak: peak, taggram: taggram,
                              tags: tagger.tags)
    }
}

/// Rolling captions over time: at every `every` seconds (and at the end) a caption of the windows of the
/// last `context` seconds — what the live daemon emits as audio comes in.
public enum RollingCaptions {
    public struct Span: Sendable, Equatable {
        /// The time the caption is emitted at (seconds of audio heard).
        public var time: Double
        /// The windows it is made from.
        public var windows: Range<Int>
        public var start: Double
        public var end: Double
        /// All windows in the span are below the silence threshold (no caption should be shown).
        public var silent: Bool
    }

    /// Windows a context of `seconds` holds: ⌊seconds / window⌋, at least one (10 s → 3 musicnn windows
    /// of 2.992 s, 2 Harmonic CNN windows of 5 s).
    public static func windowCount(context seconds: Double, windowSeconds: Double = FeatureExtractorKind.musicnn.windowSeconds) -> Int {
        max(1, Int((seconds / windowSeconds + 1e-6).rounded(.down)))
    }

    /// The spans: at t = every, 2·every, … (and at the end of the audio if it is not on that grid), the
    /// last `windowCount(context:)` windows that have ended by t. Times before the first window ends give
    /// no span; a time that would repeat the previous span's windows is skipped.
    public static func spans(_ windows: [AnalysisWindow], duration: Double, every: Double, context: Double,
                             windowSeconds: Double = FeatureExtractorKind.musicnn.windowSeconds) -> [Span] {
        precondition(every > 0 && context > 0)
        let count = windowCount(context: context, windowSeconds: windowSeconds)
        var times: [Double] = []
        var t = every
        while t < duration - 1e-9 { times.append(t); t += every }
        times.append(max(duration, windows.last?.end ?? duration))
        var spans: [Span] = []
        for time in times {
            guard let last = windows.lastIndex(where: { $0.end <= time + 1e-6 }) else { continue }
            let range = max(0, last + 1 - count)..<(last + 1)
            if let previous = spans.last, previous.windows == range { continue }
            spans.append(Span(time: time, windows: range, start: windows[range.lowerBound].start, end: windows[last].end,
                              silent: windows[range].allSatisfy(\.isSilent)))
        }
        return spans
    }
}
