import AudioIO
import CFFTW
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// musicnn's input representation, computed exactly as the reference does
/// (`musicnn.extractor.batch_data`, with librosa ≥ 0.10 and numpy 1.x):
///
/// ```python
/// audio_rep = librosa.feature.melspectrogram(y=audio, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
/// audio_rep = audio_rep.astype(np.float16)
/// audio_rep = np.log10(10000 * audio_rep + 1)
/// ```
///
/// Step by step, for a mono 16 kHz float signal of `n` samples:
/// 1. `center=True` with librosa ≥ 0.10's `pad_mode='constant'`: 256 zeros on both sides, so frame
///    `t` covers samples `[256t − 256, 256t + 256)` and there are `1 + n / 256` frames.
/// 2. Periodic Hann window (`scipy.signal.get_window('hann', 512, fftbins=True)`), a 512-point real
///    FFT (FFTW, double precision as librosa), power `|X|²` for the 257 bins.
/// 3. Slaney mel filterbank (`librosa.filters.mel(sr=16000, n_fft=512, n_mels=96, htk=False,
///    norm='slaney')`, see `Filterbank`), mel = weights · power.
/// 4. Each mel energy is rounded to float16 — values of 65520 and more become +infinity, exactly as
///    numpy's `astype(np.float16)` does — and then `log10(10000·x + 1)` is computed in float32. numpy
///    1.x evaluates `10000 * float16_array` in float32 (value-based casting promotes the int), so an
///    infinite float16 gives log-mel +infinity. That is the reference's behaviour and it is kept.
///    It needs mel power ≥ 65520, which samples within [−1, 1] cannot reach (by Parseval a band's
///    power stays below ~1600); only float input several times beyond full scale gets there.
///
/// librosa computes the FFT in float64 (a float64 window times float32 samples), rounds the spectrum
/// to complex64 and takes the power in float32 (`np.abs` is hypotf); the sum over the filterbank is a
/// float32 GEMM. The same steps are taken here, with FFTW in double precision. A float32 FFT was
/// tried first: its power differs by a few float32 ulps, and after the float16 cast 7–12 quiet bands
/// per 15 s clip landed on the neighbouring float16 (log-mel off by up to 4.1e-4, 2e-3 relative).
/// The double-precision FFT costs nothing measurable at 512 points. See MelSpectrogramTests.
///
/// The whole-signal path (`compute`) is the primary one: musicnn's 187-frame windows are cut from the
/// spectrogram of the whole file, and the live windower does the same on a stream through
/// `computeFrames(_:of:signalStart:into:)`, which yields frames bit-identical to the whole-signal ones
/// as long as the samples each frame covers are at hand. (Computing a 3 s chunk on its own, 48000
/// samples, would give 188 frames whose first and last differ from the whole-file ones because of the
/// zero padding; musicnn uses 187.)
///
/// An instance owns an FFTW plan and all its buffers; after `init` nothing allocates when writing into
/// caller-provided memory. It is not thread-safe (use one per thread); it is deliberately not `Sendable`.
public final class MelSpectrogram {
    public static let sampleRate = 16_000
    public static let fftSize = 512
    public static let hopLength = 256
    public static let melBands = 96
    /// Frequency bins of the real FFT: `fftSize / 2 + 1`.
    public static let binCount = fftSize / 2 + 1

    /// What each frame holds.
    public enum Scale: Sendable {
        /// `log10(10000 · float16(mel) + 1)`, musicnn's input.
        case logCompressed
        /// The mel power before the float16 rounding (the reference's `mel_linear` fixture).
        case power
    }

    /// FFTW's planner is not thread-safe — only `fftw_execute` is (FFTW manual, "Thread safety").
    /// Every `fftw_plan_*` and `fftw_destroy_plan` in the process must hold this lock; other FFTW
    /// users in the package should take it too.
    public static let fftwPlannerLock = Mutex(())

    /// The periodic Hann window, `scipy.signal.get_window('hann', 512, fftbins=True)`, kept in double
    /// precision as librosa keeps it.
    public static let window: [Double] = periodicHann(count: fftSize)

    /// librosa's Slaney filterbank for musicnn (96 bands, 0–8000 Hz, 512-point FFT at 16 kHz).
    public static let filterbank = Filterbank(sampleRate: sampleRate, fftSize: fftSize, melBands: melBands, fmin: 0, fmax: 8_000)

    /// Spectrogram frames for `sampleCount` samples with `center=True`: `1 + sampleCount / 256`.
    public static func frameCount(sampleCount: Int) -> Int { 1 + max(0, sampleCount) / hopLength }

