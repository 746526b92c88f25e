import Foundation
import XCTest

/// Signals and measurements shared by the AudioIO tests: sines in, frequency and amplitude out.
enum TestSignals {
    /// `frames` samples of `amplitude * sin(2π f t)` at `sampleRate`, computed in double.
    static func sine(frequency: Double, amplitude: Double, sampleRate: Int, frames: Int, phase: Double = 0) -> [Float] {
        (0..<frames).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate) + phase)) }
    }

    /// Interleaves equally long channels.
    static func interleave(_ channels: [[Float]]) -> [Float] {
        let frames = channels[0].count
        var result = [Float](repeating: 0, count: frames * channels.count)
        for (c, channel) in channels.enumerated() {
            precondition(channel.count == frames)
            for i in 0..<frames { result[i * channels.count + c] = channel[i] }
        }
        return result
    }

    /// Amplitude of the component at `frequency` (Goertzel over `samples`, Hann-free: use a whole
    /// number of periods or a long span so leakage stays small).
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

    /// Frequency from upward zero crossings, linearly interpolated between samples.
    static func zeroCrossingFrequency(_ samples: ArraySlice<Float>, sampleRate: Int) -> Double {
        var crossings: [Double] = []
        var previous = samples.first ?? 0
        for (offset, value) in samples.dropFirst().enumerated() {
            if previous < 0 && value >= 0 {
                let fraction = Double(-previous) / Double(value - previous)
                crossings.append(Double(offset) + fraction)
            }
            previous = value
        }
        guard crossings.count >= 2 else { return 0 }
        let periods = Double(crossings.count - 1)
        return periods * Double(sampleRate) / (crossings.last! - crossings.first!)
    }

    /// The middle part of a signal, away from codec and resampler edge effects.
    static func middle(_ samples: [Float], dropFraction: Double = 0.2) -> ArraySlice<Float> {
        let drop = Int(Double(samples.count) * dropFraction)
        return samples[drop..<(samples.count - drop)]
    }
}

/// A fresh temporary directory per test case, removed afterwards.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("audioio-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
