/// One musicnn window as the windower hands it out.
public struct MelWindow {
    /// 0, 1, 2 … in stream order.
    public let index: Int
    /// First spectrogram frame of the window (frame t is centred on sample 256·t).
    public let firstFrame: Int
    /// `187 × 96` log-mel values, row-major; valid only inside the callback that receives it.
    public let frames: UnsafeBufferPointer<Float>
    /// RMS level of the samples under the window's frames, in dBFS (−∞ for digital silence).
    public let levelDBFS: Double

    /// Media time in seconds from the start of the stream.
    public var start: Double { Double(firstFrame) * MelWindower.frameSeconds }
    public var end: Double { Double(firstFrame + MelWindower.windowFrames) * MelWindower.frameSeconds }
}

/// Turns a stream of 16 kHz mono samples into musicnn windows, for files and live audio alike.
///
/// Log-mel frames are computed as soon as the samples they cover have arrived, and they are
/// bit-identical to the whole-signal spectrogram (`MelSpectrogram.computeFrames`); windows of 187
/// frames start every `hopFrames` frames (0, hop, 2·hop …), exactly as the reference cuts them from a
/// whole file. `finish()` ends the stream: the last frames see the zero padding of `center=True`, and a
/// stream too short for one window is padded with silent frames (log-mel 0) to one window.
///
/// Memory is fixed at init (about 2 windows of frames and 20k samples), whatever the stream's length,
/// and `push` allocates nothing.
public final class MelWindower {
    public static let windowFrames = 187
    public static let frameSeconds = Double(MelSpectrogram.hopLength) / Double(MelSpectrogram.sampleRate)
    static let bands = MelSpectrogram.melBands
    static let hop = MelSpectrogram.hopLength
    /// Samples taken from one `push` call at a time, so the sample buffer can be fixed in size.
    static let sliceSamples = 16_384

    public let hopFrames: Int
    private let spectrogram = MelSpectrogram()

    /// Samples of the stream from index `sampleOffset` on.
    private let samples: UnsafeMutableBufferPointer<Float>
    private var sampleOffset = 0
    private var sampleCount = 0
    /// Frames from `frameOffset` on, with the sum of squares of each frame's own 256 samples.
    private let frameCapacity: Int
    private let frames: UnsafeMutableBufferPointer<Float>
    private let frameEnergy: UnsafeMutableBufferPointer<Double>
    private var frameOffset = 0
    private var frameCount = 0
    /// The next frame to compute, and the first frame of the next window.
    private var nextFrame = 0
    private var nextWindowStart = 0
    private var windowsEmitted = 0
    private var finished = false

    public init(hopFrames: Int = MelWindower.windowFrames) {
        precondition(hopFrames > 0)
        self.hopFrames = hopFrames
        samples = .allocate(capacity: Self.sliceSamples + 2 * MelSpectrogram.fftSize)
        samples.initialize(repeating: 0)
        frameCapacity = 2 * Self.windowFrames
        frames = .allocate(capacity: frameCapacity * Self.bands)
        frames.initialize(repeating: 0)
        frameEnergy = .allocate(capacity: frameCapacity)
        frameEnergy.initialize(repeating: 0)
    }

    deinit {
        samples.deallocate()
        frames.deallocate()
        frameEnergy.deallocate()
    }

    /// Samples pushed so far.
    public var streamLength: Int { sampleOffset + sampleCount }

    /// Adds samples and hands out every window they complete.
    public func push(_ input: UnsafeBufferPointer<Float>, _ body: (MelWindow) throws -> Void) rethrows {
        precondition(!finished, "push after finish")
        var consumed = 0
        while consumed < input.count {
            let take = min(Self.sliceSamples, input.count - consumed)
            dropSamplesNoLongerNeeded()
            (samples.baseAddress! + sampleCount).update(from: input.baseAddress! + consumed, count: take)
            sampleCount += take
            consumed += take
            // Frame t is complete once samples up to 256·t + 255 have arrived.
            while nextFrame * Self.hop + Self.hop <= streamLength {
                try computeFrame(body)
            }
        }
    }

