import Foundation
import NeuralCore

/// The nearest-neighbour baseline: a track gets the caption of the training track whose audio features
/// are closest. No learning beyond storing the training set — a captioning model that cannot beat it
/// has not learnt to *describe*, only to recall.
///
/// Distance: each track is the mean of its chunks' features, standardised per dimension with the
/// training set's mean and standard deviation (musicnn's `max_pool` dimensions span 0…~150, so raw
/// distances would be dominated by a few loud channels), then compared by cosine similarity. Ties go to
/// the earlier training track, so the result does not depend on anything but the data.
public struct NearestNeighbourCaptioner: Sendable {
    /// Standardised, L2-normalised training tracks, row-major `[tracks, dimension]`.
    private let neighbours: [Float]
    private let mean: [Float]
    private let scale: [Float]
    public let dimension: Int
    /// The caption given for each training track (its first reference).
    public let captions: [[String]]
    public let trackIds: [String]

    public init(training corpus: CaptionCorpus) throws {
        guard corpus.trackCount > 0 else { throw BaselineError("nearest-neighbour baseline: the training split has no tracks") }
        let dimension = corpus.featureDimension
        let pooled = corpus.features.map { PackedFeatures.mean($0, dimension: dimension) }
        var mean = [Float](repeating: 0, count: dimension), variance = [Float](repeating: 0, count: dimension)
        for row in pooled { for d in 0..<dimension { mean[d] += row[d] } }
        for d in 0..<dimension { mean[d] /= Float(pooled.count) }
        for row in pooled { for d in 0..<dimension { variance[d] += (row[d] - mean[d]) * (row[d] - mean[d]) } }
        // A constant dimension carries no information: scale 0 removes it from the distance.
        let scale = variance.map { v -> Float in
            let sd = (v / Float(pooled.count)).squareRoot()
            return sd > 1e-6 ? 1 / sd : 0
        }
        self.dimension = dimension
        self.mean = mean
        self.scale = scale
        var rows: [Float] = []
        rows.reserveCapacity(pooled.count * dimension)
        for row in pooled { rows += Self.normalised(row, mean: mean, scale: scale) }
        neighbours = rows
        let references = corpus.references
        captions = references.map { $0.first ?? [] }
        trackIds = corpus.trackIds
    }

    /// Index of the nearest training track for a track's `[chunks, dimension]` features.
    public func nearest(_ features: Tensor) throws -> Int {
        guard features.rank == 2, features.shape[1] == dimension, features.shape[0] > 0 else {
            throw BaselineError("nearest-neighbour baseline: features must be [chunks, \(dimension)], got \(features.shape)")
        }
        let query = Self.normalised(PackedFeatures.mean(features, dimension: dimension), mean: mean, scale: scale)
        var best = 0
        var bestSimilarity = -Float.infinity
        neighbours.withUnsafeBufferPointer { rows in
            for track in 0..<captions.count {
                var dot: Float = 0
                let base = track * dimension
                for d in 0..<dimension { dot += rows[base + d] * query[d] }
                if dot > bestSimilarity { bestSimilarity = dot; best = track }
            }
        }
        return best
    }

    public func caption(_ features: Tensor) throws -> [String] { captions[try nearest(features)] }

    static func normalised(_ row: [Float], mean: [Float], scale: [Float]) -> [Float] {
        var z = zip(zip(row, mean), scale).map { ($0.0 - $0.1) * $1 }
        let norm = z.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { z = z.map { $0 / norm } }
        return z
    }
}
