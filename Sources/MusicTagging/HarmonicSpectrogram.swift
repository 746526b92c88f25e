import CFFTW
import NeuralCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Harmonic CNN's front end (Won et al. 2020, `HarmonicSTFT` in the authors'
/// `sota-music-tagging-models/training/modules.py`), for one window of 16 kHz mono samples:
///
/// 1. STFT as torchaudio's `Spectrogram(n_fft=512)`: periodic Hann window of 512, hop 256, `center=True`
///    with **reflect** padding of the window itself (each 5 s window is transformed on its own, as the
///    reference transforms each input chunk), power |X|²: `1 + n / 256` frames × 257 bins.
/// 2. A harmonic filterbank: 128 centre frequencies f₀, MIDI 24 (C1) to 87.5 in half-semitone steps, and
///    their harmonics 2…6 (768 bands, harmonic-major); band b is a triangle over the FFT bin
///    frequencies `linspace(0, 8000, 257)` centred on f_b with bandwidth `(0.1079·f_b + 24.7) / Q`,
///    Q the learnt `hstft.bw_Q`. The weights are computed from Q at load time in the reference's float32
///    operation order.
/// 3. `AmplitudeToDB`: `10·log10(max(x, 1e-10))`.
///
/// Output layout: channels-last `[128 levels, frames, 6 harmonics]` (the reference's `[6, 128, T]`
/// transposed), which is what `ChannelsLastConv2D` reads.
///
/// The FFT runs in double precision with FFTW (torch runs it in float32; the difference is within float32
/// rounding of the power spectrum). An instance owns its FFTW plan and buffers: `compute` allocates
/// nothing. Not thread-safe; one per thread.
public final class HarmonicSpectrogram {
    public static let fftSize = 512
    public static let hopLength = 256
    public static let binCount = fftSize / 2 + 1
    public static let harmonics = 6
    public static let levels = 128
    public static let bands = harmonics * levels
    static let lowMIDI = 24.0
    static let highMIDI = 88.0
    static let bandwidthAlpha: Float = 0.1079
    static let bandwidthBeta: Float = 24.7

    /// Frames for a window of `sampleCount` samples: `1 + sampleCount / 256`.
    public static func frameCount(sampleCount: Int) -> Int { 1 + sampleCount / hopLength }

    /// The 768 band centres in Hz: f₀ for harmonic 1, then 2·f₀, … 6·f₀ (float64, rounded to float32
    /// as the reference stores them).
    public static let centreFrequencies: [Float] = {
        let steps = Int(highMIDI - lowMIDI) * 2
        let fundamentals = (0..<steps).map { index -> Double in
            // np.linspace(24, 88, 129)[index]: start + index·step with step = (88 − 24) / 128.
            let midi = lowMIDI + Double(index) * ((highMIDI - lowMIDI) / Double(steps))
            return 440.0 * pow(2.0, (midi - 69.0) / 12.0)
        }
        return (1...harmonics).flatMap { h in fundamentals.map { Float($0 * Double(h)) } }
    }()

    /// The triangular filters, `[257 bins, 768 bands]` row-major, for bandwidth factor `q`.
    public static func filterbank(q: Float) -> [Float] {
        var weights = [Float](repeating: 0, count: binCount * bands)
        let binStep = Float(8_000) / Float(binCount - 1)   // torch.linspace(0, 8000, 257): exact multiples of 31.25
        for band in 0..<bands {
            let f0 = centreFrequencies[band]
            let bandwidth = (bandwidthAlpha * f0 + bandwidthBeta) / q
            let riseSlope = 2 / bandwidth, fallSlope = -2 / bandwidth
            let offset = 2 * f0 / bandwidth
            for bin in 0..<binCount {
                let frequency = Float(bin) * binStep
                let rising = frequency * riseSlope + 1 - offset
                let falling = frequency * fallSlope + 1 + offset
                weights[bin * bands + band] = max(0, min(falling, rising))
            }
        }
        return weights
    }

    public let sampleCount: Int
    public let frameCount: Int
    public let filterbank: [Float]

    private let plan: OpaquePointer
    private let frameBuffer: UnsafeMutablePointer<Double>
    private let spectrum: UnsafeMutablePointer<fftw_complex>
    private let window: [Double]
    /// `[frames, 257]` power, then `[frames, 768]` band energies.
    private let power: UnsafeMutablePointer<Float>
    private let bandEnergy: UnsafeMutablePointer<Float>

