import Foundation
import NeuralCore

/// musicnn (Pons & Serra, 2019): the music-tagging CNN whose pooled mid-end features MusCaps captions from.
///
/// Architecture as built by `musicnn/models.py` (`build_musicnn`, `frontend`, `midend`, `backend`) in the
/// `musicnn` 0.1.0 package, for one window of 187 frames × 96 mel bands:
///
/// - input batch norm (one scalar channel);
/// - front end, five branches, each conv → bias → ReLU → BN → max over all frequencies:
///   timbral 7×38 and 7×67 'valid' convs on the input zero-padded 3+3 in time (204 filters each),
///   temporal 128×1, 64×1, 32×1 'same' convs (51 filters each); concatenated to 561 channels;
/// - mid end, three 7×C convs (64 filters, input zero-padded 3+3), each conv → ReLU → BN, the 2nd and 3rd
///   residual; the feature map is [front end, cnn1, cnn2, cnn3] = 753 channels per frame;
/// - back end: max and mean over time, interleaved [max₀, mean₀, max₁, mean₁, …] (a flatten of the
///   `[753, 2]` concat), BN → dense 200 → ReLU → BN (the "penultimate" features) → dense 50 → sigmoid.
///
/// Batch norms are folded to per-channel affine maps at load time; the one in front of the first dense
/// layer is folded into its weights. The others follow a ReLU and feed a max-pool or a zero-padded conv,
/// so they cannot be folded into a neighbour exactly and are applied as affine maps (cheap: O(T·C)).
///
/// An instance owns its scratch buffers: one window's forward pass allocates nothing. It is not
/// thread-safe; use one instance per inference thread.
public final class Musicnn {
    public static let windowFrames = 187
    public static let melBands = 96
    public static let frontEndChannels = 561
    public static let timbralChannels = 408
    public static let temporalChannels = 153
    public static let midEndChannels = 64
    public static let featureChannels = 753
    public static let penultimateUnits = 200
    /// TensorFlow's default batch-norm epsilon (`tf.compat.v1.layers.batch_normalization`).
    static let batchNormEpsilon: Float = 0.001

    /// "MTT_musicnn" or "MSD_musicnn".
    public let name: String
    /// When set, each convolution runs its output frames in two halves at once, the second on the splitter's
    /// helper thread: one window on two cores, for latency (the daemon). Results are the same as without.
    public var splitter: HalfSplitter?
    /// Output tag names, in taggram order.
    public let tags: [String]
    public let weightsPath: String

    private let inputNorm: (scale: Float, shift: Float)
    /// Timbral (7×38, 7×67) then temporal (128×1, 64×1, 32×1) branches, in feature-map channel order.
    private let frontEnd: [TimeFreqConv2D]
    private let frontEndNorms: [ChannelAffine]
    private let midEnd: [TimeFreqConv2D]
    private let midEndNorms: [ChannelAffine]
    private let dense: Dense
    private let penultimateNorm: ChannelAffine
    private let classifier: Dense

    // Scratch, allocated once.
    private let normalizedInput: UnsafeMutablePointer<Float>
    private let convOutput: UnsafeMutablePointer<Float>
    private let midEndInput: UnsafeMutablePointer<Float>
    private let frequencyMinimum: UnsafeMutablePointer<Float>
    private let pooled: UnsafeMutablePointer<Float>
    private let hidden: UnsafeMutablePointer<Float>

    /// Loads converted weights (see `Tools/musicnn/convert_checkpoint.py`): TensorFlow variable names
    /// and layouts, tag names in the `tags` metadata entry.
    public convenience init(contentsOf url: URL) throws {
        try self.init(weights: SafetensorsFile(contentsOf: url))
    }

