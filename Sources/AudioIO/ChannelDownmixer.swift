/// Averages interleaved channels into mono, the way `librosa.to_mono` does.
///
/// librosa computes `np.mean(y, axis=0)` on float32 data: channels are summed in order in float32
/// and the sum is divided by the channel count in float32. Doing the same operations in the same
/// order here makes the downmix bit-identical to librosa's, so any difference against a librosa
/// reference comes from the resampler alone.
public enum ChannelDownmixer {
    /// Writes `frames` mono samples into `output` from `frames * channels` interleaved samples in `input`.
    /// With one channel the samples are copied unchanged.
    @inlinable
    public static func downmix(
        interleaved input: UnsafePointer<Float>, channels: Int, frames: Int, into output: UnsafeMutablePointer<Float>
    ) {
        precondition(channels > 0, "channel count must be positive")
        switch channels {
        case 1:
            output.update(from: input, count: frames)
        case 2:
            for frame in 0..<frames {
                // (a + b) / 2: the float32 sum, then the float32 division numpy performs.
                output[frame] = (input[2 &* frame] + input[2 &* frame &+ 1]) / 2
            }
        default:
            let divisor = Float(channels)
            for frame in 0..<frames {
                let base = frame &* channels
                var sum = input[base]
                for channel in 1..<channels { sum += input[base &+ channel] }
                output[frame] = sum / divisor
            }
        }
    }

    /// Convenience over arrays: `input.count` must be a multiple of `channels`.
    public static func downmix(interleaved input: [Float], channels: Int) -> [Float] {
        precondition(channels > 0 && input.count % channels == 0, "input is not a whole number of frames")
        let frames = input.count / channels
        return [Float](unsafeUninitializedCapacity: frames) { buffer, count in
            input.withUnsafeBufferPointer { source in
                if frames > 0 {
                    downmix(interleaved: source.baseAddress!, channels: channels, frames: frames, into: buffer.baseAddress!)
                }
            }
            count = frames
        }
    }
}
