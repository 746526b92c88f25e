import Foundation
import NeuralCore

/// The Harmonic CNN (Won, Chun, Nieto & Serra, ICASSP 2020) — the second feature extractor of the MusCaps
/// paper, on 5 s windows at 16 kHz.
///
/// Architecture as the authors' `HarmonicCNN` (`minzwon/sota-music-tagging-models`, training/model.py,
/// with `Conv_2d`, `Res_2d_mp` and `HarmonicSTFT` from training/modules.py), for one window of 80,000
/// samples:
///
/// - `HarmonicSpectrogram`: 768 harmonic bands (6 harmonics × 128 levels) × 313 frames, in dB;
/// - `hstft_bn`: batch norm over the 6 harmonic channels;
/// - layer1 `Conv_2d(6→128)`: maxpool₂ₓ₂(ReLU(BN(conv3×3))) → 64 × 156;
/// - layer2–4 `Res_2d_mp(128)`: maxpool₂ₓ₂(ReLU(x + BN₂(conv₂(ReLU(BN₁(conv₁ x)))))) → 32×78, 16×39, 8×19;
/// - layer5 `Conv_2d(128→256)` → 4 × 9; layer6–7 `Res_2d_mp(256)` with 2×3 pooling → 2 × 3, 1 × 1;
/// - the embedding: the 256 channels, max over what is left of time (one position for 5 s) — the feature
///   MusCaps captions from (the paper discards the classification layers);
/// - head: dense1 → BatchNorm1d → ReLU (the "penultimate" layer) → dense2 → sigmoid (50 MTT tags).
///
/// Every batch norm (PyTorch, ε = 1e-5) is folded into the convolution or dense layer before it at load
/// time, except the input one, which follows the decibel conversion and is applied per harmonic.
/// Activations are channels-last `[frequency, time, channels]`. An instance owns all its buffers: a
/// forward pass allocates nothing. Not thread-safe; `replica()` gives another thread its own scratch.
public final class HarmonicCNN {
    public static let sampleRate = 16_000
    public static let windowSamples = 80_000
    public static let featureSize = 256
    public static let channels = 128
    public static let frames = HarmonicSpectrogram.frameCount(sampleCount: windowSamples)
    static let batchNormEpsilon: Float = 1e-5
    /// im2col scratch per convolution block, in floats (as `TimeFreqConv2D`: large GEMMs, bounded scratch).
    static let blockColumnFloats = 1 << 19

    /// One convolutional stage and the shape of its input.
    struct Stage {
        let name: String
        let height: Int, width: Int
        let poolHeight: Int, poolWidth: Int
        /// `Conv_2d`: `second` is nil. `Res_2d_mp`: `first` is conv_1 (+bn_1), `second` conv_2 (+bn_2).
        let first: ChannelsLastConv2D
        let second: ChannelsLastConv2D?
        var outputHeight: Int { height / poolHeight }
        var outputWidth: Int { width / poolWidth }
        var channels: Int { first.outputChannels }
        var outputCount: Int { outputHeight * outputWidth * channels }
    }

    public let name: String
    public let tags: [String]
    public let weightsPath: String
    public let bandwidthQ: Float

    let spectrogram: HarmonicSpectrogram
    let inputNorm: ChannelAffine
    let stages: [Stage]
    /// dense1 with the head's BatchNorm1d folded in, `[256 in, 256 out]`; dense2 `[256, tags]`.
    let hidden: Dense
    let classifier: Dense

    // Scratch, allocated once.
    private let normalized: UnsafeMutablePointer<Float>
    private let innerActivation: UnsafeMutablePointer<Float>
    private let blockOutput: UnsafeMutablePointer<Float>

    /// Loads a checkpoint converted by `Tools/hcnn/convert_checkpoint.py` (PyTorch names and layouts).
    public convenience init(contentsOf url: URL) throws {
        try self.init(weights: SafetensorsFile(contentsOf: url))
    }

