import AudioIO
import Dispatch
import Foundation

/// The feature extractors MusCaps can caption from (the paper's two): musicnn on 3 s windows of log-mel
/// frames, the Harmonic CNN on 5 s windows of raw samples.
public enum FeatureExtractorKind: String, CaseIterable, Sendable {
    case musicnn, hcnn

    /// Window length in seconds: musicnn's 187 frames of 16 ms (2.992 s), the Harmonic CNN's 5 s.
    public var windowSeconds: Double {
        switch self {
        case .musicnn: return Double(MelWindower.windowFrames) * MelWindower.frameSeconds
        case .hcnn: return Double(HarmonicCNN.windowSamples) / Double(HarmonicCNN.sampleRate)
        }
    }

    /// The extractor an id such as `musicnn-mtt` or `hcnn-mtt` names.
    public init?(extractorId: String) {
        guard let kind = Self.allCases.first(where: { extractorId == $0.rawValue || extractorId.hasPrefix($0.rawValue + "-") }) else { return nil }
        self = kind
    }
}

/// What one analysed window gives, for either extractor.
public protocol WindowOutput: AnyObject {
    /// Tag probabilities, in the model's tag order.
    var taggramBuffer: UnsafeBufferPointer<Float> { get }
    /// The per-window feature MusCaps captions from: musicnn's `max_pool` (753), the Harmonic CNN's
    /// embedding (256).
    var featureBuffer: UnsafeBufferPointer<Float> { get }
}

extension MusicnnOutput: WindowOutput {
    public var featureBuffer: UnsafeBufferPointer<Float> { maxPoolBuffer }
}

extension HarmonicCNNOutput: WindowOutput {
    public var taggramBuffer: UnsafeBufferPointer<Float> { buffer(.taggram) }
    public var featureBuffer: UnsafeBufferPointer<Float> { buffer(.embedding) }
}

/// A tagger over a stream of 16 kHz mono audio, whichever network runs it: the CLI, the feature cache
/// and the daemon work through this.
public protocol WindowTagger: AnyObject {
    var kind: FeatureExtractorKind { get }
    /// The network's name (weights metadata), e.g. "MTT_musicnn", "HCNN_MTT".
    var modelName: String { get }
    var tags: [String] { get }
    var featureSize: Int { get }
    var windowSeconds: Double { get }
    var hopSeconds: Double { get }
    /// The windows a signal of `sampleCount` samples gives.
    func windowCount(sampleCount: Int) -> Int
    /// Runs every window of `samples`; `body` sees each window in order (outputs valid until it returns).
    func analyzeWindows(samples: [Float], body: (AnalysisWindow, any WindowOutput) throws -> Void) rethrows
    /// Decodes, resamples and analyses a file as a stream.
    @discardableResult
    func analyzeWindows(file path: String, decoder: AudioFileDecoder, body: (AnalysisWindow, any WindowOutput) throws -> Void) throws -> DecodedAudioInfo
}

extension WindowTagger {
    /// The extractor id of features it computes, as captioning models and feature caches record it:
    /// `musicnn-mtt`, `musicnn-msd`, `hcnn-mtt` (from the weights' model name).
    public var extractorId: String {
        switch kind {
        case .musicnn:
            if modelName == "MTT_musicnn" { return "musicnn-mtt" }
            if modelName == "MSD_musicnn" { return "musicnn-msd" }
            return "musicnn-" + modelName.lowercased()
        case .hcnn:
            let short = modelName.hasPrefix("HCNN_") ? String(modelName.dropFirst(5)) : modelName
            return "hcnn-" + short.lowercased()
        }
    }

    @discardableResult
    public func analyzeWindows(file path: String, body: (AnalysisWindow, any WindowOutput) throws -> Void) throws -> DecodedAudioInfo {
        try analyzeWindows(file: path, decoder: AudioFileDecoder(), body: body)
    }
}

extension MusicnnTagger: WindowTagger {
    public var kind: FeatureExtractorKind { .musicnn }
    public var modelName: String { model.name }
    public var tags: [String] { model.tags }
    public var featureSize: Int { Musicnn.featureChannels }
    public var windowSeconds: Double { FeatureExtractorKind.musicnn.windowSeconds }
    public var hopSeconds: Double { Double(hopFrames) * MelWindower.frameSeconds }

