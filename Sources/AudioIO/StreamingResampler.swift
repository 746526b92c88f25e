import CSoxr

/// Interleaved float audio with any channel count and sample rate in, mono float audio at the
/// output rate (16 kHz by default) out, chunk by chunk — the live daemon's resampler and the
/// engine behind `AudioFileDecoder`.
///
/// Matching librosa: `librosa.load(path, sr=16000, mono=True)` first averages the channels in
/// float32 (`to_mono`) and then calls `soxr.resample(y, orig_sr, 16000, quality='HQ')`, which
/// creates a libsoxr stream with float32 interleaved I/O, `soxr_quality_spec(SOXR_HQ, 0)` and the
/// default runtime spec, feeds it the signal in chunks and flushes it. This type does exactly
/// that, in the same order. libsoxr's output does not depend on how the input is chunked (checked
/// against python-soxr: its streaming and one-shot outputs are bit-identical for random chunk
/// sizes), so feeding a live stream in capture-sized pieces gives the same samples as resampling
/// the whole file at once.
///
/// Steady state allocates nothing: the downmix and output buffers are allocated once in `init`,
/// inputs larger than `maximumChunkFrames` are processed in pieces, and output is handed to a
/// closure as a buffer view that is only valid during the call.
///
/// When input and output rates are equal, libsoxr is bypassed (as librosa skips resampling):
/// the downmixed samples are passed straight through.
///
/// Not thread-safe: one owner feeds it at a time (it is deliberately not `Sendable`; create it on
/// the thread or task that feeds it).
public final class StreamingResampler {
    /// Sample rates accepted on either side, in Hz.
    public static let supportedRates: ClosedRange<Double> = 1_000...768_000

    public let inputRate: Double
    public let outputRate: Double
    public let inputChannels: Int
    /// Largest number of input frames handed to libsoxr in one call; larger inputs are split.
    public let maximumChunkFrames: Int

    /// Total input frames consumed and mono output samples produced since creation or `reset()`.
    public private(set) var inputFramesConsumed = 0
    public private(set) var outputFramesProduced = 0
    /// True once `flush` has run; `process` then refuses input until `reset()`.
    public private(set) var isFlushed = false

    private let soxr: OpaquePointer?
    private let monoBuffer: UnsafeMutablePointer<Float>
    private let outputBuffer: UnsafeMutablePointer<Float>
    private let outputCapacity: Int

