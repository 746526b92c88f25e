import Foundation
import TestServerSupport
import XCTest

/// Measurements only the AudioIO tests use (the shared sines and Goertzel are in TestServerSupport).
extension TestSignals {
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