    public init(weights file: SafetensorsFile) throws {
        weightsPath = file.path
        name = file.metadata["model"] ?? URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent
        guard let tagsJSON = file.metadata["tags"], let data = tagsJSON.data(using: .utf8),
              let tags = try? JSONDecoder().decode([String].self, from: data), !tags.isEmpty else {
            throw SafetensorsError.malformed(path: file.path, reason: "metadata has no 'tags' JSON list")
        }
        self.tags = tags

        func batchNorm(_ index: Int, channels: Int) throws -> ChannelAffine {
            let prefix = index == 0 ? "batch_normalization" : "batch_normalization_\(index)"
            return ChannelAffine(
                gamma: try file.finiteTensor("\(prefix)/gamma", shape: [channels]).scalars,
                beta: try file.finiteTensor("\(prefix)/beta", shape: [channels]).scalars,
                mean: try file.finiteTensor("\(prefix)/moving_mean", shape: [channels]).scalars,
                variance: try file.finiteTensor("\(prefix)/moving_variance", shape: [channels]).scalars,
                epsilon: Self.batchNormEpsilon)
        }
        func conv(_ index: Int, _ kt: Int, _ kf: Int, filters: Int, inputFreq: Int,
                  padTop: Int, padBottom: Int) throws -> TimeFreqConv2D {
            let prefix = index == 0 ? "conv2d" : "conv2d_\(index)"
            return TimeFreqConv2D(
                kernel: try file.finiteTensor("\(prefix)/kernel", shape: [kt, kf, 1, filters]),
                bias: try file.finiteTensor("\(prefix)/bias", shape: [filters]),
                inputTime: Self.windowFrames, inputFreq: inputFreq, padTop: padTop, padBottom: padBottom)
        }
        let bands = Self.melBands
        let input = try batchNorm(0, channels: 1)
        inputNorm = (input.scale[0], input.shift[0])
        // Timbral: 'valid' over frequency after an explicit 3+3 zero pad in time (kernel widths 0.4·96, 0.7·96).
        let timbral = [try conv(0, 7, 38, filters: 204, inputFreq: bands, padTop: 3, padBottom: 3),
                   try conv(1, 7, 67, filters: 204, inputFreq: bands, padTop: 3, padBottom: 3)]
        // Temporal: TF 'same' padding puts (k−1)/2 rows on top and k/2 below.
        let temporal = try [128, 64, 32].enumerated().map { offset, kt in
            try conv(2 + offset, kt, 1, filters: 51, inputFreq: bands, padTop: (kt - 1) / 2, padBottom: kt / 2)
        }
        frontEnd = timbral + temporal
        frontEndNorms = try [204, 204, 51, 51, 51].enumerated().map { try batchNorm(1 + $0.offset, channels: $0.element) }
        midEnd = [try conv(5, 7, Self.frontEndChannels, filters: 64, inputFreq: Self.frontEndChannels, padTop: 3, padBottom: 3),
                  try conv(6, 7, 64, filters: 64, inputFreq: 64, padTop: 3, padBottom: 3),
                  try conv(7, 7, 64, filters: 64, inputFreq: 64, padTop: 3, padBottom: 3)]
        midEndNorms = try (6...8).map { try batchNorm($0, channels: 64) }
        let pooledNorm = try batchNorm(9, channels: 2 * Self.featureChannels)
        dense = Dense(weight: try file.finiteTensor("dense/kernel", shape: [2 * Self.featureChannels, Self.penultimateUnits]),
                      bias: try file.finiteTensor("dense/bias", shape: [Self.penultimateUnits]))
            .foldingInputAffine(pooledNorm)
        penultimateNorm = try batchNorm(10, channels: Self.penultimateUnits)
        classifier = Dense(weight: try file.finiteTensor("dense_1/kernel", shape: [Self.penultimateUnits, tags.count]),
                           bias: try file.finiteTensor("dense_1/bias", shape: [tags.count]))

        (normalizedInput, convOutput, midEndInput, frequencyMinimum, pooled, hidden) = Self.allocateScratch(largestConv: (frontEnd + midEnd).map(\.outputCount).max()!)
    }

    /// A copy for another thread: shares the immutable weights, owns its own scratch buffers.
    public func replica() -> Musicnn { Musicnn(replicating: self) }

    private init(replicating other: Musicnn) {
        name = other.name
        tags = other.tags
        weightsPath = other.weightsPath
        inputNorm = other.inputNorm
        frontEnd = other.frontEnd.map { $0.replica() }
        frontEndNorms = other.frontEndNorms
        midEnd = other.midEnd.map { $0.replica() }
        midEndNorms = other.midEndNorms
        dense = other.dense
        penultimateNorm = other.penultimateNorm
        classifier = other.classifier
        (normalizedInput, convOutput, midEndInput, frequencyMinimum, pooled, hidden) = Self.allocateScratch(largestConv: (frontEnd + midEnd).map(\.outputCount).max()!)
    }

    private static func allocateScratch(largestConv: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                                                              UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        (.allocate(capacity: windowFrames * melBands), .allocate(capacity: largestConv),
         .allocate(capacity: windowFrames * frontEndChannels), .allocate(capacity: 204),
         .allocate(capacity: 2 * featureChannels), .allocate(capacity: penultimateUnits))
    }

    deinit {
        normalizedInput.deallocate()
        convOutput.deallocate()
        midEndInput.deallocate()
        frequencyMinimum.deallocate()
        pooled.deallocate()
        hidden.deallocate()
    }