    public func analyzeWindows(samples: [Float], body: (AnalysisWindow, any WindowOutput) throws -> Void) rethrows {
        try analyze(samples: samples) { try body($0, $1) }
    }

    @discardableResult
    public func analyzeWindows(file path: String, decoder: AudioFileDecoder, body: (AnalysisWindow, any WindowOutput) throws -> Void) throws -> DecodedAudioInfo {
        try analyze(file: path, decoder: decoder) { try body($0, $1) }
    }
}

/// The tagging pipeline of the Harmonic CNN: samples → `SampleWindower` (5 s windows every hop) →
/// `HarmonicCNN` → the caller's handler, in order; the counterpart of `MusicnnTagger`, with the same
/// window rule (starts at 0, hop, 2·hop … while a whole window fits; a signal shorter than one window
/// is padded with silence to one window), streamed in bounded memory, `workers` windows side by side.
public final class HarmonicCNNTagger: WindowTagger {
    public static let sampleRate = HarmonicCNN.sampleRate

    public let model: HarmonicCNN
    public let hopSamples: Int
    private let replicas: [HarmonicCNN]
    private let outputs: [HarmonicCNNOutput]
    private let pendingSamples: [UnsafeMutableBufferPointer<Float>]
    private var pendingWindows: [AnalysisWindow] = []
    public var workers: Int { replicas.count }

    /// - Parameters:
    ///   - hopSamples: samples between window starts (default: 80,000, non-overlapping 5 s windows).
    ///   - workers: windows computed in parallel (callers should also set `BLAS.threadCount = 1`).
    public init(model: HarmonicCNN, hopSamples: Int = HarmonicCNN.windowSamples, workers: Int = 1) {
        precondition(hopSamples > 0 && workers > 0)
        self.model = model
        self.hopSamples = hopSamples
        replicas = [model] + (1..<max(workers, 1)).map { _ in model.replica() }
        outputs = replicas.map { HarmonicCNNOutput(tagCount: $0.tags.count) }
        pendingSamples = replicas.map { _ in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: HarmonicCNN.windowSamples)
            buffer.initialize(repeating: 0)
            return buffer
        }
        pendingWindows.reserveCapacity(workers)
    }

    deinit { pendingSamples.forEach { $0.deallocate() } }

    /// Samples for a hop given in seconds (at least one).
    public static func hopSamples(seconds: Double) -> Int { max(1, Int((seconds * Double(sampleRate)).rounded())) }

    public var kind: FeatureExtractorKind { .hcnn }
    public var modelName: String { model.name }
    public var tags: [String] { model.tags }
    public var featureSize: Int { HarmonicCNN.featureSize }
    public var windowSeconds: Double { FeatureExtractorKind.hcnn.windowSeconds }
    public var hopSeconds: Double { Double(hopSamples) / Double(Self.sampleRate) }

    public func windowCount(sampleCount: Int) -> Int {
        sampleCount < HarmonicCNN.windowSamples ? 1 : (sampleCount - HarmonicCNN.windowSamples) / hopSamples + 1
    }

    public func analyzeWindows(samples: [Float], body: (AnalysisWindow, any WindowOutput) throws -> Void) rethrows {
        let windower = SampleWindower(windowSamples: HarmonicCNN.windowSamples, hopSamples: hopSamples)
        try windower.push(samples) { try enqueue($0, body) }
        try windower.finish { try enqueue($0, body) }
        try runPending(body)
    }

    @discardableResult
    public func analyzeWindows(file path: String, decoder: AudioFileDecoder, body: (AnalysisWindow, any WindowOutput) throws -> Void) throws -> DecodedAudioInfo {
        let windower = SampleWindower(windowSamples: HarmonicCNN.windowSamples, hopSamples: hopSamples)
        let info = try decoder.stream(path) { chunk in try windower.push(chunk) { try enqueue($0, body) } }
        try windower.finish { try enqueue($0, body) }
        try runPending(body)
        return info
    }

    private func enqueue(_ window: SampleWindow, _ body: (AnalysisWindow, any WindowOutput) throws -> Void) rethrows {
        let slot = pendingWindows.count
        _ = pendingSamples[slot].update(fromContentsOf: window.samples)
        pendingWindows.append(AnalysisWindow(window, sampleRate: Self.sampleRate))
        if pendingWindows.count == workers { try runPending(body) }
    }

    private func runPending(_ body: (AnalysisWindow, any WindowOutput) throws -> Void) rethrows {
        let batch = pendingWindows.count
        guard batch > 0 else { return }
        defer { pendingWindows.removeAll(keepingCapacity: true) }
        // Slot i touches only replica i, output i and samples i.
        let shared = UncheckedSendable((replicas, outputs, pendingSamples))
        let run: @Sendable (Int) -> Void = { slot in
            let (replicas, outputs, samples) = shared.value
            replicas[slot].forward(samples: samples[slot].baseAddress!, into: outputs[slot])
        }
        if batch == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: batch, execute: run) }
        for slot in 0..<batch { try body(pendingWindows[slot], outputs[slot]) }
    }
}

