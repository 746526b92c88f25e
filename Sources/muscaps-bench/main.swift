import ArgumentParser
import AudioIO
import CAllocationCounter
import Foundation
import MusicTagging
import NeuralCore
import ThreadSupport

/// Measures the tagging pipeline the way `muscaps tag` runs it: real-time factor per stage, peak resident
/// memory, and heap allocations per window once warm (counted by interposing malloc).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muscaps-bench",
        abstract: "Benchmark musicnn tagging: speed, peak memory, steady-state allocations.",
        discussion: """
        Without --input, synthesises --minutes of deterministic test music (tones, chords and noise bursts). \
        Tools/bench/compare_with_tensorflow.sh runs this and the TensorFlow reference on the same audio \
        and writes the ratio table in docs/BENCHMARKS.md.
        """,
        version: MusCapsVersion.withBLASKernel)

    @Option(help: "Minutes of synthetic audio to tag (ignored with --input).")
    var minutes: Double = 2

    @Option(help: ArgumentHelp("Tag this audio file instead of synthetic audio.", valueName: "FILE"))
    var input: String?

    @Option(help: ArgumentHelp("Also write the synthetic audio here (16 kHz mono 16-bit WAV), for the reference run.", valueName: "FILE"))
    var writeAudio: String?

    @Option(help: "Tagging model: mtt, msd or a path.")
    var model: String = "mtt"

    @Option(help: ArgumentHelp("Network: musicnn (default) or hcnn (the Harmonic CNN, 5 s windows; needs --weights).", valueName: "musicnn|hcnn"))
    var extractor: String = "musicnn"

    @Option(help: ArgumentHelp("Converted Harmonic CNN weights (with --extractor hcnn).", valueName: "FILE"))
    var weights: String?

    @Option(help: "OpenBLAS threads per model (default 1, as muscaps runs it).")
    var threads: Int = 1

    @Option(help: "Windows computed in parallel for the throughput run (default: one per core, as muscaps tag).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        BLAS.threadCount = threads
        if extractor == "hcnn" { return try runHarmonicCNN() }
        guard extractor == "musicnn" else { throw ValidationError("--extractor must be musicnn or hcnn") }
        let loadStart = Monotonic.seconds()
        let tagger = MusicnnTagger(model: try Musicnn(contentsOf: try MusicnnModelName.resolve(model)), workers: jobs)
        let loadTime = Monotonic.seconds() - loadStart

        var decodeTime = 0.0
        let samples: [Float]
        if let input {
            let start = Monotonic.seconds()
            samples = try AudioFileDecoder.decode(input).samples
            decodeTime = Monotonic.seconds() - start
        } else {
            samples = Self.syntheticMusic(seconds: minutes * 60, sampleRate: MusicnnTagger.sampleRate)
            if let writeAudio {
                try AudioFileWriter.write(samples, channels: 1, sampleRate: MusicnnTagger.sampleRate, format: .wav16, to: writeAudio)
            }
        }
        let audioSeconds = Double(samples.count) / Double(MusicnnTagger.sampleRate)

        let melStart = Monotonic.seconds()
        let mel = MelSpectrogram().compute(samples)
        let melTime = Monotonic.seconds() - melStart
        let frames = mel.count / Musicnn.melBands
        let windows = tagger.windowCount(sampleCount: samples.count)
        guard frames >= Musicnn.windowFrames, windows >= 3 else {
            throw ValidationError("need at least three 3-second windows of audio; got \(String(format: "%.1f", audioSeconds)) s")
        }

        // Latency, one window at a time on one worker (the live path). The first window warms caches and
        // OpenBLAS's buffers; allocations are counted from the second.
        let output = MusicnnOutput(tagCount: tagger.model.tags.count)
        var perWindow: [Double] = []
        perWindow.reserveCapacity(windows)
        var steadyAllocations: UInt64 = 0
        mel.withUnsafeBufferPointer { buffer in
            for w in 0..<windows {
                let start = Monotonic.seconds()
                if w == 1 { CAllocationCounter_start() }
                tagger.model.forward(window: buffer.baseAddress! + w * Musicnn.windowFrames * Musicnn.melBands, into: output)
                perWindow.append(Monotonic.seconds() - start)
            }
            steadyAllocations = CAllocationCounter_stop()
        }
        // Latency with the window split over two cores, as muscapsd runs it (HalfSplitter), on up to 40 windows.
        var splitWindow: [Double] = []
        if ProcessInfo.processInfo.activeProcessorCount > 1 {
            let model = tagger.model.replica()
            model.splitter = HalfSplitter()
            mel.withUnsafeBufferPointer { buffer in
                for w in 0..<min(windows, 41) {
                    let start = Monotonic.seconds()
                    model.forward(window: buffer.baseAddress! + w * Musicnn.windowFrames * Musicnn.melBands, into: output)
                    if w > 0 { splitWindow.append(Monotonic.seconds() - start) }
                }
            }
            splitWindow.sort()
        }
        // Throughput, as `muscaps tag` runs a file: every window, `jobs` at a time.
        let networkStart = Monotonic.seconds()
        var tagged = 0
        tagger.analyze(samples: samples) { _, _ in tagged += 1 }
        let networkTime = Monotonic.seconds() - networkStart - melTime  // analyze recomputes the spectrogram
        precondition(tagged == windows)
        let total = decodeTime + melTime + networkTime
        let sorted = perWindow.dropFirst().sorted()
        let median = sorted[sorted.count / 2]
        let result: [(String, String)] = [
            ("audio_seconds", String(format: "%.2f", audioSeconds)),
            ("windows", "\(windows)"),
            ("blas_kernel", json ? "\"\(BLAS.kernelDescription)\"" : BLAS.kernelDescription),
            ("blas_threads", "\(BLAS.threadCount)"),
            ("jobs", "\(jobs)"),
            ("model_load_ms", String(format: "%.1f", loadTime * 1000)),
            ("decode_seconds", String(format: "%.3f", decodeTime)),
            ("mel_seconds", String(format: "%.3f", melTime)),
            ("network_seconds", String(format: "%.3f", networkTime)),
            ("total_seconds", String(format: "%.3f", total)),
            ("window_ms_median", String(format: "%.2f", median * 1000)),
            ("window_ms_p90", String(format: "%.2f", sorted[Int(Double(sorted.count - 1) * 0.9)] * 1000)),
            ("window_ms_median_2_cores", splitWindow.isEmpty ? "null" : String(format: "%.2f", splitWindow[splitWindow.count / 2] * 1000)),
            ("realtime_factor", String(format: "%.1f", audioSeconds / total)),
            ("peak_rss_mb", String(format: "%.1f", Double(Self.peakResidentBytes()) / 1_048_576)),
            ("steady_state_allocations", "\(steadyAllocations)"),
            ("steady_state_windows", "\(windows - 1)"),
        ]
        if json {
            print("{" + result.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            for (key, value) in result { print(key.padding(toLength: 26, withPad: " ", startingAt: 0) + value) }
        }
    }

    /// The Harmonic CNN: per-window latency on one worker (allocations counted from the second window),
    /// then throughput as `muscaps tag --extractor hcnn` runs a file.
    func runHarmonicCNN() throws {
        let loadStart = Monotonic.seconds()
        let tagger = HarmonicCNNTagger(model: try HarmonicCNN(contentsOf: try HarmonicCNNWeights.resolve(weights)), workers: jobs)
        let loadTime = Monotonic.seconds() - loadStart
        let samples: [Float]
        if let input { samples = try AudioFileDecoder.decode(input).samples } else {
            samples = Self.syntheticMusic(seconds: minutes * 60, sampleRate: HarmonicCNN.sampleRate)
            if let writeAudio { try AudioFileWriter.write(samples, channels: 1, sampleRate: HarmonicCNN.sampleRate, format: .wav16, to: writeAudio) }
        }
        let audioSeconds = Double(samples.count) / Double(HarmonicCNN.sampleRate)
        let windows = samples.count / HarmonicCNN.windowSamples
        guard windows >= 3 else { throw ValidationError("need at least three 5-second windows of audio; got \(String(format: "%.1f", audioSeconds)) s") }
        let output = HarmonicCNNOutput(tagCount: tagger.tags.count)
        var perWindow: [Double] = []
        perWindow.reserveCapacity(windows)
        var steadyAllocations: UInt64 = 0
        samples.withUnsafeBufferPointer { buffer in
            for w in 0..<windows {
                let start = Monotonic.seconds()
                if w == 1 { CAllocationCounter_start() }
                tagger.model.forward(samples: buffer.baseAddress! + w * HarmonicCNN.windowSamples, into: output)
                perWindow.append(Monotonic.seconds() - start)
            }
            steadyAllocations = CAllocationCounter_stop()
        }
        let throughputStart = Monotonic.seconds()
        var tagged = 0
        tagger.analyzeWindows(samples: samples) { _, _ in tagged += 1 }
        let throughput = Monotonic.seconds() - throughputStart
        precondition(tagged == windows)
        let sorted = perWindow.dropFirst().sorted()
        let result: [(String, String)] = [
            ("extractor", "\"hcnn\""),
            ("audio_seconds", String(format: "%.2f", audioSeconds)),
            ("windows", "\(windows)"),
            ("blas_threads", "\(BLAS.threadCount)"),
            ("jobs", "\(jobs)"),
            ("model_load_ms", String(format: "%.1f", loadTime * 1000)),
            ("window_ms_median", String(format: "%.2f", sorted[sorted.count / 2] * 1000)),
            ("window_ms_p90", String(format: "%.2f", sorted[Int(Double(sorted.count - 1) * 0.9)] * 1000)),
            ("throughput_seconds", String(format: "%.3f", throughput)),
            ("realtime_factor", String(format: "%.1f", audioSeconds / throughput)),
            ("peak_rss_mb", String(format: "%.1f", Double(Self.peakResidentBytes()) / 1_048_576)),
            ("steady_state_allocations", "\(steadyAllocations)"),
            ("steady_state_windows", "\(windows - 1)"),
        ]
        if json {
            print("{" + result.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            for (key, value) in result { print(key.padding(toLength: 26, withPad: " ", startingAt: 0) + value) }
        }
    }

    /// VmHWM: the process's peak resident set size.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    /// Deterministic "music": a chord progression of harmonic tones, a bass line and noise-burst drums.
    static func syntheticMusic(seconds: Double, sampleRate: Int) -> [Float] {
        let count = Int(seconds * Double(sampleRate))
        var samples = [Float](repeating: 0, count: count)
        let chords: [[Double]] = [[261.63, 329.63, 392.0], [220.0, 261.63, 329.63], [174.61, 220.0, 261.63], [196.0, 246.94, 293.66]]
        let beat = 0.5, rate = Double(sampleRate)
        var noise: UInt32 = 22_222
        for i in 0..<count {
            let t = Double(i) / rate
            let chord = chords[Int(t / 2) % chords.count]
            var value = 0.0
            for frequency in chord {
                for harmonic in 1...3 { value += 0.05 / Double(harmonic) * sin(2 * .pi * frequency * Double(harmonic) * t) }
            }
            value += 0.12 * sin(2 * .pi * chord[0] / 2 * t)
            let sinceBeat = t.truncatingRemainder(dividingBy: beat)
            noise = noise &* 1_664_525 &+ 1_013_904_223
            let white = Double(Int32(bitPattern: noise)) / Double(Int32.max)
            value += 0.25 * white * exp(-sinceBeat * 30) + 0.4 * sin(2 * .pi * 55 * t) * exp(-sinceBeat * 12)
            samples[i] = Float(value * 0.6)
        }
        return samples
    }
}

BLAS.prepare()  // choose OpenBLAS's kernels from the CPU's features before anything loads it
Bench.main()
