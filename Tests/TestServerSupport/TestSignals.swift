import Foundation

/// Test signals and measurements shared by the audio test targets: sines in, amplitude out.
public enum TestSignals {
    /// `frames` samples of `amplitude * sin(2π f t)` at `sampleRate`, computed in double.
    public static func sine(frequency: Double, amplitude: Double, sampleRate: Int, frames: Int, phase: Double = 0) -> [Float] {
        (0..<frames).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(sampleRate) + phase)) }
    }

    /// Interleaves equally long channels.
    public static func interleave(_ channels: [[Float]]) -> [Float] {
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
    public static func amplitude(at frequency: Double, in samples: ArraySlice<Float>, sampleRate: Int) -> Double {
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
}
