import AudioCapture
import Foundation
import TestServerSupport
import XCTest
import ThreadSupport

/// Measurements for the capture tests (sines, interleaving and Goertzel come from `TestSignals`).
typealias CaptureSignals = TestSignals

extension TestSignals {
    static func rms<C: Collection>(_ samples: C) -> Double where C.Element == Float {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }

    /// Where `reference` best lines up with `signal`: `lag` is the index in `signal` of
    /// `reference[0]` (negative when the capture began after the reference did), `overlap` the
    /// samples they share there, `correlation` the normalised correlation over that overlap.
    /// Lags that leave less than `minimumOverlap` of the reference overlapping are not considered.
    /// Coarse to fine so it stays fast in a debug build: both signals are averaged over blocks of
    /// 8 samples (a crude low-pass; music has plenty of energy below 1 kHz), every block lag is
    /// tried, then the full-rate lags around the best one.
    static func align(_ reference: [Float], in signal: [Float], minimumOverlap: Double = 0.5) -> (lag: Int, correlation: Double, overlap: Int) {
        let block = 8
        func decimate(_ x: [Float]) -> [Float] {
            stride(from: 0, to: x.count - block + 1, by: block).map { start in
                var sum: Float = 0
                for i in start..<(start + block) { sum += x[i] }
                return sum / Float(block)
            }
        }
        let coarseReference = decimate(reference), coarseSignal = decimate(signal)
        let needed = Int(Double(coarseReference.count) * minimumOverlap)
        var bestCoarse = 0, bestScore = -Double.infinity
        let lowest = -(coarseReference.count - needed), highest = coarseSignal.count - needed
        if lowest <= highest {
            for lag in lowest...highest {
                let score = correlation(coarseReference, coarseSignal, lag: lag).correlation
                if score > bestScore {
                    bestScore = score
                    bestCoarse = lag
                }
            }
        }
        var best = (lag: 0, correlation: -1.0, overlap: 0)
        let centre = bestCoarse * block
        for lag in (centre - 2 * block)...(centre + 2 * block) {
            let (c, overlap) = correlation(reference, signal, lag: lag)
            if overlap >= Int(Double(reference.count) * minimumOverlap) && c > best.correlation { best = (lag, c, overlap) }
        }
        return best
    }

    /// Normalised correlation of `reference` with `signal` shifted by `lag`, over their overlap.
    static func correlation(_ reference: [Float], _ signal: [Float], lag: Int) -> (correlation: Double, overlap: Int) {
        let first = max(0, -lag), last = min(reference.count, signal.count - lag)
        guard last > first else { return (0, 0) }
        var dot = 0.0, a = 0.0, b = 0.0
        for i in first..<last {
            let x = Double(reference[i]), y = Double(signal[lag + i])
            dot += x * y
            a += x * x
            b += y * y
        }
        return (a > 0 && b > 0 ? dot / (a * b).squareRoot() : 0, last - first)
    }

    /// Least-squares gain of the shifted `signal` relative to `reference`, over their overlap.
    static func gain(_ reference: [Float], _ signal: [Float], lag: Int) -> Double {
        let first = max(0, -lag), last = min(reference.count, signal.count - lag)
        guard last > first else { return 0 }
        var dot = 0.0, a = 0.0
        for i in first..<last {
            dot += Double(reference[i]) * Double(signal[lag + i])
            a += Double(reference[i]) * Double(reference[i])
        }
        return a > 0 ? dot / a : 0
    }
}

/// Collects a consumer's output on the test thread.
final class CapturedAudio {
    var samples: [Float] = []
    /// Monotonic seconds at which each pull delivered, and how many samples had arrived by then.
    var arrivals: [(time: Double, total: Int)] = []

    /// Pulls until `done()` or the deadline; returns how the last pull ended.
    @discardableResult
    func pull(from consumer: CaptureConsumer, for seconds: Double, until done: () -> Bool = { false }) throws -> CaptureConsumer.PullResult {
        let deadline = Monotonic.deadline(after: seconds)
        var last = CaptureConsumer.PullResult.timedOut
        while Monotonic.now() < deadline && !done() {
            last = try consumer.pull(timeout: 0.05) { samples.append(contentsOf: $0) }
            if case .samples = last { arrivals.append((ProcessInfo.processInfo.systemUptime, samples.count)) }
            if last == .ended { break }
        }
        return last
    }

    /// Pulls until the stream ends (bounded by `limit` seconds).
    func drain(_ consumer: CaptureConsumer, limit: Double = 20) throws {
        let result = try pull(from: consumer, for: limit)
        XCTAssertEqual(result, .ended, "stream did not end within \(limit) s")
    }
}
