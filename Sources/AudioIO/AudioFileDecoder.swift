/// Decodes a whole audio file to mono float samples at a target rate (16 kHz by default),
/// reproducing `librosa.load(path, sr=16000, mono=True)` (librosa ≥ 0.10, default `res_type='soxr_hq'`).
///
/// The steps and why each is done this way:
/// 1. libsndfile reads every frame as float (`sf_readf_float`, chunks of `readChunkFrames`) —
///    `soundfile.read(dtype='float32')`, which librosa uses, is the same call, so PCM is scaled by
///    1/32768 (16-bit) exactly as in librosa.
/// 2. Each chunk is checked for NaN/±infinity (float WAVs can store them) before anything mixes
///    them into neighbouring samples; the first one found is reported with its frame index.
/// 3. Channels are averaged in float32 (`librosa.to_mono`), then resampled with libsoxr at HQ by a
///    `StreamingResampler` — the same libsoxr configuration python-soxr creates for
///    `soxr.resample(y, orig_sr, target_sr, quality='HQ')`, fed chunk by chunk and flushed.
///    The streaming path was chosen over `soxr_oneshot` because it is the code the live daemon
///    runs (one resampler implementation to test), it never holds the undecoded file and the
///    resampled copy at once, and libsoxr's output does not depend on the chunking.
/// 4. The result is cut or zero-padded to `ceil(n * target / original)` samples, as librosa's
///    `resample(..., fix=True)` does. When the rates are equal nothing is resampled, as in librosa.
///
/// Against a librosa fixture the samples agree to within the last bits of float32 (the difference
/// comes from the libsoxr build: Debian's 0.1.3 versus the copy bundled in python-soxr).
public struct AudioFileDecoder: Sendable {
    public static let defaultSampleRate = 16_000

    /// Rate of the decoded samples, in Hz; must lie in `StreamingResampler.supportedRates`.
    public var targetSampleRate: Int
    /// Files longer than this many seconds are refused rather than filling memory.
    public var maximumDuration: Double
    /// Frames read from libsndfile per call.
    public var readChunkFrames: Int

    public init(targetSampleRate: Int = AudioFileDecoder.defaultSampleRate, maximumDuration: Double = 6 * 3600, readChunkFrames: Int = 16_384) {
        self.targetSampleRate = targetSampleRate
        self.maximumDuration = maximumDuration
        self.readChunkFrames = max(1, readChunkFrames)
    }

    /// One-shot convenience: `AudioFileDecoder(targetSampleRate:).decode(path)`.
    public static func decode(_ path: String, targetSampleRate: Int = AudioFileDecoder.defaultSampleRate) throws -> DecodedAudio {
        try AudioFileDecoder(targetSampleRate: targetSampleRate).decode(path)
    }

    /// Decodes the file at `path`. Every failure is an `AudioIOError` naming the file.
    public func decode(_ path: String) throws -> DecodedAudio {
        var samples: [Float] = []
        let info = try stream(path, reserve: { samples.reserveCapacity($0) }) { samples.append(contentsOf: $0) }
        return DecodedAudio(
            samples: samples, sampleRate: info.sampleRate, originalSampleRate: info.originalSampleRate,
            originalChannels: info.originalChannels, originalFrameCount: info.originalFrameCount)
    }

