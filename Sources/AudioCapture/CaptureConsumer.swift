#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import AudioIO
import ThreadSupport

/// The reading side of capture: pulls interleaved frames from a started source's ring, resamples
/// them with `StreamingResampler` (channel average, then libsoxr HQ — the same path as
/// `AudioFileDecoder`, so live audio reaches the model as a decoded file would) and hands 16 kHz
/// mono chunks to a closure, e.g. `MelWindower.push`.
///
/// It runs on the thread that calls `pull` (the daemon's inference thread): no thread of its own,
/// so the windower and the model stay on one thread. That is also why the ring holds a window plus
/// a hop of audio (`RingSizing`): the source keeps writing while the caller is busy with a window.
///
/// Steady state allocates nothing: the read buffer and the resampler's buffers are allocated here
/// once. (libsoxr grows its own input FIFO with `realloc` until it has met its largest input, a
/// bounded warm-up in the first seconds; the first feed is a full read buffer to get most of that
/// over at once. `CaptureAllocationTests` checks the steady state with a malloc counter.)
/// When the source stops, finishes or fails, its ring is closed: `pull` drains it, flushes the
/// resampler's tail and returns `.ended`; `source.state` then says why.
/// Not thread-safe (one consumer per ring, as the ring requires); deliberately not `Sendable`.
public final class CaptureConsumer {
    public enum PullResult: Sendable, Equatable {
        /// This many output samples were handed to the closure (possibly 0 while the resampler fills).
        case samples(Int)
        /// Nothing arrived within the timeout (the source is silent, reconnecting, or paused).
        case timedOut
        /// The source stopped or its stream ended, the ring is drained and the resampler flushed;
        /// every later pull returns `.ended` at once.
        case ended
    }

    public let source: any CaptureSource
    public let inputFormat: CaptureFormat
    public let outputRate: Int
    /// How long `pull` sleeps between looks at an empty ring, in seconds.
    public let pollInterval: Double
    /// Output samples delivered so far.
    public private(set) var samplesDelivered = 0

    private let ring: SampleRing
    private let resampler: StreamingResampler
    private let buffer: UnsafeMutableBufferPointer<Float>
    private var ended = false
    private var primed = false
    /// The first feed's size: one full read buffer (or half the ring, if that is smaller).
    private let primeSamples: Int

    /// - Parameters:
    ///   - source: a started source (`format` and `ring` set).
    ///   - outputRate: the rate handed to `body`, 16 kHz for musicnn.
    ///   - readFrames: frames taken from the ring per resampler call (buffers are sized by it).
    ///   - pollInterval: sleep between checks of an empty ring; bounds the delay it adds.
    public init(source: any CaptureSource, outputRate: Int = 16_000, readFrames: Int = 4_096, pollInterval: Double = 0.005) throws {
        guard let format = source.format, let ring = source.ring else { throw CaptureError.notStarted(source: source.name) }
        self.source = source
        self.inputFormat = format
        self.outputRate = outputRate
        self.pollInterval = max(0.0005, pollInterval)
        self.ring = ring
        let frames = max(64, readFrames)
        resampler = try StreamingResampler(inputRate: Double(format.sampleRate), inputChannels: format.channels,
                                           outputRate: Double(outputRate), maximumChunkFrames: frames)
        buffer = .allocate(capacity: frames * format.channels)
        buffer.initialize(repeating: 0)
        primeSamples = min(buffer.count, ring.capacity / 2 / format.channels * format.channels)
    }

    deinit { buffer.deallocate() }

    /// Waits up to `timeout` seconds for audio, then resamples everything the ring holds and hands
    /// the output to `body` (zero or more calls; each buffer is valid only during its call).
    public func pull(timeout: Double, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> PullResult {
        if ended { return .ended }
        let deadline = Monotonic.deadline(after: timeout)
        while true {
            // Read `closed` before the data: if it was set before a read that finds nothing, every
            // sample written before `close` has been seen.
            let closed = ring.isClosed
            let available = ring.readable
            // The first feed is one full read buffer (unless the stream ends first): libsoxr grows
            // its internal FIFO to the largest input it has seen, so priming it with the largest
            // input there will be keeps every later call free of reallocation. Its output does
            // not depend on chunking, so this costs only `readFrames` of latency, once.
            if available > 0 && (primed || available >= primeSamples || closed) {
                primed = true
                return .samples(try drain(upTo: available, body))
            }
            if closed {
                ended = true
                var produced = 0
                try resampler.flush { chunk in
                    produced += chunk.count
                    try body(chunk)
                }
                samplesDelivered += produced
                return produced > 0 ? .samples(produced) : .ended
            }
            let remaining = Monotonic.secondsUntil(deadline)
            if remaining <= 0 { return .timedOut }
            Self.sleep(min(pollInterval, remaining))
        }
    }

    /// Pulls until the stream ends (the source finished, failed or was stopped).
    public func run(_ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        while try pull(timeout: 0.25, body) != .ended {}
    }

    /// Output samples the resampler still holds (its delay), which the end of the stream flushes.
    public var resamplerDelay: Double { resampler.delay }

    private func drain(upTo total: Int, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Int {
        var remaining = total
        var produced = 0
        while remaining > 0 {
            let got = ring.read(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<min(buffer.count, remaining)]))
            if got == 0 { break }
            remaining -= got
            try resampler.process(interleaved: UnsafeBufferPointer(rebasing: buffer[0..<got])) { chunk in
                produced += chunk.count
                try body(chunk)
            }
        }
        samplesDelivered += produced
        return produced
    }

    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