    public init(weights file: SafetensorsFile) throws {
        weightsPath = file.path
        name = file.metadata["model"] ?? URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent
        if let extractor = file.metadata["extractor"], extractor != "hcnn" {
            throw SafetensorsError.malformed(path: file.path, reason: "metadata says extractor '\(extractor)', not a Harmonic CNN")
        }
        guard let tagsJSON = file.metadata["tags"], let data = tagsJSON.data(using: .utf8),
              let tags = try? JSONDecoder().decode([String].self, from: data), !tags.isEmpty else {
            throw SafetensorsError.malformed(path: file.path, reason: "metadata has no 'tags' JSON list")
        }
        self.tags = tags

        func batchNorm(_ prefix: String, _ channels: Int) throws -> ChannelAffine {
            let variance = try file.finiteTensor("\(prefix).running_var", shape: [channels]).scalars
            if variance.contains(where: { $0 < 0 }) {
                throw SafetensorsError.malformed(path: file.path, reason: "'\(prefix).running_var' has negative variances")
            }
            return ChannelAffine(gamma: try file.finiteTensor("\(prefix).weight", shape: [channels]).scalars,
                                 beta: try file.finiteTensor("\(prefix).bias", shape: [channels]).scalars,
                                 mean: try file.finiteTensor("\(prefix).running_mean", shape: [channels]).scalars,
                                 variance: variance, epsilon: Self.batchNormEpsilon)
        }
        func conv(_ prefix: String, norm: String, _ cin: Int, _ cout: Int, height: Int, width: Int, poolHeight: Int) throws -> ChannelsLastConv2D {
            let patchRow = width * 9 * cin
            let rows = max(poolHeight, (Self.blockColumnFloats / patchRow) / poolHeight * poolHeight)
            return ChannelsLastConv2D(weight: try file.finiteTensor("\(prefix).weight", shape: [cout, cin, 3, 3]),
                                      bias: try file.finiteTensor("\(prefix).bias", shape: [cout]),
                                      outputAffine: try batchNorm(norm, cout),
                                      height: height, width: width, maxBlockRows: rows)
        }

        let q = try file.finiteTensor("hstft.bw_Q", shape: [1]).scalars[0]
        guard q > 0 else { throw SafetensorsError.malformed(path: file.path, reason: "'hstft.bw_Q' must be positive, is \(q)") }
        bandwidthQ = q
        spectrogram = HarmonicSpectrogram(sampleCount: Self.windowSamples, q: q)
        inputNorm = try batchNorm("hstft_bn", HarmonicSpectrogram.harmonics)

        var stages: [Stage] = []
        var height = HarmonicSpectrogram.levels, width = Self.frames, channels = HarmonicSpectrogram.harmonics
        let plan: [(name: String, residual: Bool, channels: Int, pool: (Int, Int))] = [
            ("layer1", false, Self.channels, (2, 2)), ("layer2", true, Self.channels, (2, 2)),
            ("layer3", true, Self.channels, (2, 2)), ("layer4", true, Self.channels, (2, 2)),
            ("layer5", false, 2 * Self.channels, (2, 2)), ("layer6", true, 2 * Self.channels, (2, 3)),
            ("layer7", true, 2 * Self.channels, (2, 3)),
        ]
        for step in plan {
            let stage: Stage
            if step.residual {
                stage = Stage(name: step.name, height: height, width: width, poolHeight: step.pool.0, poolWidth: step.pool.1,
                              first: try conv("\(step.name).conv_1", norm: "\(step.name).bn_1", channels, step.channels,
                                              height: height, width: width, poolHeight: 1),
                              second: try conv("\(step.name).conv_2", norm: "\(step.name).bn_2", step.channels, step.channels,
                                               height: height, width: width, poolHeight: step.pool.0))
            } else {
                stage = Stage(name: step.name, height: height, width: width, poolHeight: step.pool.0, poolWidth: step.pool.1,
                              first: try conv("\(step.name).conv", norm: "\(step.name).bn", channels, step.channels,
                                              height: height, width: width, poolHeight: step.pool.0),
                              second: nil)
            }
            stages.append(stage)
            (height, width, channels) = (stage.outputHeight, stage.outputWidth, stage.channels)
        }
        precondition(height == 1 && channels == Self.featureSize)
        self.stages = stages

        let units = Self.featureSize
        let headNorm = try batchNorm("bn", units)
        let dense1 = try file.finiteTensor("dense1.weight", shape: [units, units])
        let dense1Bias = try file.finiteTensor("dense1.bias", shape: [units])
        // PyTorch Linear is y = x·Wᵀ + b with W [out, in]; Dense wants [in, out]. Fold the BatchNorm1d
        // that follows into the outputs: W′[i, o] = W[o, i]·s[o], b′ = b·s + t.
        var w1 = [Float](repeating: 0, count: units * units), b1 = [Float](repeating: 0, count: units)
        for o in 0..<units {
            b1[o] = dense1Bias.scalars[o] * headNorm.scale[o] + headNorm.shift[o]
            for i in 0..<units { w1[i * units + o] = dense1.scalars[o * units + i] * headNorm.scale[o] }
        }
        hidden = Dense(weight: Tensor(shape: [units, units], scalars: w1), bias: Tensor(shape: [units], scalars: b1))
        let dense2 = try file.finiteTensor("dense2.weight", shape: [tags.count, units])
        var w2 = [Float](repeating: 0, count: units * tags.count)
        for o in 0..<tags.count { for i in 0..<units { w2[i * tags.count + o] = dense2.scalars[o * units + i] } }
        classifier = Dense(weight: Tensor(shape: [units, tags.count], scalars: w2),
                           bias: try file.finiteTensor("dense2.bias", shape: [tags.count]))
        (normalized, innerActivation, blockOutput) = Self.allocateScratch(stages)
    }