    /// Decodes the file at `path` chunk by chunk, handing each block of mono samples at the target rate
    /// to `body` as soon as it is resampled: memory stays bounded whatever the file's length, and the
    /// concatenated chunks equal `decode(path).samples` exactly. Every failure is an `AudioIOError`
    /// naming the file; errors thrown by `body` propagate unchanged.
    public func stream(_ path: String, reserve: (Int) -> Void = { _ in },
                       _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> DecodedAudioInfo {
        guard StreamingResampler.supportedRates.contains(Double(targetSampleRate)) else {
            throw AudioIOError.unsupportedSampleRate(
                path: path, rate: Double(targetSampleRate), reason: "target rate must be within 1000...768000 Hz")
        }
        let reader = try SoundFileReader(path: path)
        let channels = reader.channels
        let sourceRate = reader.sampleRate
        let ratio = Double(targetSampleRate) / Double(sourceRate)
        let limit = (maximumDuration * Double(sourceRate)).rounded(.down)
        let maximumFrames = limit.isNaN ? 0 : (limit >= 9.0e18 ? Int.max : max(0, Int(limit)))

        let resampler: StreamingResampler
        do {
            resampler = try StreamingResampler(
                inputRate: Double(sourceRate), inputChannels: channels, outputRate: Double(targetSampleRate),
                maximumChunkFrames: readChunkFrames)
        } catch let error as AudioIOError {
            throw Self.attach(path: path, to: error)
        }

        if reader.announcedFrames > 0, reader.announcedFrames <= maximumFrames {
            reserve(Int((Double(reader.announcedFrames) * ratio).rounded(.up)) + 1024)
        }
        let chunk = UnsafeMutablePointer<Float>.allocate(capacity: readChunkFrames * channels)
        defer { chunk.deallocate() }

        // librosa.resample(fix=True) keeps exactly ceil(n · ratio) samples. Only the flush can overshoot
        // (soxr's output lags its input), so output is capped there and zero-padded after it.
        var framesRead = 0
        var emitted = 0
        var peak: Float = 0
        let resampling = sourceRate != targetSampleRate
        func deliver(_ block: UnsafeBufferPointer<Float>, cap: Int) throws {
            let count = min(block.count, max(0, cap - emitted))
            guard count > 0 else { return }
            emitted += count
            let delivered = UnsafeBufferPointer(rebasing: block[0..<count])
            for value in delivered { peak = max(peak, abs(value)) }
            try body(delivered)
        }
        do {
            while true {
                let got = try reader.read(into: chunk, frames: readChunkFrames)
                if got == 0 { break }
                let buffer = UnsafeBufferPointer(start: chunk, count: got * channels)
                if let bad = Self.firstNonFinite(buffer) {
                    throw AudioIOError.nonFiniteSample(
                        path: path, frame: framesRead + bad / channels, channel: bad % channels, value: buffer[bad])
                }
                framesRead += got
                if framesRead > maximumFrames {
                    throw AudioIOError.unsupportedStream(
                        path: path, reason: "longer than the limit of \(maximumDuration) s")
                }
                try resampler.process(interleaved: buffer) { try deliver($0, cap: Int.max) }
            }
            guard framesRead > 0 else { throw AudioIOError.noFrames(path: path) }
            let expected = resampling ? Int((Double(framesRead) * ratio).rounded(.up)) : Int.max
            try resampler.flush { try deliver($0, cap: expected) }
            if resampling && emitted < expected {
                let zeros = [Float](repeating: 0, count: expected - emitted)
                try zeros.withUnsafeBufferPointer { try deliver($0, cap: expected) }
            }
        } catch let error as AudioIOError {
            throw Self.attach(path: path, to: error)
        }
        return DecodedAudioInfo(sampleRate: targetSampleRate, originalSampleRate: sourceRate,
                                originalChannels: channels, originalFrameCount: framesRead, sampleCount: emitted,
                                peak: peak)
    }

    /// The number of samples `decode` will produce, from the file's header (nil when the header does not
    /// say or the file cannot be opened) — for progress bars, before decoding.
    public func estimatedSampleCount(_ path: String) -> Int? {
        guard let reader = try? SoundFileReader(path: path), reader.announcedFrames > 0 else { return nil }
        return Int((Double(reader.announcedFrames) * Double(targetSampleRate) / Double(reader.sampleRate)).rounded(.up))
    }

    /// Index of the first NaN or infinite sample, if any.
    @inline(__always)
    static func firstNonFinite(_ buffer: UnsafeBufferPointer<Float>) -> Int? {
        // A branch-free scan first (an OR-reduction that vectorises): a float is NaN or infinite
        // exactly when its exponent bits are all ones, and adding one exponent step then carries
        // into the sign bit. The index is searched only when something is wrong.
        var carry: UInt32 = 0
        for value in buffer { carry |= ((value.bitPattern & 0x7F80_0000) &+ 0x0080_0000) & 0x8000_0000 }
        if carry == 0 { return nil }
        return buffer.firstIndex { !$0.isFinite }
    }

    /// The resampler does not know the file; put the path into its errors.
    static func attach(path: String, to error: AudioIOError) -> AudioIOError {
        switch error {
        case let .unsupportedSampleRate(nil, rate, reason): return .unsupportedSampleRate(path: path, rate: rate, reason: reason)
        case let .resamplerFailed(nil, reason): return .resamplerFailed(path: path, reason: reason)
        default: return error
        }
    }
}
