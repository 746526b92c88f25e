#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CAudioCapture
import ThreadSupport

/// The lock-free single-producer/single-consumer ring between a capture source and its consumer:
/// a fixed power-of-two number of float samples, written and read in whole interleaved frames.
///
/// The ring itself is C (`CAudioCapture_ring`, C11 atomics): the JACK process callback and the
/// PulseAudio read callback write it from C without touching Swift, and Swift producers (file,
/// stdin) and the consumer call the same functions. The producer never blocks: a real-time writer
/// that finds the ring full drops the newest samples and the drop is counted (`droppedSamples`,
/// `overrunEvents`); writers that may wait (`write`) get a short count and retry.
///
/// Exactly one thread may write and one thread may read at a time; that contract is the caller's
/// (sources own the producer side, `CaptureConsumer` the consumer side).
public final class SampleRing: @unchecked Sendable {
    // @unchecked: the C ring synchronises its two sides with acquire/release atomics; the pointer
    // is immutable and freed only in deinit, when neither side can hold a reference.
    let pointer: OpaquePointer

    /// Capacity in samples (a power of two) and samples per frame (the channel count).
    public let capacity: Int
    public let frameSamples: Int

    public init(capacity: Int, frameSamples: Int) throws {
        precondition(frameSamples > 0, "frame size must be positive")
        precondition(capacity >= frameSamples && capacity & (capacity - 1) == 0,
                     "ring capacity \(capacity) must be a power of two of at least one frame")
        guard let ring = CAudioCapture_ring_create(capacity, UInt32(frameSamples)) else {
            throw CaptureError.system(what: "cannot allocate a \(capacity)-sample ring", code: ENOMEM)
        }
        pointer = ring
        self.capacity = capacity
        self.frameSamples = frameSamples
    }

    deinit { CAudioCapture_ring_destroy(pointer) }

    // MARK: Producer side

    /// Writes as many whole frames of `samples` as fit; returns the samples written (no drop counted).
    @discardableResult
    public func write(_ samples: UnsafeBufferPointer<Float>) -> Int {
        guard let base = samples.baseAddress else { return 0 }
        return CAudioCapture_ring_write(pointer, base, samples.count)
    }

    /// Writes what fits and drops (and counts) the rest — the real-time producers' write.
    @discardableResult
    public func writeOrDrop(_ samples: UnsafeBufferPointer<Float>) -> Int {
        guard let base = samples.baseAddress else { return 0 }
        return CAudioCapture_ring_write_or_drop(pointer, base, samples.count)
    }

    /// Free space for the producer, in samples (whole frames), always within 0...capacity; readable from
    /// any thread (the C side reads the two indices so a racing producer and consumer cannot push it out).
    public var writable: Int { CAudioCapture_ring_writable(pointer) }

    /// Ends the stream: the consumer drains what is left and then sees the ring closed.
    public func close() { CAudioCapture_ring_close(pointer) }

    // MARK: Consumer side

    /// Reads up to `buffer.count` samples (whole frames); returns the samples read.
    public func read(into buffer: UnsafeMutableBufferPointer<Float>) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        return CAudioCapture_ring_read(pointer, base, buffer.count)
    }

    /// Samples ready to read, within 0...capacity; readable from any thread (a backlog gauge for status reports).
    public var readable: Int { CAudioCapture_ring_readable(pointer) }

    /// `readable` and `writable` from one snapshot of the ring (they add up to the capacity, less a
    /// partial frame); any thread.
    public var occupancy: (readable: Int, writable: Int) {
        let readable = CAudioCapture_ring_readable(pointer)
        return (readable, (capacity - readable) - (capacity - readable) % frameSamples)
    }

    public var isClosed: Bool { CAudioCapture_ring_is_closed(pointer) != 0 }

    // MARK: Counters (any thread)

    public var writtenSamples: UInt64 { CAudioCapture_ring_written_samples(pointer) }
    public var readSamples: UInt64 { CAudioCapture_ring_read_samples(pointer) }
    /// Samples a real-time producer dropped because the ring was full.
    public var droppedSamples: UInt64 { CAudioCapture_ring_dropped_samples(pointer) }
    /// Short writes by a real-time producer (each drops at least one frame).
    public var overrunEvents: UInt64 { CAudioCapture_ring_overrun_events(pointer) }
    /// Seconds since the producer last wrote, on the monotonic clock (nil before the first write).
    public var secondsSinceLastWrite: Double? {
        let last = CAudioCapture_ring_last_write_ns(pointer)
        guard last > 0 else { return nil }
        return Double(Monotonic.now() &- last) / 1e9 // the C producer stamps with the same CLOCK_MONOTONIC
    }
}

/// How big a capture ring is: enough for one analysis window plus one hop plus slack, at the
/// source's native rate and channel count, rounded up to a power of two.
///
/// Why window + hop: the consumer runs on the inference thread, which pulls samples, feeds the
/// windower and then runs the model on each completed window before pulling again. While a window
/// is being analysed (at worst: the windower waiting for a whole window, then inference taking up
/// to one hop of wall time before the next pull) the source keeps writing, so the ring must hold
/// a window and a hop of audio without dropping. The slack covers scheduling hiccups on a loaded
/// machine. With musicnn's 2.99 s window and hop and 1 s of slack, 48 kHz stereo is
/// 6.98 s × 96 000 = 670 k samples, rounded up to 2^20 (4 MiB, 10.9 s).
public struct RingSizing: Sendable, Equatable {
    public var windowSeconds: Double
    public var hopSeconds: Double
    public var slackSeconds: Double

    /// musicnn: 187 frames × 256 samples at 16 kHz = 2.992 s, hop = one window.
    public init(windowSeconds: Double = 2.992, hopSeconds: Double = 2.992, slackSeconds: Double = 1) {
        self.windowSeconds = windowSeconds
        self.hopSeconds = hopSeconds
        self.slackSeconds = slackSeconds
    }

    /// Ring capacity in samples for `channels` interleaved channels at `sampleRate`.
    public func capacity(sampleRate: Int, channels: Int) -> Int {
        let seconds = max(0, windowSeconds) + max(0, hopSeconds) + max(0, slackSeconds)
        let samples = max(1, Int((seconds * Double(sampleRate)).rounded(.up))) * max(1, channels)
        var capacity = 1
        while capacity < samples { capacity <<= 1 }
        return max(capacity, 64)
    }
}
