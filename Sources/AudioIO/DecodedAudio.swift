/// A whole file decoded to mono float samples at `sampleRate`.
public struct DecodedAudio: Sendable, Equatable {
    /// Mono samples in [-1, 1] (for PCM sources), averaged over the file's channels and resampled.
    public var samples: [Float]
    /// Rate of `samples`, in Hz (the decoder's target rate).
    public var sampleRate: Int
    /// The file's own sample rate, in Hz.
    public var originalSampleRate: Int
    /// The file's channel count before the downmix.
    public var originalChannels: Int
    /// Frames decoded from the file, at `originalSampleRate`.
    public var originalFrameCount: Int

    /// Length of the file's audio in seconds (`originalFrameCount / originalSampleRate`).
    public var duration: Double { Double(originalFrameCount) / Double(originalSampleRate) }

    public init(samples: [Float], sampleRate: Int, originalSampleRate: Int, originalChannels: Int, originalFrameCount: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.originalSampleRate = originalSampleRate
        self.originalChannels = originalChannels
        self.originalFrameCount = originalFrameCount
    }
}

/// What `AudioFileDecoder.stream` learned about a file it decoded.
public struct DecodedAudioInfo: Sendable, Equatable {
    public var sampleRate: Int
    public var originalSampleRate: Int
    public var originalChannels: Int
    public var originalFrameCount: Int
    /// Samples delivered at `sampleRate`.
    public var sampleCount: Int
    /// Largest absolute sample value delivered (0 for digital silence).
    public var peak: Float
    public var duration: Double { Double(originalFrameCount) / Double(originalSampleRate) }
}
