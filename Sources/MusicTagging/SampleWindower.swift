#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One window of raw samples as `SampleWindower` hands it out.
public struct SampleWindow {
    /// 0, 1, 2 … in stream order.
    public let index: Int
    /// Stream index of the window's first sample.
    public let firstSample: Int
    /// The window's samples; valid only inside the callback that receives it.
    public let samples: UnsafeBufferPointer<Float>
    /// RMS level of the window's samples in dBFS (−∞ for digital silence).
    public let levelDBFS: Double
}

/// Cuts a stream of 16 kHz mono samples into windows of `windowSamples` that start every `hopSamples`
/// (0, hop, 2·hop …), for extractors that take raw audio (the Harmonic CNN's 5 s windows) — the rule
/// `MelWindower` applies to musicnn's frames: a window is handed out as soon as its last sample has
/// arrived, the trailing partial window is dropped, and a stream shorter than one window is padded with
/// silence to one window at `finish()`.
///
/// Memory is fixed at init (one window plus one slice of input); `push` allocates nothing.
public final class SampleWindower {
    /// Samples taken from one `push` call at a time, so the buffer can be fixed in size.
    static let sliceSamples = 16_384

    public let windowSamples: Int
    public let hopSamples: Int
    private let buffer: UnsafeMutableBufferPointer<Float>
    /// The buffer holds stream samples `[bufferStart, bufferStart + bufferCount)`.
    private var bufferStart = 0
    private var bufferCount = 0
    private var pushed = 0
    private var nextWindowStart = 0
    private var windowsEmitted = 0
    private var finished = false

    public init(windowSamples: Int, hopSamples: Int) {
        precondition(windowSamples > 0 && hopSamples > 0)
        self.windowSamples = windowSamples
        self.hopSamples = hopSamples
        buffer = .allocate(capacity: windowSamples + Self.sliceSamples)
        buffer.initialize(repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// Samples pushed so far.
    public var streamLength: Int { pushed }

    /// Adds samples and hands out every window they complete.
    public func push(_ input: UnsafeBufferPointer<Float>, _ body: (SampleWindow) throws -> Void) rethrows {
        precondition(!finished, "push after finish")
        guard let base = input.baseAddress else { return }
        var consumed = 0
        while consumed < input.count {
            var take = min(Self.sliceSamples, input.count - consumed)
            dropSamplesBeforeNextWindow()
            if bufferCount == 0 && pushed < nextWindowStart {
                // Between windows (hop > window): these samples are never read.
                let skip = min(take, nextWindowStart - pushed)
                pushed += skip
                consumed += skip
                take -= skip
                bufferStart = pushed
                if take == 0 { continue }
            }
            (buffer.baseAddress! + bufferCount).update(from: base + consumed, count: take)
            bufferCount += take
            pushed += take
            consumed += take
            while nextWindowStart + windowSamples <= pushed { try emit(body) }
        }
    }

    public func push(_ input: [Float], _ body: (SampleWindow) throws -> Void) rethrows {
        try input.withUnsafeBufferPointer { try push($0, body) }
    }

    /// Ends the stream; a stream too short for one window gives one window padded with silence.
    public func finish(_ body: (SampleWindow) throws -> Void) rethrows {
        guard !finished else { return }
        finished = true
        guard windowsEmitted == 0 else { return }
        dropSamplesBeforeNextWindow()
        let have = max(0, min(bufferCount, windowSamples))
        (buffer.baseAddress! + have).update(repeating: 0, count: windowSamples - have)
        bufferCount = windowSamples
        try emit(body)
    }

    private func emit(_ body: (SampleWindow) throws -> Void) rethrows {
        let offset = nextWindowStart - bufferStart
        let window = UnsafeBufferPointer(start: buffer.baseAddress! + offset, count: windowSamples)
        var energy = 0.0
        for i in 0..<windowSamples { energy += Double(window[i]) * Double(window[i]) }
        let event = SampleWindow(index: windowsEmitted, firstSample: nextWindowStart, samples: window,
                                 levelDBFS: 10 * log10(energy / Double(windowSamples)))
        windowsEmitted += 1
        nextWindowStart += hopSamples
        try body(event)
    }

    /// Keeps only samples a window not yet emitted can read: from `nextWindowStart` on.
    private func dropSamplesBeforeNextWindow() {
        let drop = min(max(0, nextWindowStart - bufferStart), bufferCount)
        guard drop > 0 else { return }
        let keep = bufferCount - drop
        buffer.baseAddress!.update(from: buffer.baseAddress! + drop, count: keep)
        bufferStart += drop
        bufferCount = keep
    }
}
