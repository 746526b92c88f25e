#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Raw PCM from a pipe as a capture source (`stdin:FORMAT:RATE:CHANNELS`): interleaved s16le or
/// f32le frames at any rate and channel count, read from standard input (or any descriptor given
/// to `init`). Ends cleanly at end of file; a trailing partial frame is discarded.
///
/// The reader thread waits in `poll` with a 100 ms timeout so `stop()` never hangs on a silent
/// pipe. Like the file source it applies back-pressure when the ring is full (the writer of the
/// pipe slows down) instead of dropping. NaN and ±infinity in f32le input become 0 (one bad value
/// would otherwise poison the resampler's filter state) and are counted in `invalidSamples`.
/// The descriptor is not closed.
public final class RawStreamCaptureSource: CaptureSource {
    public let sampleFormat: RawSampleFormat
    public let sampleRate: Int
    public let channels: Int
    public let fileDescriptor: Int32
    public let options: CaptureOptions
    private let core: SourceCore
    /// NaN/±infinity samples replaced so far.
    private let invalid = Mutex(0)

    public init(format: RawSampleFormat, sampleRate: Int, channels: Int, fileDescriptor: Int32 = STDIN_FILENO,
                options: CaptureOptions = CaptureOptions()) {
        precondition(channels > 0 && sampleRate > 0, "stdin source needs a positive rate and channel count")
        self.sampleFormat = format
        self.sampleRate = sampleRate
        self.channels = channels
        self.fileDescriptor = fileDescriptor
        self.options = options
        core = SourceCore(name: CaptureSpec.stdin(format: format, sampleRate: sampleRate, channels: channels).description,
                          handler: options.onStateChange)
    }

    public var name: String { core.name }
    public var format: CaptureFormat? { core.format }
    public var ring: SampleRing? { core.ring }
    public var state: CaptureState { core.state }
    public var statistics: CaptureStatistics { core.statistics() }
    /// NaN/±infinity samples replaced by 0 so far.
    public var invalidSamples: Int { invalid.withLock { $0 } }

    public func start() throws {
        try core.claimStart()
        guard StreamingResamplerRange.contains(sampleRate) else {
            let error = CaptureError.badSpec(spec: name, reason: "sample rate \(sampleRate) Hz is outside 1000...768000")
            core.setState(.failed(reason: "\(error)"))
            throw error
        }
        let format = CaptureFormat(sampleRate: sampleRate, channels: channels)
        let ring = try SampleRing(capacity: options.ringSizing.capacity(sampleRate: sampleRate, channels: channels),
                                  frameSamples: channels)
        core.publish(format: format, ring: ring)
        core.setState(.running)
        do {
            try core.spawn(name: "muscaps-stdin") { [self] in self.readLoop(ring: ring) }
        } catch {
            core.setState(.failed(reason: "\(error)"))
            ring.close()
            throw error
        }
    }

    public func stop() { core.finishStop() }

    private func readLoop(ring: SampleRing) {
        defer { ring.close() }
        let bytesPerFrame = channels * sampleFormat.bytesPerSample
        // About 64 KiB per read, whole frames of output.
        let framesPerRead = max(1, 65_536 / bytesPerFrame)
        let byteCapacity = framesPerRead * bytesPerFrame + bytesPerFrame
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: byteCapacity, alignment: 16)
        let samples = UnsafeMutablePointer<Float>.allocate(capacity: (framesPerRead + 1) * channels)
        defer {
            bytes.deallocate()
            samples.deallocate()
        }
        var pending = 0   // bytes of an incomplete frame kept from the last read
        while !core.isStopRequested {
            var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready < 0 {
                if errno == EINTR { continue }
                core.setState(.failed(reason: "\(CaptureError.readFailed(source: name, reason: String(cString: strerror(errno))))"))
                return
            }
            if ready == 0 { continue }
            let got = read(fileDescriptor, bytes + pending, byteCapacity - pending)
            if got < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                core.setState(.failed(reason: "\(CaptureError.readFailed(source: name, reason: String(cString: strerror(errno))))"))
                return
            }
            if got == 0 {
                // End of the stream; `pending` bytes of a partial frame are dropped.
                core.setState(.finished)
                return
            }
            let total = pending + got
            let frames = total / bytesPerFrame
            let count = frames * channels
            let replaced = Self.decode(sampleFormat, from: UnsafeRawPointer(bytes), count: count, into: samples)
            if replaced > 0 { invalid.withLock { $0 += replaced } }
            pending = total - frames * bytesPerFrame
            if pending > 0 { (bytes).copyMemory(from: bytes + frames * bytesPerFrame, byteCount: pending) }
            if !core.writeWaiting(UnsafeBufferPointer(start: samples, count: count), to: ring) { return }
        }
    }

    /// Decodes `count` little-endian samples; returns how many non-finite values became 0.
    static func decode(_ format: RawSampleFormat, from source: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) -> Int {
        switch format {
        case .s16le:
            for i in 0..<count {
                output[i] = Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: Int16.self))) / 32_768
            }
            return 0
        case .f32le:
            var replaced = 0
            for i in 0..<count {
                let value = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)))
                if value.isFinite {
                    output[i] = value
                } else {
                    output[i] = 0
                    replaced += 1
                }
            }
            return replaced
        }
    }
}

/// The sample rates `StreamingResampler` accepts, as integers.
let StreamingResamplerRange = 1_000...768_000
