import AudioCapture
import Foundation
import XCTest

/// Signals in, measurements out, for the capture tests.
enum CaptureSignals {
    static func sine(frequency: Double, amplitude: Double, sampleRate: Int, frames: Int, phase: Double = 0) -> [Float] {
        (0..<frames).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate) + phase)) }
    }

    static func interleave(_ channels: [[Float]]) -> [Float] {
        let frames = channels[0].count
        var result = [Float](repeating: 0, count: frames * channels.count)
        for (c, channel) in channels.enumerated() {
            for i in 0..<frames { result[i * channels.count + c] = channel[i] }
        }
        return result
    }

    /// Amplitude of the component at `frequency` (Goertzel).
    static func amplitude(at frequency: Double, in samples: ArraySlice<Float>, sampleRate: Int) -> Double {
        let omega = 2 * Double.pi * frequency / Double(sampleRate)
        let coefficient = 2 * cos(omega)
        var s1 = 0.0, s2 = 0.0
        for x in samples {
            let s0 = Double(x) + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        let real = s1 - s2 * cos(omega)
        let imaginary = s2 * sin(omega)
        return 2 * (real * real + imaginary * imaginary).squareRoot() / Double(samples.count)
    }

    static func rms<C: Collection>(_ samples: C) -> Double where C.Element == Float {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }

    /// Where `reference` best lines up inside `signal` (the lag of `reference[0]` in `signal`),
    /// and the normalised correlation there. Coarse to fine so it stays fast in a debug build:
    /// both signals are averaged over blocks of 8 samples (a crude low-pass; music has plenty of
    /// energy below 1 kHz), every block lag is tried, then the full-rate lags around the best one.
    static func align(_ reference: [Float], in signal: [Float]) -> (lag: Int, correlation: Double) {
        let block = 8
        func decimate(_ x: [Float]) -> [Double] {
            stride(from: 0, to: x.count - block + 1, by: block).map { start in
                var sum = 0.0
                for i in start..<(start + block) { sum += Double(x[i]) }
                return sum / Double(block)
            }
        }
        let coarseReference = decimate(reference), coarseSignal = decimate(signal)
        var bestCoarse = 0, bestScore = -Double.infinity
        if coarseSignal.count >= coarseReference.count {
            for lag in 0...(coarseSignal.count - coarseReference.count) {
                var dot = 0.0, energy = 0.0
                for i in 0..<coarseReference.count {
                    let s = coarseSignal[lag + i]
                    dot += coarseReference[i] * s
                    energy += s * s
                }
                let score = energy > 0 ? dot / energy.squareRoot() : 0
                if score > bestScore {
                    bestScore = score
                    bestCoarse = lag
                }
            }
        }
        var best = (lag: 0, correlation: -1.0)
        let centre = bestCoarse * block
        for lag in max(0, centre - 2 * block)...max(0, min(signal.count - reference.count, centre + 2 * block)) {
            let c = correlation(reference, signal, lag: lag)
            if c > best.correlation { best = (lag, c) }
        }
        return best
    }

    /// Normalised correlation of `reference` with `signal[lag ..< lag + reference.count]`.
    static func correlation(_ reference: [Float], _ signal: [Float], lag: Int) -> Double {
        let count = min(reference.count, signal.count - lag)
        guard count > 0 else { return 0 }
        var dot = 0.0, a = 0.0, b = 0.0
        for i in 0..<count {
            let x = Double(reference[i]), y = Double(signal[lag + i])
            dot += x * y
            a += x * x
            b += y * y
        }
        return a > 0 && b > 0 ? dot / (a * b).squareRoot() : 0
    }

    /// Least-squares gain of `signal[lag...]` relative to `reference`.
    static func gain(_ reference: [Float], _ signal: [Float], lag: Int) -> Double {
        let count = min(reference.count, signal.count - lag)
        var dot = 0.0, a = 0.0
        for i in 0..<count {
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
        let deadline = Date().addingTimeInterval(seconds)
        var last = CaptureConsumer.PullResult.timedOut
        while Date() < deadline && !done() {
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