    /// The samples frame `t` covers: `[256t − 256, 256t + 256)` (indices below 0 are the zero padding).
    public static func sampleRange(ofFrame frame: Int) -> Range<Int> {
        (frame * hopLength - fftSize / 2)..<(frame * hopLength + fftSize / 2)
    }

    /// `log10(10000 · x + 1)` of `power` rounded to float16, in float32, as musicnn computes it.
    @inlinable
    public static func compress(_ power: Float) -> Float {
        let rounded = Float(Float16(power))          // IEEE round-to-nearest-even; ≥ 65520 → +inf
        return log10f(10_000 * rounded + 1)
    }

    private let plan: OpaquePointer
    private let frameBuffer: UnsafeMutablePointer<Double>
    private let spectrum: UnsafeMutablePointer<fftw_complex>
    private let power: UnsafeMutablePointer<Float>
    private let windowBuffer: UnsafeMutablePointer<Double>
    /// The filterbank's nonzero weights, row after row, and where each row starts and ends.
    private let sparseWeights: UnsafeMutablePointer<Float>
    private let rowBins: [Range<Int>]
    private let rowOffsets: [Int]

    public init() {
        let n = Self.fftSize
        guard let frame = fftw_malloc(MemoryLayout<Double>.stride * n),
              let spectrumMemory = fftw_malloc(MemoryLayout<fftw_complex>.stride * Self.binCount) else {
            fatalError("fftw_malloc failed: out of memory")
        }
        let frameFloats = frame.bindMemory(to: Double.self, capacity: n)
        frameFloats.initialize(repeating: 0, count: n)
        let spectrumBins = spectrumMemory.bindMemory(to: fftw_complex.self, capacity: Self.binCount)
        spectrumBins.initialize(repeating: (0, 0), count: Self.binCount)
        frameBuffer = frameFloats
        spectrum = spectrumBins
        // FFTW_ESTIMATE: deterministic (MEASURE may pick a different algorithm run to run, changing the
        // last bits), instant to plan, and a 512-point transform costs ~1 µs either way.
        var created: OpaquePointer?  // set inside: Mutex returns only `sending` values, and a plan is not Sendable
        Self.fftwPlannerLock.withLock { _ in
            created = fftw_plan_dft_r2c_1d(Int32(n), frameFloats, spectrumBins, UInt32(FFTW_ESTIMATE))
        }
        guard let created else { fatalError("fftw_plan_dft_r2c_1d(\(n)) failed") }
        plan = created

        power = .allocate(capacity: Self.binCount)
        power.initialize(repeating: 0, count: Self.binCount)
        windowBuffer = .allocate(capacity: n)
        _ = UnsafeMutableBufferPointer(start: windowBuffer, count: n).initialize(from: Self.window)

        let bank = Self.filterbank
        var ranges: [Range<Int>] = []
        var offsets: [Int] = []
        var packed: [Float] = []
        for band in 0..<bank.melBands {
            let range = bank.nonzeroBins(band: band)
            ranges.append(range)
            offsets.append(packed.count)
            for bin in range { packed.append(bank.weight(band: band, bin: bin)) }
        }
        rowBins = ranges
        rowOffsets = offsets
        sparseWeights = .allocate(capacity: max(1, packed.count))
        _ = UnsafeMutableBufferPointer(start: sparseWeights, count: packed.count).initialize(from: packed)
    }

    deinit {
        Self.fftwPlannerLock.withLock { _ in fftw_destroy_plan(plan) }
        fftw_free(frameBuffer)
        fftw_free(spectrum)
        power.deallocate()
        windowBuffer.deallocate()
        sparseWeights.deallocate()
    }

    // MARK: Whole signal (the primary path)

    /// The log-mel spectrogram of a whole signal: `frameCount(sampleCount:) × 96` values, row-major
    /// (row `t` holds frame `t`'s 96 bands).
    public func compute(_ samples: [Float], scale: Scale = .logCompressed) -> [Float] {
        let frames = Self.frameCount(sampleCount: samples.count)
        return [Float](unsafeUninitializedCapacity: frames * Self.melBands) { output, initialized in
            samples.withUnsafeBufferPointer { signal in
                computeFrames(0..<frames, of: signal, signalStart: 0, scale: scale, into: output)
            }
            initialized = frames * Self.melBands
        }
    }