/// Where the Harmonic CNN's weights come from: no trained checkpoint ships (Models/README.md says why),
/// so it is the file the user converted, given explicitly or at `Models/hcnn/HCNN_MTT.safetensors`.
public enum HarmonicCNNWeights {
    public static let defaultPath = "hcnn/HCNN_MTT.safetensors"

    public static func resolve(_ path: String?, searchDirectories: [URL] = ModelLocator.searchDirectories()) throws -> URL {
        if let path { return URL(fileURLWithPath: path) }
        if let url = ModelLocator.locate(defaultPath, in: searchDirectories) { return url }
        throw ModelLookupError(message: "no Harmonic CNN weights: none ship with MusCaps Live (the authors' trained checkpoint may not be redistributed); convert their best_model.pth with Tools/hcnn/convert_checkpoint.py as Models/README.md shows, then pass --weights FILE or put it at Models/\(defaultPath) (searched: \(searchDirectories.map(\.path).joined(separator: ", ")))")
    }
}

/// Builds taggers for the CLI, the feature cache and the daemon.
public enum WindowTaggers {
    /// A tagger of `kind`: musicnn with `musicnnModel` (mtt, msd or a path), or the Harmonic CNN with
    /// `hcnnWeights` (default: `HarmonicCNNWeights.resolve(nil)`); windows every `hopSeconds` (default:
    /// back to back).
    public static func make(_ kind: FeatureExtractorKind, musicnnModel: String = "mtt", hcnnWeights: String? = nil,
                            hopSeconds: Double? = nil, workers: Int = 1) throws -> any WindowTagger {
        switch kind {
        case .musicnn:
            let model = try Musicnn(contentsOf: try MusicnnModelName.resolve(musicnnModel))
            return MusicnnTagger(model: model, hopFrames: hopSeconds.map(MusicnnTagger.hopFrames(seconds:)) ?? Musicnn.windowFrames,
                                 workers: max(1, workers))
        case .hcnn:
            let model = try HarmonicCNN(contentsOf: try HarmonicCNNWeights.resolve(hcnnWeights))
            return HarmonicCNNTagger(model: model, hopSamples: hopSeconds.map(HarmonicCNNTagger.hopSamples(seconds:)) ?? HarmonicCNN.windowSamples,
                                     workers: max(1, workers))
        }
    }

    /// A tagger computing exactly the features `extractorId` names (`musicnn-mtt`, `musicnn-msd`,
    /// `hcnn-mtt` …), on back-to-back windows — what a captioning model trained on them needs. Harmonic
    /// CNN weights that compute another id are refused.
    public static func make(extractorId: String, hcnnWeights: String? = nil, workers: Int = 1) throws -> any WindowTagger {
        guard let kind = FeatureExtractorKind(extractorId: extractorId) else {
            throw ModelLookupError(message: "unknown feature extractor '\(extractorId)' (expected musicnn-mtt, musicnn-msd or hcnn-<name>)")
        }
        switch kind {
        case .musicnn:
            guard let name = MusicnnModelName(rawValue: String(extractorId.dropFirst("musicnn-".count))) else {
                throw ModelLookupError(message: "unknown feature extractor '\(extractorId)' (expected musicnn-mtt or musicnn-msd)")
            }
            return try make(.musicnn, musicnnModel: name.rawValue, workers: workers)
        case .hcnn:
            let tagger = try make(.hcnn, hcnnWeights: hcnnWeights, workers: workers)
            guard tagger.extractorId == extractorId else {
                throw ModelLookupError(message: "the Harmonic CNN weights \((tagger as? HarmonicCNNTagger)?.model.weightsPath ?? "") compute '\(tagger.extractorId)' features, not '\(extractorId)'")
            }
            return tagger
        }
    }
}
