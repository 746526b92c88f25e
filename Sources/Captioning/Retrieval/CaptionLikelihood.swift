import NeuralCore

/// Text-to-music retrieval as the paper does it (§IV-C3): each candidate track is scored by
/// log P(query | audio) = Σ_t log P(w_t | w_<t, audio) under teacher forcing (eq. 8), the sum running over
/// the query's words and the final `<eos>` (the probability of generating exactly this caption), and
/// tracks are ranked by it.
///
/// Tracks are scored in batches: each row of one `DecoderState` is a track, and the query's tokens are fed
/// to all rows at once, so a step is one GEMM per layer over the batch. Uses the inference path
/// (BatchNorm folded, no dropout), like decoding.
public final class CaptionLikelihoodScorer {
    public let model: MusCapsModel
    public let batchSize: Int
    private var state: DecoderState
    private let tokens: Int32Buffer

    public init(model: MusCapsModel, batchSize: Int = 64, maxChunks: Int = 128) {
        precondition(batchSize >= 1)
        self.model = model
        self.batchSize = batchSize
        state = model.makeDecoderState(maxRows: batchSize, maxChunks: max(1, maxChunks))
        tokens = Int32Buffer(capacity: batchSize)
    }

    /// log P(query | track) for every track. `query` holds word ids without `<sos>`/`<eos>`.
    public func logLikelihoods(of query: [Int], tracks: [Tensor]) throws -> [Double] {
        try logLikelihoods(of: [query], tracks: tracks)[0]
    }

    /// log P(query_q | track_i) for several queries: `[queries][tracks]`.
    ///
    /// Rows of the state are (track, query) pairs: a batch holds `rows / Q'` tracks × Q' queries
    /// (Q' = min(queries, rows)), so each track's context (its audio embedding and, for attention, its
    /// projected chunks) is computed once per Q' queries, and every step is one GEMM over all rows.
    public func logLikelihoods(of queries: [[Int]], tracks: [Tensor]) throws -> [[Double]] {
        let v = model.vocabularySize
        for query in queries {
            if let bad = query.first(where: { $0 < 0 || $0 >= v }) {
                throw CaptioningError.invalidBatch("query token id \(bad) outside the vocabulary of \(v)")
            }
        }
        var result = [[Double]](repeating: [Double](repeating: 0, count: tracks.count), count: queries.count)
        guard !queries.isEmpty, !tracks.isEmpty else { return result }
        let pooled = model.configuration.variant.usesPooledFeaturesOnly
        let queriesPerBatch = min(queries.count, batchSize)
        let tracksPerBatch = max(1, batchSize / queriesPerBatch)
        var trackStart = 0
        while trackStart < tracks.count {
            let trackEnd = min(trackStart + tracksPerBatch, tracks.count), n = trackEnd - trackStart
            let packed = PackedFeatures(tracks: tracks[trackStart..<trackEnd], dimension: model.configuration.audioFeatureSize, pooled: pooled)
            if packed.stride > state.maxChunks { state = model.makeDecoderState(maxRows: batchSize, maxChunks: packed.stride) }
            var queryStart = 0
            while queryStart < queries.count {
                let queryEnd = min(queryStart + queriesPerBatch, queries.count), m = queryEnd - queryStart
                try packed.values.withUnsafeBufferPointer { f in
                    try packed.counts.withUnsafeBufferPointer { c in
                        try model.start(state, features: f, sources: n, chunkStride: packed.stride, chunkCounts: c, rowsPerSource: m)
                    }
                }
                // Row r = track r / m, query queryStart + r % m. Feed <sos> w1 … wn; score w1 … wn <eos>.
                let longest = queries[queryStart..<queryEnd].map(\.count).max() ?? 0
                for position in 0...longest {
                    for r in 0..<(n * m) {
                        let query = queries[queryStart + r % m]
                        tokens.pointer[r] = Int32(position == 0 ? Vocabulary.startIndex
                                                  : position <= query.count ? query[position - 1] : Vocabulary.endIndex)
                    }
                    let logits = model.step(tokens: UnsafePointer(tokens.pointer), state: state)
                    for r in 0..<(n * m) {
                        let q = queryStart + r % m, query = queries[q]
                        guard position <= query.count else { continue }
                        let target = position < query.count ? query[position] : Vocabulary.endIndex
                        let z = logits + r * v
                        result[q][trackStart + r / m] += Double(z[target] - logSumExp(z, count: v))
                    }
                }
                queryStart = queryEnd
            }
            trackStart = trackEnd
        }
        return result
    }
}

/// Ranks and retrieval metrics.
public enum Retrieval {
    /// Track indices by decreasing score (ties: lower index first).
    public static func ranking(_ scores: [Double]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }

    /// 1-based rank of `target` among `scores` (ties are resolved in the target's disfavour: a tied track
    /// ranks ahead of it), so a constant scorer cannot look good.
    public static func rank(of target: Int, scores: [Double]) -> Int {
        let s = scores[target]
        var rank = 1
        for (i, other) in scores.enumerated() where i != target && other >= s { rank += 1 }
        return rank
    }
}

extension Retrieval {
    /// For each query pair of `corpus` (its caption as the query), the rank of its own track among all the
    /// corpus's tracks by log P(caption | track). `progress(done, total)` after each group of queries.
    public static func ranks(model: MusCapsModel, vocabulary: Vocabulary, corpus: CaptionCorpus, queryPairs: [Int],
                             batchSize: Int = 64, progress: (Int, Int) -> Void = { _, _ in }) throws -> [Int] {
        let scorer = CaptionLikelihoodScorer(model: model, batchSize: batchSize)
        var ranks: [Int] = []
        ranks.reserveCapacity(queryPairs.count)
        var start = 0
        while start < queryPairs.count {
            let group = Array(queryPairs[start..<min(start + batchSize, queryPairs.count)])
            let queries = group.map { corpus.pairs[$0].tokens.map(vocabulary.index(of:)) }
            let scores = try scorer.logLikelihoods(of: queries, tracks: corpus.features)
            for (q, pair) in group.enumerated() { ranks.append(rank(of: corpus.pairs[pair].track, scores: scores[q])) }
            start += group.count
            progress(start, queryPairs.count)
        }
        return ranks
    }
}