    private init(replicating other: HarmonicCNN) {
        name = other.name
        tags = other.tags
        weightsPath = other.weightsPath
        bandwidthQ = other.bandwidthQ
        spectrogram = HarmonicSpectrogram(sampleCount: Self.windowSamples, q: other.bandwidthQ)
        inputNorm = other.inputNorm
        stages = other.stages.map {
            Stage(name: $0.name, height: $0.height, width: $0.width, poolHeight: $0.poolHeight, poolWidth: $0.poolWidth,
                  first: $0.first.replica(), second: $0.second?.replica())
        }
        hidden = other.hidden
        classifier = other.classifier
        (normalized, innerActivation, blockOutput) = Self.allocateScratch(stages)
    }

    /// A copy for another thread: shares the immutable weights, owns its own scratch buffers.
    public func replica() -> HarmonicCNN { HarmonicCNN(replicating: self) }

    private static func allocateScratch(_ stages: [Stage]) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        func zeros(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            return pointer
        }
        let inner = stages.filter { $0.second != nil }.map { $0.height * $0.width * $0.channels }.max() ?? 1
        let block = stages.flatMap { [$0.first, $0.second].compactMap { $0 } }
            .map { $0.maxBlockRows * $0.width * $0.outputChannels }.max() ?? 1
        return (zeros(HarmonicSpectrogram.levels * frames * HarmonicSpectrogram.harmonics), zeros(inner), zeros(block))
    }

    deinit {
        normalized.deallocate()
        innerActivation.deallocate()
        blockOutput.deallocate()
    }

    /// Runs one window of `windowSamples` 16 kHz mono samples; `output` receives every layer.
    public func forward(samples: UnsafePointer<Float>, into output: HarmonicCNNOutput) {
        precondition(output.tagCount == tags.count, "output made for \(output.tagCount) tags, model has \(tags.count)")
        let spectrum = output.storage(.spectrogram)
        spectrogram.compute(samples, into: spectrum)
        let planeSize = HarmonicSpectrogram.levels * Self.frames
        let harmonics = HarmonicSpectrogram.harmonics
        inputNorm.scale.withUnsafeBufferPointer { scale in
            inputNorm.shift.withUnsafeBufferPointer { shift in
                for p in 0..<planeSize {
                    for h in 0..<harmonics {
                        normalized[p * harmonics + h] = spectrum[p * harmonics + h] * scale[h] + shift[h]
                    }
                }
            }
        }
        var input = UnsafePointer(normalized)
        for index in stages.indices {
            let stage = stages[index]
            let target = output.storage(HarmonicCNNOutput.Layer.stages[index])
            run(stage, input: input, into: target)
            input = UnsafePointer(target)
        }
        // Embedding: max over the remaining time positions (one for a 5 s window), per channel.
        let last = stages[stages.count - 1]
        let embedding = output.storage(.embedding)
        for c in 0..<Self.featureSize {
            var best = -Float.infinity
            for x in 0..<last.outputWidth { best = max(best, input[x * Self.featureSize + c]) }
            embedding[c] = best
        }
        let penultimate = output.storage(.penultimate)
        hidden.forward(embedding, rows: 1, into: penultimate)
        for u in 0..<Self.featureSize { penultimate[u] = max(penultimate[u], 0) }
        let taggram = output.storage(.taggram)
        classifier.forward(penultimate, rows: 1, into: taggram)
        for i in 0..<tags.count { taggram[i] = 1 / (1 + Foundation.exp(-taggram[i])) }
    }

    /// One stage: (conv₁ → ReLU →) conv → (+ input) → ReLU → max-pool, block of rows by block of rows.
    private func run(_ stage: Stage, input: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>) {
        let width = stage.width, channels = stage.channels
        var source = input
        if let _ = stage.second {
            // conv_1 (+bn_1) and ReLU over the whole plane: conv_2 needs its neighbours on both sides.
            let conv = stage.first
            var row = 0
            while row < stage.height {
                let rows = row..<min(stage.height, row + conv.maxBlockRows)
                let out = innerActivation + row * width * channels
                conv.forward(input, rows: rows, into: out)
                for i in 0..<(rows.count * width * channels) { out[i] = max(out[i], 0) }
                row = rows.upperBound
            }
            source = UnsafePointer(innerActivation)
        }
        let conv = stage.second ?? stage.first
        let residual: UnsafePointer<Float>? = stage.second == nil ? nil : input
        let (ph, pw) = (stage.poolHeight, stage.poolWidth)
        let outWidth = stage.outputWidth
        // Pooled rows per block: whole pooling windows only; trailing rows/columns beyond them are dropped
        // (PyTorch's MaxPool2d floors).
        let blockPooled = max(1, conv.maxBlockRows / ph)
        var pooledRow = 0
        while pooledRow < stage.outputHeight {
            let count = min(blockPooled, stage.outputHeight - pooledRow)
            let rows = (pooledRow * ph)..<((pooledRow + count) * ph)
            conv.forward(source, rows: rows, into: blockOutput)
            if let residual {
                let offset = residual + rows.lowerBound * width * channels
                for i in 0..<(rows.count * width * channels) { blockOutput[i] += offset[i] }
            }
            for r in 0..<count {
                let out = target + (pooledRow + r) * outWidth * channels
                for px in 0..<outWidth {
                    let cell = out + px * channels
                    for c in 0..<channels { cell[c] = 0 }   // ReLU: the max of ReLUs is ≥ 0
                    for dy in 0..<ph {
                        for dx in 0..<pw {
                            let value = blockOutput + ((r * ph + dy) * width + px * pw + dx) * channels
                            for c in 0..<channels { cell[c] = max(cell[c], value[c]) }
                        }
                    }
                }
            }
            pooledRow += count
        }
    }
}

