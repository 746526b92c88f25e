/// How to train. Defaults are the paper's (§IV-B): Adam, learning rate 1e-4 reduced linearly, at most
/// 200 epochs, batch 16, early stopping with patience 10; gradient-norm clipping at 12 as the reference
/// trainer (`clip_grad_norm_(…, 12)`).
public struct TrainingOptions: Codable, Sendable, Equatable {
    public enum Schedule: String, Codable, Sendable, CaseIterable {
        /// lr_e = lr₀ · (1 − e / maxEpochs) for epoch e = 0, 1, … (the paper: "linearly reduce the
        /// learning rate from an initial value of 10⁻⁴"; it reaches 0 where training would end).
        case linear
        /// The reference code's `ReduceLROnPlateau(mode='min', factor=0.5, patience=…)` on the
        /// validation loss (threshold 1e-4 relative, as PyTorch's default).
        case plateau
        /// A constant learning rate.
        case constant
    }

    public var maxEpochs = 200
    public var batchSize = 16
    public var learningRate: Float = 1e-4
    public var schedule = Schedule.linear
    /// ReduceLROnPlateau: factor and patience (the reference config's `patience: 5`).
    public var plateauFactor: Float = 0.5
    public var plateauPatience = 5
    /// Stop after this many epochs without a lower validation loss (0: never stop early).
    public var earlyStoppingPatience = 10
    /// Maximum global gradient 2-norm (nil: no clipping).
    public var clipNorm: Float? = 12
    /// Seeds the weight initialisation, the shuffling and the dropout masks: the same seed and data give
    /// the same loss curve, and a resumed run continues exactly as an uninterrupted one.
    public var seed: UInt64 = 0
    /// Greedy-decode the validation set and score CIDEr-D every this many epochs (0: never).
    public var ciderEvery = 1
    /// Batch size for the validation loss and decoding (no BatchNorm constraint there).
    public var evaluationBatchSize = 64
    /// Train on a random contiguous crop of each track of at least this many chunks (uniform length
    /// from this to the whole track, uniform position), drawn anew every epoch; nil: whole tracks, as
    /// the paper's main runs. The paper's "shorter, randomly selected chunks" (§V-B2); it teaches a
    /// model to caption the few windows a live context holds (10 s = 3 chunks) as well as whole tracks.
    public var randomCropMinChunks: Int?

    public init() {}

    /// Throws `TrainingError.invalidOptions` naming the first problem.
    public func validate() throws {
        func fail(_ reason: String) throws -> Never { throw TrainingError.invalidOptions(reason) }
        if maxEpochs < 1 { try fail("the number of epochs must be at least 1 (got \(maxEpochs))") }
        if batchSize < 2 { try fail("the batch size must be at least 2: BatchNorm needs two rows per batch (got \(batchSize))") }
        if !(learningRate > 0) || !learningRate.isFinite { try fail("the learning rate must be positive (got \(learningRate))") }
        if !(plateauFactor > 0 && plateauFactor < 1) { try fail("the plateau factor must be in (0, 1) (got \(plateauFactor))") }
        if plateauPatience < 0 || earlyStoppingPatience < 0 { try fail("patience must not be negative") }
        if let clipNorm, !(clipNorm > 0) { try fail("the clipping norm must be positive (got \(clipNorm))") }
        if ciderEvery < 0 { try fail("--cider-every must not be negative") }
        if evaluationBatchSize < 1 { try fail("the evaluation batch size must be positive") }
        if let randomCropMinChunks, randomCropMinChunks < 1 { try fail("the random crop must keep at least 1 chunk (got \(randomCropMinChunks))") }
    }
}

/// Errors of training, each one line.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOptions(String)
    case invalidData(String)
    case tooSmall(String)
    case diverged(epoch: Int, batch: Int, what: String, kept: String)
    case checkpoint(path: String, reason: String)
    case alreadyFinished(String)

    public var description: String {
        switch self {
        case let .invalidOptions(reason): return "invalid training options: \(reason)"
        case let .invalidData(reason): return reason
        case let .tooSmall(reason): return reason
        case let .diverged(epoch, batch, what, kept):
            return "training diverged: \(what) at epoch \(epoch), batch \(batch); stopped without applying that step (try a lower learning rate, or check the features). \(kept)"
        case let .checkpoint(path, reason): return "\(path): \(reason)"
        case let .alreadyFinished(reason): return reason
        }
    }
}
