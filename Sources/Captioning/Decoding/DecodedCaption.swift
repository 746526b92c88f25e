import Foundation
import NeuralCore

/// One generated caption.
public struct DecodedCaption: Sendable, Equatable {
    /// Generated word ids, without `<sos>` and `<eos>`.
    public var tokenIds: [Int]
    /// Σ log P(token | prefix, audio) over the generated tokens, the final `<eos>` included when
    /// `finished` (natural log).
    public var logProbability: Double
    /// Whether the caption ended with `<eos>` within the length limit; `false` means it was cut at the
    /// limit (see `BeamSearchDecoder` for what beam search returns then).
    public var finished: Bool

    public init(tokenIds: [Int], logProbability: Double, finished: Bool) {
        self.tokenIds = tokenIds
        self.logProbability = logProbability
        self.finished = finished
    }

    public func words(_ vocabulary: Vocabulary) -> [String] { tokenIds.map { vocabulary.word(at: $0) } }

    /// The caption as a sentence ("Upbeat acoustic guitar tune").
    public func sentence(_ vocabulary: Vocabulary) -> String { CaptionText.sentence(words(vocabulary)) }

    /// Lower-case words joined by spaces, as metrics and reference captions are compared.
    public func text(_ vocabulary: Vocabulary) -> String { words(vocabulary).joined(separator: " ") }
}

/// Decoding settings shared by both decoders.
public enum DecodingDefaults {
    /// Maximum number of decoding steps, i.e. generated tokens with `<eos>` included (the reference's
    /// `max_caption_len: 22`; the paper: "stopping when … the maximum length (22) is reached").
    public static let maxLength = 22
    /// Beam width used when none is given (`muscaps caption/eval`, `muscapsd`): on the corpus's validation
    /// set beam 3 scored best for every variant (docs/RESULTS.md); the paper used 3 except for early fusion.
    public static let beamWidth = 3
}

/// log Σ_j exp(z_j) of a row of logits (max-shifted; vectorised exp).
@inlinable
func logSumExp(_ z: UnsafePointer<Float>, count: Int) -> Float {
    var maximum = -Float.infinity
    for j in 0..<count { maximum = max(maximum, z[j]) }
    var total: Float = 0
    for j in 0..<count { total += FastMath.exp(z[j] - maximum) }
    return maximum + log(total)
}

/// Features of several tracks packed as the decoders' `start` wants them: `[tracks, stride, k]`, track i
/// using its first `counts[i]` rows. Fusion variants only ever see the mean over chunks, so `pooled`
/// packs each track as its single mean row (stride 1), which gives the same a = ReLU(BN(W ã + b)).
public struct PackedFeatures {
    public var values: [Float]
    public var counts: [Int32]
    public var stride: Int
    public var dimension: Int
    public var trackCount: Int { counts.count }

    public init(tracks: ArraySlice<Tensor>, dimension: Int, pooled: Bool) {
        self.dimension = dimension
        if pooled {
            stride = 1
            values = []
            values.reserveCapacity(tracks.count * dimension)
            for t in tracks { values += PackedFeatures.mean(t, dimension: dimension) }
            counts = [Int32](repeating: 1, count: tracks.count)
        } else {
            stride = tracks.map { $0.shape[0] }.max() ?? 1
            values = [Float](repeating: 0, count: tracks.count * stride * dimension)
            counts = []
            for (i, t) in tracks.enumerated() {
                let n = t.shape[0]
                for j in 0..<(n * dimension) { values[i * stride * dimension + j] = t.scalars[j] }
                counts.append(Int32(n))
            }
        }
    }

    /// Mean over a track's chunks, summed in chunk order then scaled, as the model pools.
    public static func mean(_ t: Tensor, dimension k: Int) -> [Float] {
        let n = t.shape[0]
        var out = [Float](repeating: 0, count: k)
        t.scalars.withUnsafeBufferPointer { f in
            for i in 0..<n { for j in 0..<k { out[j] += f[i * k + j] } }
        }
        let inverse = 1 / Float(n)
        for j in 0..<k { out[j] *= inverse }
        return out
    }
}

extension CaptioningConfiguration.Variant {
    /// Whether the variant sees the chunks only through their mean (early and late fusion).
    public var usesPooledFeaturesOnly: Bool { self != .attention }
}
