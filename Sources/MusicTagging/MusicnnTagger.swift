import AudioIO
import Dispatch
import Foundation

/// One analysis window: where it lies in the audio and whether it is silent.
public struct AnalysisWindow: Sendable, Equatable {
    public let index: Int
    /// First spectrogram frame of the window.
    public let firstFrame: Int
    /// Media time in seconds: frame t is centred on sample t·256 (librosa's `center=True`).
    public let start: Double
    public let end: Double
    /// RMS level of the window's samples in dBFS (−∞ for digital silence).
    public let levelDBFS: Double
    public var isSilent: Bool { levelDBFS < MusicnnTagger.silenceThresholdDBFS }

    init(_ window: MelWindow) {
        index = window.index
        firstFrame = window.firstFrame
        start = window.start
        end = window.end
        levelDBFS = window.levelDBFS
    }

    /// A window of raw samples (the Harmonic CNN's); `firstFrame` counts 256-sample hops from the start.
    init(_ window: SampleWindow, sampleRate: Int) {
        index = window.index
        firstFrame = window.firstSample / MelSpectrogram.hopLength
        start = Double(window.firstSample) / Double(sampleRate)
        end = Double(window.firstSample + window.samples.count) / Double(sampleRate)
        levelDBFS = window.levelDBFS
    }
}

/// The tagging pipeline for a stream of audio: samples → `MelWindower` (log-mel, 187-frame windows) →
/// musicnn → the caller's handler, window by window in order.
///
/// Windows are cut as the reference cuts them from a whole file (`musicnn.extractor.batch_data`):
/// starts at 0, hop, 2·hop … while a whole window fits; the trailing partial window is dropped; a
/// signal shorter than one window is padded with silence to one window. Audio is streamed, so memory
/// does not grow with the file's length.
///
/// Windows are independent, so with `workers > 1` batches of windows run in parallel, one model replica
/// (shared weights, own scratch) per worker and single-threaded BLAS in each: on the 2-core machines we
/// measured this beats OpenBLAS's own threading, whose level-3 driver also mallocs per call.
public final class MusicnnTagger {
    /// Windows quieter than this are reported as silent (about the level of 16-bit dither).
    public static let silenceThresholdDBFS = -70.0
    public static let sampleRate = MelSpectrogram.sampleRate

    public let model: Musicnn
    public let hopFrames: Int
    private let replicas: [Musicnn]
    private let outputs: [MusicnnOutput]
    /// Each slot's copy of its pending window's log-mel frames and where that window lies.
    private let pendingFrames: [UnsafeMutableBufferPointer<Float>]
    private var pendingWindows: [AnalysisWindow] = []
    public var workers: Int { replicas.count }

    /// - Parameters:
    ///   - hopFrames: frames between window starts (187 = the reference's non-overlapping windows).
    ///   - workers: windows computed in parallel (callers should also set `BLAS.threadCount = 1`).
    public init(model: Musicnn, hopFrames: Int = Musicnn.windowFrames, workers: Int = 1) {
        precondition(hopFrames > 0 && workers > 0)
        self.model = model
        self.hopFrames = hopFrames
        replicas = [model] + (1..<max(workers, 1)).map { _ in model.replica() }
        outputs = replicas.map { MusicnnOutput(tagCount: $0.tags.count) }
        pendingFrames = replicas.map { _ in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: Musicnn.windowFrames * Musicnn.melBands)
            buffer.initialize(repeating: 0)
            return buffer
        }
        pendingWindows.reserveCapacity(workers)
    }

    deinit { pendingFrames.forEach { $0.deallocate() } }

    /// Frames for a hop given in seconds (rounded to whole 16 ms frames, at least one).
    public static func hopFrames(seconds: Double) -> Int {
        max(1, Int((seconds * Double(sampleRate) / Double(MelSpectrogram.hopLength)).rounded()))
    }

    /// The windows a signal of `sampleCount` samples gives.
    public func windowCount(sampleCount: Int) -> Int {
        let frames = MelSpectrogram.frameCount(sampleCount: sampleCount)
        return frames < Musicnn.windowFrames ? 1 : (frames - Musicnn.windowFrames) / hopFrames + 1
    }

    /// Runs musicnn on every window of 16 kHz mono `samples`; `body` sees each window, in order, and the
    /// model's outputs for it (valid until `body` returns).
    public func analyze(samples: [Float], body: (AnalysisWindow, MusicnnOutput) throws -> Void) rethrows {
        let windower = MelWindower(hopFrames: hopFrames)
        try windower.push(samples) { try enqueue($0, body) }
        try windower.finish { try enqueue($0, body) }
        try runPending(body)
    }

    /// Decodes, resamples and tags an audio file as a stream (bounded memory for any length).
    @discardableResult
    public func analyze(file path: String, decoder: AudioFileDecoder = AudioFileDecoder(),
                        body: (AnalysisWindow, MusicnnOutput) throws -> Void) throws -> DecodedAudioInfo {
        let windower = MelWindower(hopFrames: hopFrames)
        let info = try decoder.stream(path) { chunk in try windower.push(chunk) { try enqueue($0, body) } }
        try windower.finish { try enqueue($0, body) }
        try runPending(body)
        return info
    }

    private func enqueue(_ window: MelWindow, _ body: (AnalysisWindow, MusicnnOutput) throws -> Void) rethrows {
        let slot = pendingWindows.count
        _ = pendingFrames[slot].update(fromContentsOf: window.frames)
        pendingWindows.append(AnalysisWindow(window))
        if pendingWindows.count == workers { try runPending(body) }
    }

    /// Runs the pending windows side by side, then hands them out in order.
    private func runPending(_ body: (AnalysisWindow, MusicnnOutput) throws -> Void) rethrows {
        let batch = pendingWindows.count
        guard batch > 0 else { return }
        defer { pendingWindows.removeAll(keepingCapacity: true) }
        // Slot i touches only replica i, output i and frames i: the invariant the unchecked wrapper stands for.
        let shared = UncheckedSendable((replicas, outputs, pendingFrames))
        let run: @Sendable (Int) -> Void = { slot in
            let (replicas, outputs, frames) = shared.value
            replicas[slot].forward(window: frames[slot].baseAddress!, into: outputs[slot])
        }
        if batch == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: batch, execute: run) }
        for slot in 0..<batch { try body(pendingWindows[slot], outputs[slot]) }
    }
}

/// Tags ranked by probability.
public func topTags(_ taggram: UnsafeBufferPointer<Float>, names: [String], count: Int) -> [(tag: String, probability: Float)] {
    let ranked = taggram.indices.sorted { taggram[$0] > taggram[$1] || (taggram[$0] == taggram[$1] && $0 < $1) }
    return ranked.prefix(max(0, count)).map { (names[$0], taggram[$0]) }
}

/// Hands values to worker threads under an invariant the compiler cannot check (stated where it is used).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