    public init(sampleCount: Int, q: Float) {
        precondition(sampleCount > Self.fftSize / 2, "reflect padding needs more than 256 samples")
        self.sampleCount = sampleCount
        frameCount = Self.frameCount(sampleCount: sampleCount)
        filterbank = Self.filterbank(q: q)
        // torch.hann_window(512) (periodic), in float32 as torch stores it.
        window = (0..<Self.fftSize).map { Double(Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(Self.fftSize)))) }
        guard let frame = fftw_malloc(MemoryLayout<Double>.stride * Self.fftSize),
              let spectrumMemory = fftw_malloc(MemoryLayout<fftw_complex>.stride * Self.binCount) else {
            fatalError("fftw_malloc failed: out of memory")
        }
        let frameDoubles = frame.bindMemory(to: Double.self, capacity: Self.fftSize)
        frameDoubles.initialize(repeating: 0, count: Self.fftSize)
        let spectrumBins = spectrumMemory.bindMemory(to: fftw_complex.self, capacity: Self.binCount)
        spectrumBins.initialize(repeating: (0, 0), count: Self.binCount)
        frameBuffer = frameDoubles
        spectrum = spectrumBins
        var created: OpaquePointer?  // set inside: Mutex returns only `sending` values, and a plan is not Sendable
        MelSpectrogram.fftwPlannerLock.withLock { _ in
            created = fftw_plan_dft_r2c_1d(Int32(Self.fftSize), frameDoubles, spectrumBins, UInt32(FFTW_ESTIMATE))
        }
        guard let created else { fatalError("fftw_plan_dft_r2c_1d(\(Self.fftSize)) failed") }
        plan = created
        power = .allocate(capacity: frameCount * Self.binCount)
        power.initialize(repeating: 0, count: frameCount * Self.binCount)
        bandEnergy = .allocate(capacity: frameCount * Self.bands)
        bandEnergy.initialize(repeating: 0, count: frameCount * Self.bands)
    }

    deinit {
        MelSpectrogram.fftwPlannerLock.withLock { _ in fftw_destroy_plan(plan) }
        fftw_free(frameBuffer)
        fftw_free(spectrum)
        power.deallocate()
        bandEnergy.deallocate()
    }

    /// The decibel spectrogram of `samples` (`sampleCount` of them) into `output`
    /// (`[128, frameCount, 6]`). Allocates nothing.
    public func compute(_ samples: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let n = sampleCount, half = Self.fftSize / 2
        for t in 0..<frameCount {
            let start = t * Self.hopLength - half
            window.withUnsafeBufferPointer { w in
                for i in 0..<Self.fftSize {
                    var j = start + i
                    // torch.stft's reflect padding (numpy 'reflect': the edge sample is not repeated).
                    if j < 0 { j = -j } else if j >= n { j = 2 * (n - 1) - j }
                    frameBuffer[i] = Double(samples[j]) * w[i]
                }
            }
            fftw_execute(plan)
            let row = power + t * Self.binCount
            for bin in 0..<Self.binCount {
                let (re, im) = spectrum[bin]
                row[bin] = Float(re * re + im * im)
            }
        }
        filterbank.withUnsafeBufferPointer { fb in
            BLAS.gemm(m: frameCount, n: Self.bands, k: Self.binCount, a: power, lda: Self.binCount,
                      b: fb.baseAddress!, ldb: Self.bands, c: bandEnergy, ldc: Self.bands)
        }
        // [T, harmonic, level] → [level, T, harmonic], in decibels.
        let frames = frameCount
        for t in 0..<frames {
            let source = bandEnergy + t * Self.bands
            for h in 0..<Self.harmonics {
                for level in 0..<Self.levels {
                    let energy = max(source[h * Self.levels + level], 1e-10)
                    output[(level * frames + t) * Self.harmonics + h] = 10 * log10f(energy)
                }
            }
        }
    }
}

@available(*, unavailable, message: "HarmonicSpectrogram owns an FFTW plan and scratch buffers; give each thread its own")
extension HarmonicSpectrogram: Sendable {}
