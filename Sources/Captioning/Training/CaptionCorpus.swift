import Foundation
import NeuralCore

/// Caption pairs with their tracks' features, in memory: what training, evaluation and retrieval read.
/// Built from a prepared split (`PreparedSplit`, written by `muscaps prepare`) or directly (tests,
/// benchmarks).
public struct CaptionCorpus: Sendable {
    public struct Pair: Sendable, Equatable {
        public var track: Int
        public var tokens: [String]
        public init(track: Int, tokens: [String]) {
            self.track = track
            self.tokens = tokens
        }
    }

    public var trackIds: [String]
    /// Per track `[chunks, k]`.
    public var features: [Tensor]
    public var pairs: [Pair]

    public init(trackIds: [String], features: [Tensor], pairs: [Pair]) {
        precondition(trackIds.count == features.count)
        precondition(pairs.allSatisfy { $0.track >= 0 && $0.track < features.count })
        self.trackIds = trackIds
        self.features = features
        self.pairs = pairs
    }

    public init(_ split: PreparedSplit) {
        self.init(trackIds: split.tracks.map(\.trackId), features: split.tracks.map(\.features),
                  pairs: split.pairs.map { Pair(track: $0.trackIndex, tokens: $0.tokens) })
    }

    /// Loads `muscaps prepare`'s output for one split.
    public init(datasetDirectory: URL, extractor: String, split: String) throws {
        self.init(try PreparedSplit(datasetDirectory: datasetDirectory, extractor: extractor, split: split))
    }

    public var trackCount: Int { features.count }

    /// The same corpus with every track cut to its middle `chunks` chunks (tracks that are shorter are
    /// kept whole): what a caption from a short live context sees.
    public func centreCropped(toChunks chunks: Int) -> CaptionCorpus {
        precondition(chunks >= 1)
        let cropped = features.map { track -> Tensor in
            let n = track.shape[0], k = track.shape[1]
            guard n > chunks else { return track }
            let start = (n - chunks) / 2
            return Tensor(shape: [chunks, k], scalars: Array(track.scalars[(start * k)..<((start + chunks) * k)]))
        }
        return CaptionCorpus(trackIds: trackIds, features: cropped, pairs: pairs)
    }
    public var featureDimension: Int { features.first?.shape.last ?? 0 }

    /// Reference captions (tokens) of each track, in track order.
    public var references: [[[String]]] {
        var result = [[[String]]](repeating: [], count: features.count)
        for pair in pairs { result[pair.track].append(pair.tokens) }
        return result
    }

    /// Throws unless every track has at least one chunk of `dimension` finite values.
    public func validate(dimension: Int, name: String) throws {
        for (i, f) in features.enumerated() {
            guard f.rank == 2, f.shape[0] >= 1, f.shape[1] == dimension else {
                throw TrainingError.invalidData("\(name) split: track \(trackIds[i]) has features of shape \(f.shape), expected [chunks ≥ 1, \(dimension)]")
            }
        }
    }
}
