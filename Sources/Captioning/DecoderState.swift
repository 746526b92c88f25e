import NeuralCore

/// The recurrent state of up to `maxRows` captions being decoded together (greedy over a batch of tracks,
/// or the beams of one track), with every buffer a decoding step needs, allocated once.
///
/// Rows share per-track context ("sources": the audio embedding, its gate contributions and, for the
/// attention variant, the projected chunk features), so beams of one track cost one track's context.
/// Create with `MusCapsModel.makeDecoderState(maxRows:maxChunks:)`, fill with `start`, advance with
/// `step`, reorder/prune beams with `selectRows`.
public final class DecoderState {
    public let maxRows: Int
    public let maxChunks: Int
    /// Rows currently being decoded.
    public internal(set) var rows = 0
    /// Tracks currently loaded.
    public internal(set) var sources = 0
    /// Steps taken since `start`.
    public internal(set) var stepCount = 0
    let vocabularySize: Int
    let hiddenSize: Int
    let encoderWidth: Int
    let configuration: CaptioningConfiguration
    var weightsVersion = -1
    /// The model that last started this state (a state holds that model's per-track context).
    var owner: ObjectIdentifier?

    // Per row.
    let encoderInput: FloatBuffer    // [rows, encoderWidth]: [w_t | h_dec (attention) | h_enc]
    let decoderInput: FloatBuffer    // [rows, 2H]: [h_enc | h_dec]
    let encoderCell: FloatBuffer     // [rows, H]
    let decoderCell: FloatBuffer     // [rows, H]
    let gates: FloatBuffer           // [rows, 4H]
    let hidden: FloatBuffer          // [rows, H] scratch
    let tanhCell: FloatBuffer        // [rows, H] scratch
    let logitBuffer: FloatBuffer     // [rows, V]
    let rowSource: Int32Buffer       // [rows]
    let query: FloatBuffer           // [rows, A]
    let beta: FloatBuffer            // [rows, maxChunks]
    let attentionTanh: FloatBuffer   // [maxChunks, A]
    let reorderScratch: FloatBuffer  // [rows, max width]
    let reorderSources: Int32Buffer  // [rows]

    // Per source (track).
    let pooled: FloatBuffer          // [sources, k]
    let audio: FloatBuffer           // [sources, H]
    let encoderConstant: FloatBuffer // [sources, 4H]  W_ih[:, audio columns]·a (early, attention)
    let decoderConstant: FloatBuffer // [sources, 4H]  W_ih[:, audio columns]·a (late)
    let chunkCounts: Int32Buffer     // [sources]
    let projected: FloatBuffer       // [sources, maxChunks, A]
    let chunkGates: FloatBuffer      // [sources, maxChunks, 4H]

    init(model: MusCapsModel, maxRows: Int, maxChunks: Int) {
        precondition(maxRows >= 1 && maxChunks >= 1)
        let c = model.configuration
        let k = c.audioFeatureSize, d = c.wordEmbeddingSize, h = c.encoderHiddenSize, g4 = 4 * h
        let v = model.vocabularySize, att = c.variant == .attention ? c.attentionSize : 0
        self.maxRows = maxRows
        self.maxChunks = maxChunks
        configuration = c
        vocabularySize = v
        hiddenSize = h
        encoderWidth = d + (c.variant == .attention ? 2 * h : h)
        encoderInput = FloatBuffer(capacity: maxRows * encoderWidth)
        decoderInput = FloatBuffer(capacity: maxRows * 2 * h)
        encoderCell = FloatBuffer(capacity: maxRows * h)
        decoderCell = FloatBuffer(capacity: maxRows * h)
        gates = FloatBuffer(capacity: maxRows * g4)
        hidden = FloatBuffer(capacity: maxRows * h)
        tanhCell = FloatBuffer(capacity: maxRows * h)
        logitBuffer = FloatBuffer(capacity: maxRows * v)
        rowSource = Int32Buffer(capacity: maxRows)
        query = FloatBuffer(capacity: maxRows * att)
        beta = FloatBuffer(capacity: maxRows * maxChunks)
        attentionTanh = FloatBuffer(capacity: maxChunks * att)
        reorderScratch = FloatBuffer(capacity: maxRows * max(encoderWidth, 2 * h))
        reorderSources = Int32Buffer(capacity: maxRows)
        pooled = FloatBuffer(capacity: maxRows * k)
        audio = FloatBuffer(capacity: maxRows * h)
        encoderConstant = FloatBuffer(capacity: maxRows * g4)
        decoderConstant = FloatBuffer(capacity: maxRows * g4)
        chunkCounts = Int32Buffer(capacity: maxRows)
        projected = FloatBuffer(capacity: c.variant == .attention ? maxRows * maxChunks * att : 1)
        chunkGates = FloatBuffer(capacity: c.variant == .attention ? maxRows * maxChunks * g4 : 1)
    }

    /// The logits of the last step, `[rows, vocabularySize]` row-major (valid until the next step).
    public var logits: UnsafePointer<Float> { UnsafePointer(logitBuffer.pointer) }

    /// The logits of one row of the last step.
    public func logits(row: Int) -> UnsafeBufferPointer<Float> {
        precondition(row >= 0 && row < rows)
        return UnsafeBufferPointer(start: logitBuffer.pointer + row * vocabularySize, count: vocabularySize)
    }

    /// The track (source index given to `start`) that row `row` decodes.
    public func source(ofRow row: Int) -> Int { Int(rowSource.pointer[row]) }

    /// Keeps the rows `parents` (in that order; repeats allowed): new row i continues old row `parents[i]`.
    /// The row count becomes `parents.count` (≤ maxRows). For beam search: after choosing the next beams,
    /// select their parents, then feed the chosen tokens to the next `step`. Allocation-free.
    public func selectRows(_ parents: UnsafeBufferPointer<Int32>) {
        let newRows = parents.count
        precondition(newRows >= 1 && newRows <= maxRows, "selectRows: \(newRows) rows, capacity \(maxRows)")
        // Index loops only: iterators and local closures allocate in unoptimised builds.
        for i in 0..<newRows { precondition(parents[i] >= 0 && Int(parents[i]) < rows, "selectRows: parent \(parents[i]) outside \(rows) rows") }
        gather(encoderInput, width: encoderWidth, parents: parents)
        gather(decoderInput, width: 2 * hiddenSize, parents: parents)
        gather(encoderCell, width: hiddenSize, parents: parents)
        gather(decoderCell, width: hiddenSize, parents: parents)
        for i in 0..<newRows { reorderSources.pointer[i] = rowSource.pointer[Int(parents[i])] }
        rowSource.pointer.update(from: reorderSources.pointer, count: newRows)
        rows = newRows
    }

    private func gather(_ buffer: FloatBuffer, width: Int, parents: UnsafeBufferPointer<Int32>) {
        let scratch = reorderScratch.pointer
        for i in 0..<parents.count { (scratch + i * width).update(from: buffer.pointer + Int(parents[i]) * width, count: width) }
        buffer.pointer.update(from: scratch, count: parents.count * width)
    }

    public func selectRows(_ parents: [Int32]) {
        parents.withUnsafeBufferPointer { selectRows($0) }
    }
}