    /// - Parameters:
    ///   - inputRate: the source's sample rate in Hz.
    ///   - inputChannels: channels interleaved in the input (downmixed to mono by averaging).
    ///   - outputRate: the rate to produce, 16 kHz for musicnn.
    ///   - maximumChunkFrames: size of the preallocated buffers, in input frames per libsoxr call.
    public init(inputRate: Double, inputChannels: Int, outputRate: Double = 16_000, maximumChunkFrames: Int = 8_192) throws {
        guard Self.supportedRates.contains(inputRate) else {
            throw AudioIOError.unsupportedSampleRate(path: nil, rate: inputRate, reason: "input rate must be within 1000...768000 Hz")
        }
        guard Self.supportedRates.contains(outputRate) else {
            throw AudioIOError.unsupportedSampleRate(path: nil, rate: outputRate, reason: "output rate must be within 1000...768000 Hz")
        }
        guard inputChannels > 0 else {
            throw AudioIOError.resamplerFailed(path: nil, reason: "channel count \(inputChannels) must be positive")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.inputChannels = inputChannels
        self.maximumChunkFrames = max(1, maximumChunkFrames)

        if inputRate == outputRate {
            soxr = nil
        } else {
            var error: soxr_error_t? = nil
            var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
            // SOXR_HQ with no flags: the spec python-soxr builds for quality='HQ' (librosa's 'soxr_hq').
            var qualitySpec = soxr_quality_spec(UInt(SOXR_HQ), 0)
            // One channel: the downmix happens before resampling, as in librosa.
            let handle = soxr_create(inputRate, outputRate, 1, &error, &ioSpec, &qualitySpec, nil)
            if let error {
                if let handle { soxr_delete(handle) }
                throw AudioIOError.resamplerFailed(path: nil, reason: String(cString: error))
            }
            guard let handle else { throw AudioIOError.resamplerFailed(path: nil, reason: "soxr_create returned no resampler") }
            soxr = handle
        }
        // Output room for one full input chunk plus slack; any excess stays inside libsoxr and is
        // drained by the loop in `run`.
        outputCapacity = Int((Double(self.maximumChunkFrames) * outputRate / inputRate).rounded(.up)) + 256
        monoBuffer = .allocate(capacity: self.maximumChunkFrames)
        outputBuffer = .allocate(capacity: outputCapacity)
    }

    deinit {
        if let soxr { soxr_delete(soxr) }
        monoBuffer.deallocate()
        outputBuffer.deallocate()
    }

    /// The resampler's current delay in output samples (libsoxr's `soxr_delay`).
    public var delay: Double { soxr.map { soxr_delay($0) } ?? 0 }

    /// Feeds interleaved frames (`input.count` must be a multiple of `inputChannels`) and calls
    /// `body` zero or more times with the mono output produced. The buffer given to `body` is
    /// reused: copy out of it before returning.
    public func process(interleaved input: UnsafeBufferPointer<Float>, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        precondition(input.count % inputChannels == 0, "input holds \(input.count) samples, not a whole number of \(inputChannels)-channel frames")
        guard !isFlushed else {
            throw AudioIOError.resamplerFailed(path: nil, reason: "input after flush; call reset() to start a new stream")
        }
        guard let base = input.baseAddress else { return }
        let frames = input.count / inputChannels
        var start = 0
        while start < frames {
            let count = min(maximumChunkFrames, frames - start)
            ChannelDownmixer.downmix(interleaved: base + start * inputChannels, channels: inputChannels, frames: count, into: monoBuffer)
            try run(monoCount: count, body)
            start += count
        }
    }

    /// Array convenience for `process(interleaved:_:)`: returns the mono output produced (allocates).
    public func process(interleaved input: [Float]) throws -> [Float] {
        var output: [Float] = []
        output.reserveCapacity(Int(Double(input.count / inputChannels) * outputRate / inputRate) + 64)
        try input.withUnsafeBufferPointer { buffer in
            try process(interleaved: buffer) { output.append(contentsOf: $0) }
        }
        return output
    }

    /// Ends the stream: emits the samples libsoxr still holds (its filter tail). Call once at the end.
    public func flush(_ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard !isFlushed else { return }
        isFlushed = true
        guard let soxr else { return }
        // `in == NULL` signals end of input; repeat while the output buffer comes back full.
        for _ in 0..<1_000_000 {
            var produced = 0
            if let error = soxr_process(soxr, nil, 0, nil, outputBuffer, outputCapacity, &produced) {
                throw AudioIOError.resamplerFailed(path: nil, reason: String(cString: error))
            }
            if produced > 0 {
                outputFramesProduced += produced
                try body(UnsafeBufferPointer(start: outputBuffer, count: produced))
            }
            if produced < outputCapacity { return }
        }
    }

    /// Array convenience for `flush(_:)`.
    public func flush() throws -> [Float] {
        var output: [Float] = []
        try flush { output.append(contentsOf: $0) }
        return output
    }

    /// Forgets all state so a new, unrelated stream can be fed (same rates and channels).
    public func reset() throws {
        if let soxr, let error = soxr_clear(soxr) {
            throw AudioIOError.resamplerFailed(path: nil, reason: String(cString: error))
        }
        isFlushed = false
        inputFramesConsumed = 0
        outputFramesProduced = 0
    }

    /// Pushes `monoCount` samples from `monoBuffer` through libsoxr, handing every output block to `body`.
    private func run(monoCount: Int, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard let soxr else {
            inputFramesConsumed += monoCount
            outputFramesProduced += monoCount
            try body(UnsafeBufferPointer(start: monoBuffer, count: monoCount))
            return
        }
        var offset = 0
        var stalled = 0
        while true {
            var used = 0
            var produced = 0
            if let error = soxr_process(soxr, monoBuffer + offset, monoCount - offset, &used, outputBuffer, outputCapacity, &produced) {
                throw AudioIOError.resamplerFailed(path: nil, reason: String(cString: error))
            }
            offset += used
            inputFramesConsumed += used
            if produced > 0 {
                outputFramesProduced += produced
                try body(UnsafeBufferPointer(start: outputBuffer, count: produced))
            }
            // Done when all input is in and the output buffer was not filled (nothing left pending).
            if offset >= monoCount && produced < outputCapacity { return }
            if used == 0 && produced == 0 {
                // libsoxr accepted nothing and produced nothing: never spin forever.
                stalled += 1
                if stalled > 16 { throw AudioIOError.resamplerFailed(path: nil, reason: "libsoxr made no progress") }
            } else {
                stalled = 0
            }
        }
    }
}

@available(*, unavailable, message: "StreamingResampler holds mutable libsoxr state; give each thread its own")
extension StreamingResampler: Sendable {}