    public func push(_ input: [Float], _ body: (MelWindow) throws -> Void) rethrows {
        try input.withUnsafeBufferPointer { try push($0, body) }
    }

    /// Ends the stream: computes the frames that overlap its end and hands out the remaining windows.
    public func finish(_ body: (MelWindow) throws -> Void) rethrows {
        guard !finished else { return }
        finished = true
        let total = MelSpectrogram.frameCount(sampleCount: streamLength)
        while nextFrame < total { try computeFrame(body) }
        if windowsEmitted == 0 {
            // Too short for one window: pad with silent frames (log10(1) = 0) and emit one.
            while nextFrame < Self.windowFrames {
                storeFrame { row in row.update(repeating: 0, count: Self.bands) }
                frameEnergy[frameCount - 1] = 0
            }
            try emitReadyWindows(body)
        }
    }

    // MARK: Internals

    private func computeFrame(_ body: (MelWindow) throws -> Void) rethrows {
        let frame = nextFrame
        if frame < nextWindowStart {
            // Between windows (hop > window): nothing will read this frame.
            nextFrame += 1
            return
        }
        let signal = UnsafeBufferPointer(start: samples.baseAddress, count: sampleCount)
        storeFrame { row in
            spectrogram.computeFrames(frame..<(frame + 1), of: signal, signalStart: sampleOffset,
                                      into: UnsafeMutableBufferPointer(start: row, count: Self.bands))
        }
        // Energy of the frame's own hop of samples [256t, 256t + 256), for the window level.
        var energy = 0.0
        let lower = frame * Self.hop - sampleOffset, upper = min(lower + Self.hop, sampleCount)
        if lower >= 0 && lower < upper { for i in lower..<upper { energy += Double(samples[i]) * Double(samples[i]) } }
        frameEnergy[frameCount - 1] = energy
        try emitReadyWindows(body)
    }

    /// Appends frame `nextFrame`, making room first by dropping frames before the next window.
    private func storeFrame(_ fill: (UnsafeMutablePointer<Float>) -> Void) {
        if frameCount == frameCapacity {
            let drop = min(nextWindowStart - frameOffset, frameCount)
            precondition(drop > 0, "frame buffer full with no frame to drop")
            let keep = frameCount - drop
            frames.baseAddress!.update(from: frames.baseAddress! + drop * Self.bands, count: keep * Self.bands)
            frameEnergy.baseAddress!.update(from: frameEnergy.baseAddress! + drop, count: keep)
            frameOffset += drop
            frameCount = keep
        }
        // Frames skipped between windows (hop > window) leave a gap: what is stored lies before the next
        // window, so start afresh at this frame.
        if frameCount == 0 || frameOffset + frameCount != nextFrame {
            frameOffset = nextFrame
            frameCount = 0
        }
        fill(frames.baseAddress! + frameCount * Self.bands)
        frameCount += 1
        nextFrame += 1
    }

    private func emitReadyWindows(_ body: (MelWindow) throws -> Void) rethrows {
        while nextWindowStart + Self.windowFrames <= nextFrame {
            let first = nextWindowStart - frameOffset
            var energy = 0.0
            for f in first..<(first + Self.windowFrames) { energy += frameEnergy[f] }
            let sampleTotal = Double(Self.windowFrames * Self.hop)
            let window = MelWindow(
                index: windowsEmitted, firstFrame: nextWindowStart,
                frames: UnsafeBufferPointer(start: frames.baseAddress! + first * Self.bands, count: Self.windowFrames * Self.bands),
                levelDBFS: 10 * log10(energy / sampleTotal))
            windowsEmitted += 1
            nextWindowStart += hopFrames
            try body(window)
        }
    }

    /// Keeps only samples that a frame not yet computed can still read: from 256·nextFrame − 256 on.
    private func dropSamplesNoLongerNeeded() {
        let keepFrom = max(0, nextFrame * Self.hop - MelSpectrogram.fftSize / 2)
        let drop = min(max(0, keepFrom - sampleOffset), sampleCount)
        guard drop > 0 else { return }
        let keep = sampleCount - drop
        samples.baseAddress!.update(from: samples.baseAddress! + drop, count: keep)
        sampleOffset += drop
        sampleCount = keep
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