/// Every layer of the Harmonic CNN for one window, in buffers allocated once and reused.
///
/// Layouts are channels-last: `spectrogram` is `[128, 313, 6]` (dB, before the input batch norm),
/// `layer1` … `layer7` are `[height, width, channels]` after pooling, `embedding` (256) is what MusCaps
/// captions from, `penultimate` (256) the head's hidden layer, `taggram` the tag probabilities.
public final class HarmonicCNNOutput {
    public enum Layer: String, CaseIterable, Sendable {
        case spectrogram, layer1, layer2, layer3, layer4, layer5, layer6, layer7, embedding, penultimate, taggram
        static let stages: [Layer] = [.layer1, .layer2, .layer3, .layer4, .layer5, .layer6, .layer7]

        /// `[height, width, channels]` of a window's layer.
        public func shape(tagCount: Int) -> [Int] {
            switch self {
            case .spectrogram: return [HarmonicSpectrogram.levels, HarmonicCNN.frames, HarmonicSpectrogram.harmonics]
            case .layer1: return [64, 156, 128]
            case .layer2: return [32, 78, 128]
            case .layer3: return [16, 39, 128]
            case .layer4: return [8, 19, 128]
            case .layer5: return [4, 9, 256]
            case .layer6: return [2, 3, 256]
            case .layer7: return [1, 1, 256]
            case .embedding, .penultimate: return [HarmonicCNN.featureSize]
            case .taggram: return [tagCount]
            }
        }
    }

    public let tagCount: Int
    private let buffers: [Layer: UnsafeMutableBufferPointer<Float>]

    public init(tagCount: Int) {
        self.tagCount = tagCount
        var buffers: [Layer: UnsafeMutableBufferPointer<Float>] = [:]
        for layer in Layer.allCases {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: layer.shape(tagCount: tagCount).reduce(1, *))
            buffer.initialize(repeating: 0)
            buffers[layer] = buffer
        }
        self.buffers = buffers
    }

    deinit { buffers.values.forEach { $0.deallocate() } }

    func storage(_ layer: Layer) -> UnsafeMutablePointer<Float> { buffers[layer]!.baseAddress! }

    /// A layer's values (valid until the next forward pass).
    public func buffer(_ layer: Layer) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(buffers[layer]!) }
    public func values(_ layer: Layer) -> [Float] { Array(buffers[layer]!) }
    public var embedding: [Float] { values(.embedding) }
    public var taggram: [Float] { values(.taggram) }
}