    /// Writes the whole signal's spectrogram into `output`, which must hold at least
    /// `frameCount(sampleCount: samples.count) × 96` floats. Allocates nothing.
    public func compute(_ samples: UnsafeBufferPointer<Float>, scale: Scale = .logCompressed, into output: UnsafeMutableBufferPointer<Float>) {
        computeFrames(0..<Self.frameCount(sampleCount: samples.count), of: samples, signalStart: 0, scale: scale, into: output)
    }

    // MARK: Frames of a longer signal (the live path)

    /// Writes frames `frames` of the spectrogram of a stream into `output` (`frames.count × 96` floats,
    /// row-major), given the stream's samples `[signalStart, signalStart + signal.count)` in `signal`.
    ///
    /// Samples before stream index 0 are zero (the `center=True` padding), and so are samples past
    /// the end of `signal` — which is right only at the end of the stream. So a live caller asks for
    /// frame `t` once it holds samples up to `256t + 255` (`sampleRange(ofFrame:)`), and the frames
    /// are then bit-identical to those of the whole-signal path. Allocates nothing.
    public func computeFrames(
        _ frames: Range<Int>, of signal: UnsafeBufferPointer<Float>, signalStart: Int = 0,
        scale: Scale = .logCompressed, into output: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(output.count >= frames.count * Self.melBands,
                     "output holds \(output.count) floats, \(frames.count) frames need \(frames.count * Self.melBands)")
        guard let outputBase = output.baseAddress else { return }
        // Plain integer loops: unoptimised builds allocate generic iterator storage for
        // `enumerated()`, which would break the no-allocation guarantee in debug.
        for row in 0..<frames.count {
            loadFrame(frames.lowerBound + row, of: signal, signalStart: signalStart)
            melFrame(scale: scale, into: outputBase + row * Self.melBands)
        }
    }

    /// Copies the windowed samples of frame `frame` into FFTW's input buffer, zero outside `signal`.
    private func loadFrame(_ frame: Int, of signal: UnsafeBufferPointer<Float>, signalStart: Int) {
        let n = Self.fftSize
        let first = frame * Self.hopLength - n / 2 - signalStart    // index into `signal` of the frame's first sample
        let lower = max(0, -first)                                   // frame positions before `signal`
        let upper = min(n, signal.count - first)                     // frame positions up to the end of `signal`
        guard lower < upper, let base = signal.baseAddress else {
            frameBuffer.update(repeating: 0, count: n)
            return
        }
        if lower > 0 { frameBuffer.update(repeating: 0, count: lower) }
        for i in lower..<upper { frameBuffer[i] = Double(base[first + i]) * windowBuffer[i] }
        if upper < n { (frameBuffer + upper).update(repeating: 0, count: n - upper) }
    }

    /// FFT of the loaded frame, power spectrum, filterbank, compression: 96 values at `destination`.
    private func melFrame(scale: Scale, into destination: UnsafeMutablePointer<Float>) {
        // librosa: float32 samples × float64 window → float64 rfft, stored as complex64; then
        // `np.abs(S)**2` in float32 (|z| by hypotf). Same steps here, so the power rounds the same way —
        // which matters because the float16 cast that follows turns last-bit differences into whole steps.
        fftw_execute(plan)
        for bin in 0..<Self.binCount {
            let (real, imaginary) = spectrum[bin]
            let magnitude = hypotf(Float(real), Float(imaginary))
            power[bin] = magnitude * magnitude
        }
        // The filterbank as a sparse loop: the Slaney triangles cover 5 bins each on average (502
        // nonzero weights of 24,672), so this does 2% of the multiply-adds of the dense product.
        // Measured in release builds on the 2-core dev machine for a 3 s window (188 frames × 257
        // bins → 96 bands): sparse loop 0.043 ms; OpenBLAS `cblas_sgemm` 0.082 ms on 1 thread,
        // 0.053 ms on 2 (and it would need a frames × 257 power matrix). The whole 3 s log-mel takes
        // 0.35 ms, of which 0.23 ms is the float16 rounding and log10f.
        for band in 0..<Self.melBands {
            let bins = rowBins[band]
            var sum: Float = 0
            var weight = sparseWeights + rowOffsets[band]
            for bin in bins {
                sum += weight.pointee * power[bin]
                weight += 1
            }
            switch scale {
            case .logCompressed: destination[band] = Self.compress(sum)
            case .power: destination[band] = sum
            }
        }
    }

    // MARK: Window and filterbank

