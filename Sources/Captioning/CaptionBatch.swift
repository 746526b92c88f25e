/// One training (or validation) batch, batch-first, as the reference's `custom_collate_fn` produces it
/// after feature extraction.
///
/// - `features` `[batchSize, maxChunks, audioFeatureSize]`: the musicnn feature of each 3 s chunk; row b
///   uses its first `chunkCounts[b]` chunks (the rest is padding and is never read by the maths).
/// - `tokens` `[batchSize, captionLength]`: `<sos> w1 … wn <eos>` padded with `<pad>`. The model is fed
///   tokens 0 … T−2 and predicts tokens 1 … T−1 (teacher forcing), so there are T−1 output steps.
///
/// The arrays can be refilled in place for every batch (keep their capacity), which keeps the training
/// loop free of allocations.
public struct CaptionBatch: Sendable {
    public var batchSize: Int
    public var maxChunks: Int
    public var features: [Float]
    public var chunkCounts: [Int32]
    public var captionLength: Int
    public var tokens: [Int32]

    public init(batchSize: Int, maxChunks: Int, features: [Float], chunkCounts: [Int32], captionLength: Int, tokens: [Int32]) {
        self.batchSize = batchSize
        self.maxChunks = maxChunks
        self.features = features
        self.chunkCounts = chunkCounts
        self.captionLength = captionLength
        self.tokens = tokens
    }

    /// Output steps: captionLength − 1.
    public var steps: Int { captionLength - 1 }
}
