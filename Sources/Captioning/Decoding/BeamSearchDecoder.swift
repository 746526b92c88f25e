import NeuralCore

/// Beam search as the reference's `BeamSearchDecoder` (`muscaps/utils/text_decoder.py`, adapted there
/// from sgrvinod's image-captioning tutorial):
///
/// - at every step the k best continuations over all live beams × vocabulary are kept, scored by the sum
///   of log-probabilities (no length normalisation), where k starts at the beam width;
/// - a kept continuation that is `<eos>` moves to the finished list with its score and k shrinks by one;
/// - decoding stops when k reaches 0 or after `maxLength` steps (22); the best finished hypothesis wins.
///
/// Two deliberate differences:
/// - The reference starts with k identical `<sos>` rows (and only looks at row 0 at t = 0); we start with
///   one row and fan out after the first step: same result, k times less work on the first step.
/// - **If no beam has produced `<eos>` after `maxLength` steps, the reference returns an empty caption.
///   We return the best unfinished hypothesis instead (`finished == false`)**: a caption cut at 22 words
///   is more useful to a listener than nothing, and callers can still tell the two apart.
///
/// The LSTM states are carried (`MusCapsModel.step`) and all beams of a track advance in one step call
/// (one GEMM per layer); reordering beams gathers state rows (`DecoderState.selectRows`). Every buffer is
/// allocated at init: `run` allocates nothing once the state is large enough for the track.
public final class BeamSearchDecoder {
    public let model: MusCapsModel
    public let beamWidth: Int
    public let maxLength: Int
    public private(set) var state: DecoderState
    /// Added to a word's log-probability (`TagConsistency.wordBias`): −∞ bans a word at every step; a
    /// positive bonus counts only until the hypothesis contains one bonus word, so that the search is
    /// drawn to name a supported genre once, not to repeat it. While a bias is set, no word may follow
    /// itself. nil: plain beam search. Must have one entry per vocabulary word.
    public var wordBias: [Float]? {
        didSet { precondition(wordBias.map { $0.count == model.vocabularySize } ?? true, "one bias per vocabulary word") }
    }

    // Live beams (row i of the state), their words so far and scores.
    private let sequences: Int32Buffer, sequenceScratch: Int32Buffer   // [beam, maxLength]
    private let scores: UnsafeMutablePointer<Double>, newScores: UnsafeMutablePointer<Double>  // [beam]
    private let tokens: Int32Buffer, parents: Int32Buffer              // [beam]
    // Whether a live beam already contains a word with a positive `wordBias` (no further bonus).
    private let bonusTaken: UnsafeMutablePointer<Bool>, newBonusTaken: UnsafeMutablePointer<Bool>  // [beam]
    private var live = 0
    private var steps = 0
    // The k best candidates of a step, sorted by score (descending).
    private let candidateScores: UnsafeMutablePointer<Double>
    private let candidateRows: Int32Buffer, candidateTokens: Int32Buffer
    // Finished hypotheses (at most `beamWidth`).
    private let finishedSequences: Int32Buffer                         // [beam, maxLength]
    private let finishedLengths: Int32Buffer
    private let finishedScores: UnsafeMutablePointer<Double>
    private var finishedCount = 0

