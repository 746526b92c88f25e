import AudioIO
import Dispatch
import Foundation

/// One analysis window of a file: where it lies in the audio and whether it is silent.
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
}

/// The file path of the tagging pipeline: samples → log-mel → 187-frame windows → musicnn.
///
/// Windows are cut from the spectrogram of the whole signal, exactly as the reference does
/// (`musicnn.extractor.batch_data`): starts at 0, hop, 2·hop … while a whole window fits; the trailing
/// partial window is dropped. A signal shorter than one window is padded with silence to one window
/// (log-mel 0 is log10(1): no energy), so short clips still get tags.
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
    private let spectrogram = MelSpectrogram()
    private let replicas: [Musicnn]
    private let outputs: [MusicnnOutput]
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
    }

    /// Frames for a hop given in seconds (rounded to whole frames, at least one).
    public static func hopFrames(seconds: Double) -> Int {
        max(1, Int((seconds * Double(sampleRate) / Double(MelSpectrogram.hopLength)).rounded()))
    }

    /// The windows `analyze` will produce for `frameCount` spectrogram frames.
    public func windowCount(frameCount: Int) -> Int {
        frameCount < Musicnn.windowFrames ? 1 : (frameCount - Musicnn.windowFrames) / hopFrames + 1
    }

    /// Runs musicnn on every window of 16 kHz mono `samples`; `body` sees each window and the model's
    /// outputs for it (valid until the next call).
    public func analyze(samples: [Float], body: (AnalysisWindow, MusicnnOutput) throws -> Void) rethrows {
        var mel = spectrogram.compute(samples)
        var frameCount = mel.count / Musicnn.melBands
        if frameCount < Musicnn.windowFrames {
            mel.append(contentsOf: [Float](repeating: 0, count: (Musicnn.windowFrames - frameCount) * Musicnn.melBands))
            frameCount = Musicnn.windowFrames
        }
        let hopSeconds = Double(MelSpectrogram.hopLength) / Double(Self.sampleRate)
        let total = windowCount(frameCount: frameCount)
        var batchStart = 0
        while batchStart < total {
            let batch = min(workers, total - batchStart)
            mel.withUnsafeBufferPointer { buffer in
                // Slot i touches only replica i and output i, and the spectrogram is read-only while the
                // batch runs: that is the invariant the unchecked wrapper stands for.
                let shared = UncheckedSendable((buffer.baseAddress!, replicas, outputs, hopFrames, batchStart))
                let run: @Sendable (Int) -> Void = { slot in
                    let (mel, replicas, outputs, hop, first) = shared.value
                    replicas[slot].forward(window: mel + (first + slot) * hop * Musicnn.melBands, into: outputs[slot])
                }
                if batch == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: batch, execute: run) }
            }
            for slot in 0..<batch {
                let index = batchStart + slot, firstFrame = index * hopFrames
                let window = AnalysisWindow(
                    index: index, firstFrame: firstFrame,
                    start: Double(firstFrame) * hopSeconds,
                    end: Double(firstFrame + Musicnn.windowFrames) * hopSeconds,
                    levelDBFS: Self.levelDBFS(samples, from: firstFrame * MelSpectrogram.hopLength,
                                              count: Musicnn.windowFrames * MelSpectrogram.hopLength))
                try body(window, outputs[slot])
            }
            batchStart += batch
        }
    }

    static func levelDBFS(_ samples: [Float], from start: Int, count: Int) -> Double {
        let lower = min(max(start, 0), samples.count), upper = min(lower + count, samples.count)
        guard upper > lower else { return -.infinity }
        var sum = 0.0
        for i in lower..<upper { sum += Double(samples[i]) * Double(samples[i]) }
        return 10 * log10(sum / Double(upper - lower))
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