    /// Runs one window.
    /// - Parameters:
    ///   - window: `187 × 96` log-mel frames, time-major (row t = 96 bands).
    ///   - output: receives every exposed layer; reuse it across windows to avoid allocation.
    public func forward(window: UnsafePointer<Float>, into output: MusicnnOutput) {
        let frames = Self.windowFrames, bands = Self.melBands
        for i in 0..<(frames * bands) { normalizedInput[i] = window[i] * inputNorm.scale + inputNorm.shift }

        let features = output.featureMapStorage.baseAddress!
        let stride = Self.featureChannels
        // Front end: each branch writes its channels of the feature map, frame by frame.
        var channelOffset = 0
        for branch in frontEnd.indices {  // index loops: enumerated() allocates its iterator in debug builds
            let conv = frontEnd[branch]
            conv.forward(normalizedInput, into: convOutput, splitter: splitter)
            poolOverFrequency(conv, norm: frontEndNorms[branch], into: features + channelOffset, rowStride: stride)
            channelOffset += conv.filters
        }
        // Mid end: conv over all channels of the previous layer, ReLU, BN; 2nd and 3rd add their input.
        var inputOffset = 0, inputWidth = Self.frontEndChannels
        for layer in midEnd.indices {
            let conv = midEnd[layer]
            // The conv reads a contiguous [frames × width] plane: gather it from the feature map.
            gather(features + inputOffset, width: inputWidth, rowStride: stride, into: midEndInput)
            conv.forward(midEndInput, into: convOutput, splitter: splitter)
            let norm = midEndNorms[layer]
            let target = features + channelOffset
            for t in 0..<frames {
                let row = convOutput + t * 64, out = target + t * stride, previous = features + inputOffset + t * stride
                for c in 0..<64 {
                    var value = max(row[c] + conv.bias[c], 0) * norm.scale[c] + norm.shift[c]
                    if layer > 0 { value += previous[c] }
                    out[c] = value
                }
            }
            inputOffset = channelOffset
            inputWidth = 64
            channelOffset += 64
        }
        // Back end: temporal max and mean per channel, interleaved as TF's flatten of [753, 2] lays them out.
        for c in 0..<stride {
            var maximum = -Float.infinity, sum: Float = 0
            for t in 0..<frames {
                let value = features[t * stride + c]
                maximum = max(maximum, value)
                sum += value
            }
            let mean = sum / Float(frames)
            pooled[2 * c] = maximum
            pooled[2 * c + 1] = mean
            output.maxPoolStorage[c] = maximum
            output.meanPoolStorage[c] = mean
        }
        dense.forward(pooled, rows: 1, into: hidden)
        for u in 0..<Self.penultimateUnits {
            output.penultimateStorage[u] = max(hidden[u], 0) * penultimateNorm.scale[u] + penultimateNorm.shift[u]
        }
        let taggram = output.taggramStorage
        classifier.forward(output.penultimateStorage.baseAddress!, rows: 1, into: taggram.baseAddress!)
        for i in taggram.indices { taggram[i] = 1 / (1 + Foundation.exp(-taggram[i])) }
    }

    /// Max over frequency of BN(ReLU(conv + bias)), written as `[frames, filters]` rows into the feature map.
    ///
    /// BN is affine per channel and ReLU monotone, so max_f BN(ReLU(x_f + b)) equals BN(ReLU(max_f x_f + b))
    /// when the BN scale is non-negative and BN(ReLU(min_f x_f + b)) when it is negative: pooling first
    /// costs one pass over the conv output instead of three.
    private func poolOverFrequency(_ conv: TimeFreqConv2D, norm: ChannelAffine,
                                   into target: UnsafeMutablePointer<Float>, rowStride: Int) {
        let filters = conv.filters, freq = conv.outputFreq
        conv.bias.withUnsafeBufferPointer { bias in
        norm.scale.withUnsafeBufferPointer { scale in
        norm.shift.withUnsafeBufferPointer { shift in
            for t in 0..<conv.outputTime {
                let out = target + t * rowStride
                let first = convOutput + t * freq * filters
                let minimum = frequencyMinimum
                for c in 0..<filters { out[c] = first[c]; minimum[c] = first[c] }
                for f in 1..<max(freq, 1) {
                    let row = first + f * filters
                    for c in 0..<filters {
                        out[c] = max(out[c], row[c])
                        minimum[c] = min(minimum[c], row[c])
                    }
                }
                for c in 0..<filters {
                    let extreme = scale[c] >= 0 ? out[c] : minimum[c]
                    out[c] = max(extreme + bias[c], 0) * scale[c] + shift[c]
                }
            }
        }}}
    }

    private func gather(_ source: UnsafePointer<Float>, width: Int, rowStride: Int, into target: UnsafeMutablePointer<Float>) {
        for t in 0..<Self.windowFrames {
            (target + t * width).update(from: source + t * rowStride, count: width)
        }
    }
}