    public init(model: MusCapsModel, beamWidth: Int, maxLength: Int = DecodingDefaults.maxLength, maxChunks: Int = 128) {
        precondition(beamWidth >= 1 && maxLength >= 1)
        self.model = model
        self.beamWidth = beamWidth
        self.maxLength = maxLength
        state = model.makeDecoderState(maxRows: beamWidth, maxChunks: max(1, maxChunks))
        sequences = Int32Buffer(capacity: beamWidth * maxLength)
        sequenceScratch = Int32Buffer(capacity: beamWidth * maxLength)
        finishedSequences = Int32Buffer(capacity: beamWidth * maxLength)
        finishedLengths = Int32Buffer(capacity: beamWidth)
        tokens = Int32Buffer(capacity: beamWidth)
        parents = Int32Buffer(capacity: beamWidth)
        candidateRows = Int32Buffer(capacity: beamWidth)
        candidateTokens = Int32Buffer(capacity: beamWidth)
        func doubles() -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: beamWidth)
            p.initialize(repeating: 0, count: beamWidth)
            return p
        }
        scores = doubles()
        newScores = doubles()
        bonusTaken = .allocate(capacity: beamWidth)
        bonusTaken.initialize(repeating: false, count: beamWidth)
        newBonusTaken = .allocate(capacity: beamWidth)
        newBonusTaken.initialize(repeating: false, count: beamWidth)
        candidateScores = doubles()
        finishedScores = doubles()
    }

    deinit {
        bonusTaken.deallocate()
        newBonusTaken.deallocate()
        scores.deallocate()
        newScores.deallocate()
        candidateScores.deallocate()
        finishedScores.deallocate()
    }

    public func decode(features: UnsafeBufferPointer<Float>, chunkCount: Int) throws -> DecodedCaption {
        try run(features: features, chunkCount: chunkCount)
        return result
    }

    public func decode(_ features: Tensor) throws -> DecodedCaption {
        try features.scalars.withUnsafeBufferPointer { try decode(features: $0, chunkCount: features.shape[0]) }
    }

    public func decode(_ tracks: [Tensor]) throws -> [DecodedCaption] { try tracks.map { try decode($0) } }

    /// Runs the search on one track (`features` `[chunkCount, k]`); read the outcome with `result`.
    public func run(features: UnsafeBufferPointer<Float>, chunkCount: Int) throws {
        if chunkCount > state.maxChunks {
            state = model.makeDecoderState(maxRows: beamWidth, maxChunks: chunkCount)
        }
        try model.start(state, features: features, chunkCount: chunkCount, rows: 1)
        let v = model.vocabularySize, eos = Int32(Vocabulary.endIndex)
        live = 1
        steps = 0
        finishedCount = 0
        scores[0] = 0
        bonusTaken[0] = false
        tokens.pointer[0] = Int32(Vocabulary.startIndex)
        var k = min(beamWidth, v)
        let bias = wordBias

        for t in 0..<maxLength {
            let logits = model.step(tokens: UnsafePointer(tokens.pointer), state: state)
            steps = t + 1
            // The k best (beam, word) continuations.
            var count = 0
            for r in 0..<live {
                let z = logits + r * v
                let base = scores[r] - Double(logSumExp(z, count: v))
                for j in 0..<v {
                    var s = base + Double(z[j])
                    if let bias {
                        // Steered search: banned words, and no word right after itself (a banned word
                        // can leave its lead-in word, "central" of "central european", looping).
                        if bias[j] == -.infinity || (t > 0 && Int32(j) == tokens.pointer[r]) { continue }
                        if bias[j] < 0 || !bonusTaken[r] { s += Double(bias[j]) }
                    }
                    if count == k && s <= candidateScores[k - 1] { continue }
                    var i = count == k ? k - 1 : count
                    while i > 0 && candidateScores[i - 1] < s {
                        candidateScores[i] = candidateScores[i - 1]
                        candidateRows.pointer[i] = candidateRows.pointer[i - 1]
                        candidateTokens.pointer[i] = candidateTokens.pointer[i - 1]
                        i -= 1
                    }
                    candidateScores[i] = s
                    candidateRows.pointer[i] = Int32(r)
                    candidateTokens.pointer[i] = Int32(j)
                    if count < k { count += 1 }
                }
            }
            // <eos> continuations finish; the others become the next step's beams.
            var next = 0
            for c in 0..<count {
                let row = Int(candidateRows.pointer[c]), token = candidateTokens.pointer[c]
                let source = sequences.pointer + row * maxLength
                if token == eos {
                    (finishedSequences.pointer + finishedCount * maxLength).update(from: source, count: t)
                    finishedLengths.pointer[finishedCount] = Int32(t)
                    finishedScores[finishedCount] = candidateScores[c]
                    finishedCount += 1
                    k -= 1
                } else {
                    let target = sequenceScratch.pointer + next * maxLength
                    target.update(from: source, count: t)
                    target[t] = token
                    parents.pointer[next] = Int32(row)
                    newBonusTaken[next] = bonusTaken[row] || (bias.map { $0[Int(token)] > 0 } ?? false)
                    tokens.pointer[next] = token
                    newScores[next] = candidateScores[c]
                    next += 1
                }
            }
            if k == 0 || next == 0 { live = 0; break }
            sequences.pointer.update(from: sequenceScratch.pointer, count: next * maxLength)
            scores.update(from: newScores, count: next)
            bonusTaken.update(from: newBonusTaken, count: next)
            state.selectRows(UnsafeBufferPointer(start: parents.pointer, count: next))
            live = next
        }
    }

    /// Whether the last `run` ended with at least one finished hypothesis.
    public var foundFinished: Bool { finishedCount > 0 }

    /// The outcome of the last `run`: the best finished hypothesis, or (none finished within
    /// `maxLength`) the best live one, cut at `maxLength` words.
    public var result: DecodedCaption {
        if finishedCount > 0 {
            var best = 0
            for i in 1..<finishedCount where finishedScores[i] > finishedScores[best] { best = i }
            let words = UnsafeBufferPointer(start: finishedSequences.pointer + best * maxLength, count: Int(finishedLengths.pointer[best]))
            return DecodedCaption(tokenIds: words.map(Int.init), logProbability: finishedScores[best], finished: true)
        }
        guard live > 0 else { return DecodedCaption(tokenIds: [], logProbability: -.infinity, finished: false) }
        // Live beams are sorted by score: row 0 is the best.
        let words = UnsafeBufferPointer(start: sequences.pointer, count: steps)
        return DecodedCaption(tokenIds: words.map(Int.init), logProbability: scores[0], finished: false)
    }
}
