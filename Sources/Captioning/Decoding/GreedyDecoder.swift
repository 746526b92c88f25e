import NeuralCore

/// Greedy decoding (the reference's `GreedyDecoder` in `muscaps/utils/text_decoder.py`): start from
/// `<sos>`, take the most probable word at every step, stop at `<eos>` or after `maxLength` steps.
///
/// Unlike the reference, which re-runs the model over the whole prefix at every step, the LSTM states are
/// carried (`MusCapsModel.step`), and several tracks can be decoded together, one row each, so every step
/// is one GEMM per layer. Every buffer is allocated at init (or when a longer track arrives): `run`
/// allocates nothing; `decode` allocates only the returned captions.
///
/// Not thread-safe; one decoder per thread (it owns a `DecoderState`).
public final class GreedyDecoder {
    public let model: MusCapsModel
    public let maxLength: Int
    public let maxTracks: Int
    public private(set) var state: DecoderState

    private let tokens: Int32Buffer        // [maxTracks] next input token per row
    private let output: Int32Buffer        // [maxTracks, maxLength] generated ids
    private let lengths: Int32Buffer       // [maxTracks] generated words (without <eos>)
    private let done: Int32Buffer          // [maxTracks] 1 once <eos> was generated
    private let scores: UnsafeMutablePointer<Double>  // [maxTracks]
    private var rows = 0

    /// - Parameters:
    ///   - maxTracks: tracks decoded together by one `run` call.
    ///   - maxChunks: chunks per track the state holds at first (grows on demand).
    public init(model: MusCapsModel, maxLength: Int = DecodingDefaults.maxLength, maxTracks: Int = 1, maxChunks: Int = 128) {
        precondition(maxLength >= 1 && maxTracks >= 1)
        self.model = model
        self.maxLength = maxLength
        self.maxTracks = maxTracks
        state = model.makeDecoderState(maxRows: maxTracks, maxChunks: max(1, maxChunks))
        tokens = Int32Buffer(capacity: maxTracks)
        output = Int32Buffer(capacity: maxTracks * maxLength)
        lengths = Int32Buffer(capacity: maxTracks)
        done = Int32Buffer(capacity: maxTracks)
        scores = .allocate(capacity: maxTracks)
        scores.initialize(repeating: 0, count: maxTracks)
    }

    deinit { scores.deallocate() }

    /// Decodes one track, features `[chunkCount, k]` row-major.
    public func decode(features: UnsafeBufferPointer<Float>, chunkCount: Int) throws -> DecodedCaption {
        var count = Int32(chunkCount)
        try withUnsafePointer(to: &count) { counts in
            try run(features: features, tracks: 1, chunkStride: chunkCount, chunkCounts: UnsafeBufferPointer(start: counts, count: 1))
        }
        return result(0)
    }

    public func decode(_ features: Tensor) throws -> DecodedCaption {
        try features.scalars.withUnsafeBufferPointer { try decode(features: $0, chunkCount: features.shape[0]) }
    }

    /// Decodes many tracks, `maxTracks` at a time.
    public func decode(_ tracks: [Tensor]) throws -> [DecodedCaption] {
        var results: [DecodedCaption] = []
        results.reserveCapacity(tracks.count)
        let pooled = model.configuration.variant.usesPooledFeaturesOnly
        var start = 0
        while start < tracks.count {
            let end = min(start + maxTracks, tracks.count)
            let packed = PackedFeatures(tracks: tracks[start..<end], dimension: model.configuration.audioFeatureSize, pooled: pooled)
            try packed.values.withUnsafeBufferPointer { f in
                try packed.counts.withUnsafeBufferPointer { c in
                    try run(features: f, tracks: end - start, chunkStride: packed.stride, chunkCounts: c)
                }
            }
            for i in 0..<(end - start) { results.append(result(i)) }
            start = end
        }
        return results
    }

    /// Decodes `tracks` tracks (`features` `[tracks, chunkStride, k]`, track i using its first
    /// `chunkCounts[i]` chunks); read the captions with `result(_:)` or `generated(_:)`. Allocates nothing
    /// once the state is large enough.
    public func run(features: UnsafeBufferPointer<Float>, tracks: Int, chunkStride: Int, chunkCounts: UnsafeBufferPointer<Int32>) throws {
        guard tracks >= 1 && tracks <= maxTracks else {
            throw CaptioningError.invalidBatch("\(tracks) tracks for a greedy decoder of \(maxTracks)")
        }
        if chunkStride > state.maxChunks {
            state = model.makeDecoderState(maxRows: maxTracks, maxChunks: chunkStride)
        }
        try model.start(state, features: features, sources: tracks, chunkStride: chunkStride, chunkCounts: chunkCounts, rowsPerSource: 1)
        rows = tracks
        let v = model.vocabularySize, end = Int32(Vocabulary.endIndex)
        for r in 0..<rows {
            tokens.pointer[r] = Int32(Vocabulary.startIndex)
            lengths.pointer[r] = 0
            done.pointer[r] = 0
            scores[r] = 0
        }
        var active = rows
        for t in 0..<maxLength where active > 0 {
            let logits = model.step(tokens: UnsafePointer(tokens.pointer), state: state)
            for r in 0..<rows where done.pointer[r] == 0 {
                let z = logits + r * v
                var best = 0
                for j in 1..<v where z[j] > z[best] { best = j }
                scores[r] += Double(z[best] - logSumExp(z, count: v))
                let id = Int32(best)
                output.pointer[r * maxLength + t] = id
                tokens.pointer[r] = id
                if id == end {
                    done.pointer[r] = 1
                    active -= 1
                } else {
                    lengths.pointer[r] += 1
                }
            }
        }
    }

    /// Rows of the last `run`.
    public var trackCount: Int { rows }

    /// The generated word ids of row `row` of the last `run` (valid until the next run).
    public func generated(_ row: Int) -> UnsafeBufferPointer<Int32> {
        precondition(row >= 0 && row < rows)
        return UnsafeBufferPointer(start: output.pointer + row * maxLength, count: Int(lengths.pointer[row]))
    }

    public func logProbability(_ row: Int) -> Double { scores[row] }
    public func finished(_ row: Int) -> Bool { done.pointer[row] != 0 }

    public func result(_ row: Int) -> DecodedCaption {
        DecodedCaption(tokenIds: generated(row).map(Int.init), logProbability: scores[row], finished: finished(row))
    }
}