    /// `scipy.signal.get_window('hann', count, fftbins=True)` in double: scipy evaluates
    /// `0.5 + 0.5·cos(x)` for `x = linspace(−π, π, count + 1)` and drops the last point.
    public static func periodicHann(count: Int) -> [Double] {
        let points = count + 1
        let step = (Double.pi - -Double.pi) / Double(points - 1)
        return (0..<count).map { index in
            let x = index == points - 1 ? Double.pi : Double(index) * step + -Double.pi
            return 0.5 + 0.5 * cos(x)
        }
    }

    /// librosa's mel filterbank (`librosa.filters.mel`, `htk=False`, `norm='slaney'`), reproduced
    /// operation for operation so the float32 weights are bit-identical to librosa's:
    /// the triangles are computed in float64 and stored into a float32 array, then multiplied in place
    /// by the float64 Slaney factor `2 / (f[m+2] − f[m])` and rounded to float32 again.
    public struct Filterbank: Sendable, Equatable {
        public let melBands: Int
        public let binCount: Int
        /// `melBands × binCount` weights, row-major (row `m` is band `m`'s triangle over the FFT bins).
        public let weights: [Float]
        /// The `melBands + 2` band edges in Hz (`librosa.mel_frequencies(n_mels + 2, fmin, fmax)`):
        /// band `m` rises from `edges[m]`, peaks at `edges[m+1]` and falls to zero at `edges[m+2]`.
        public let edges: [Double]
        /// The FFT bin frequencies in Hz (`np.fft.rfftfreq(n_fft, 1/sr)`).
        public let binFrequencies: [Double]

        public init(sampleRate: Int, fftSize: Int, melBands: Int, fmin: Double, fmax: Double) {
            self.melBands = melBands
            binCount = fftSize / 2 + 1
            // np.fft.rfftfreq(n, d): val = 1 / (n·d); bins · val.
            let spacing = 1.0 / (Double(fftSize) * (1.0 / Double(sampleRate)))
            binFrequencies = (0..<binCount).map { Double($0) * spacing }
            // mel_frequencies: linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2) mapped back to Hz.
            let low = Self.hzToMel(fmin), high = Self.hzToMel(fmax)
            let count = melBands + 2
            let step = (high - low) / Double(count - 1)
            edges = (0..<count).map { index in
                Self.melToHz(index == count - 1 ? high : Double(index) * step + low)
            }
            var weights = [Float](repeating: 0, count: melBands * binCount)
            for band in 0..<melBands {
                let rise = edges[band + 1] - edges[band], fall = edges[band + 2] - edges[band + 1]
                let slaney = 2.0 / (edges[band + 2] - edges[band])
                for bin in 0..<binCount {
                    let lower = -(edges[band] - binFrequencies[bin]) / rise
                    let upper = (edges[band + 2] - binFrequencies[bin]) / fall
                    let triangle = Float(max(0, min(lower, upper)))       // stored into librosa's float32 array
                    weights[band * binCount + bin] = Float(Double(triangle) * slaney)   // `weights *= enorm`
                }
            }
            self.weights = weights
        }

        public func weight(band: Int, bin: Int) -> Float { weights[band * binCount + bin] }

        /// The contiguous bins where band `band`'s weight is nonzero.
        public func nonzeroBins(band: Int) -> Range<Int> {
            let row = weights[(band * binCount)..<((band + 1) * binCount)]
            guard let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) else {
                return 0..<0
            }
            return (first - band * binCount)..<(last - band * binCount + 1)
        }

        /// Slaney's auditory-toolbox mel scale (`librosa.hz_to_mel`, `htk=False`): linear below 1 kHz
        /// (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4).
        public static func hzToMel(_ frequency: Double) -> Double {
            let linearStep = 200.0 / 3
            let minLogHz = 1_000.0
            let minLogMel = (minLogHz - 0.0) / linearStep
            let logStep = log(6.4) / 27.0
            if frequency >= minLogHz { return minLogMel + log(frequency / minLogHz) / logStep }
            return (frequency - 0.0) / linearStep
        }

        /// Inverse of `hzToMel` (`librosa.mel_to_hz`, `htk=False`).
        public static func melToHz(_ mel: Double) -> Double {
            let linearStep = 200.0 / 3
            let minLogHz = 1_000.0
            let minLogMel = (minLogHz - 0.0) / linearStep
            let logStep = log(6.4) / 27.0
            if mel >= minLogMel { return minLogHz * exp(logStep * (mel - minLogMel)) }
            return 0.0 + linearStep * mel
        }
    }
}

@available(*, unavailable, message: "MelSpectrogram owns an FFTW plan and scratch buffers; give each thread its own")
extension MelSpectrogram: Sendable {}
