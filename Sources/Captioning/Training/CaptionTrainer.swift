import Foundation
import MusicTagging
import NeuralCore
import ThreadSupport

/// One epoch's numbers, as logged (CSV, plot, checkpoint).
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 1-based.
    public var epoch: Int
    /// Mean of the batch losses of the epoch (what the optimiser saw; dropout on).
    public var trainLoss: Double
    /// Cross-entropy over every non-`<pad>` target of the validation split (evaluation mode).
    public var validationLoss: Double
    /// CIDEr-D of greedy captions of the validation tracks, when computed.
    public var validationCIDEr: Double?
    public var learningRate: Double
    public var seconds: Double
    /// Whether this epoch set a new best validation loss (and so wrote `best.safetensors`).
    public var improved: Bool
}

/// What a checkpoint remembers so that `--resume` continues exactly where training stopped.
public struct TrainingState: Codable, Sendable, Equatable {
    public var options: TrainingOptions
    public var completedEpochs = 0
    public var bestEpoch = 0
    public var bestValidationLoss: Double?
    public var epochsWithoutImprovement = 0
    /// The learning rate for the next epoch under the plateau schedule.
    public var learningRate: Float
    public var plateauBest: Double?
    public var plateauBadEpochs = 0
    /// Why training ended (nil while it can go on).
    public var stopReason: String?
    /// Written into both `last.safetensors` and `last.optimizer.safetensors`: they must agree.
    public var checkpointId = ""
    public var history: [EpochRecord] = []

    public init(options: TrainingOptions) {
        self.options = options
        learningRate = options.learningRate
    }
}

/// Progress inside an epoch, for progress bars.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var maxEpochs: Int
    public var batch: Int
    public var batches: Int
    /// Mean loss of the epoch's batches so far.
    public var meanLoss: Double
}

/// The training loop (paper §IV-B; reference `muscaps/trainers/muscaps_trainer.py`): teacher forcing,
/// cross-entropy ignoring `<pad>`, Adam, batches of 16 that drop the remainder (BatchNorm needs full
/// batches), gradient-norm clipping, a learning-rate schedule, early stopping on the validation loss that
/// keeps the best checkpoint, and exact resumption.
///
/// Files in `directory` (all rewritten after every epoch):
///
/// | file | content |
/// |---|---|
/// | `best.safetensors` | the model with the lowest validation loss so far (a `CaptioningModelBundle`) |
/// | `last.safetensors` | the model after the last epoch, with the training state in its metadata |
/// | `last.optimizer.safetensors` | Adam's moments and step count for `last.safetensors` |
/// | `training_log.csv` | epoch, train_loss, val_loss, val_cider_d, lr, seconds |
/// | `learning_curve.svg` | losses and CIDEr-D per epoch |
///
/// Determinism: the model is initialised from the seed; each epoch shuffles with, and draws its dropout
/// masks from, generators seeded by (seed, epoch). So the same seed and data give the same loss curve, and
/// a run resumed from `last.safetensors` continues bit for bit as an uninterrupted one.
public final class CaptionTrainer {
    public static let bestFile = "best.safetensors"
    public static let lastFile = "last.safetensors"
    public static let optimizerFile = "last.optimizer.safetensors"
    public static let logFile = "training_log.csv"
    public static let plotFile = "learning_curve.svg"

    public let model: MusCapsModel
    public let vocabulary: Vocabulary
    public let extractor: String
    public let optimizer: Adam
    /// Where checkpoints and logs go (nil: keep nothing on disk).
    public let directory: URL?
    public private(set) var state: TrainingState
    public var options: TrainingOptions { state.options }

    /// Scores validation captions (candidates, references per candidate; lower-case words joined by
    /// spaces) — CIDEr-D from CaptionMetrics in the CLI. Without one, no CIDEr-D is logged.
    public var validationScorer: ((_ candidates: [String], _ references: [[String]]) -> Double)?
    public var onBatch: ((BatchProgress) -> Void)?
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Extra facts recorded in the checkpoints' `provenance` metadata (e.g. the dataset path).
    public var provenance: [String: String] = [:]

    private var greedy: GreedyDecoder?

    /// A fresh run. `model` is as initialised (`MusCapsModel(configuration:vocabularySize:seed:)`, with
    /// pretrained word vectors loaded if any).
    public init(model: MusCapsModel, vocabulary: Vocabulary, extractor: String, options: TrainingOptions, directory: URL?) throws {
        try options.validate()
        guard vocabulary.count == model.vocabularySize else {
            throw TrainingError.invalidData("the vocabulary has \(vocabulary.count) words but the model predicts \(model.vocabularySize)")
        }
        self.model = model
        self.vocabulary = vocabulary
        self.extractor = extractor
        self.directory = directory
        state = TrainingState(options: options)
        optimizer = Adam(parameters: model.parameters, learningRate: options.learningRate)
    }

    private init(bundle: CaptioningModelBundle, state: TrainingState, directory: URL) {
        model = bundle.model
        vocabulary = bundle.vocabulary
        extractor = bundle.extractor
        self.directory = directory
        self.state = state
        optimizer = Adam(parameters: bundle.model.parameters, learningRate: state.options.learningRate)
        if let json = bundle.metadata[CaptioningModelBundle.provenanceKey],
           let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] {
            provenance = object.filter { !Self.ownProvenanceKeys.contains($0.key) }
        }
    }

    /// Continues the run whose checkpoints are in `directory` (from `last.safetensors` and its optimizer
    /// state). A missing, corrupt or mismatched checkpoint is a one-line error naming the file.
    public static func resume(directory: URL) throws -> CaptionTrainer {
        let url = directory.appendingPathComponent(lastFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.checkpoint(path: url.path, reason: "no checkpoint to resume from (the file does not exist)")
        }
        let bundle = try CaptioningModelBundle.load(url)
        guard let json = bundle.metadata[CaptioningModelBundle.trainingStateKey] else {
            throw TrainingError.checkpoint(path: url.path, reason: "no training state in the metadata: a model, not a resumable checkpoint")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) } catch {
            throw TrainingError.checkpoint(path: url.path, reason: "training state metadata is malformed: \(error)")
        }
        let trainer = CaptionTrainer(bundle: bundle, state: state, directory: directory)
        let optimizerURL = directory.appendingPathComponent(optimizerFile)
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: optimizerURL) } catch {
            throw TrainingError.checkpoint(path: optimizerURL.path, reason: "optimizer state for \(lastFile) cannot be read: \(error)")
        }
        guard file.metadata["checkpoint_id"] == state.checkpointId else {
            throw TrainingError.checkpoint(path: optimizerURL.path, reason: "optimizer state belongs to another checkpoint than \(lastFile) (interrupted while saving?)")
        }
        var tensors: [String: Tensor] = [:]
        for name in file.tensorNames { tensors[name] = try file.finiteTensor(name) }
        for p in trainer.optimizer.parameters where tensors["\(p.name).exp_avg"] == nil {
            throw TrainingError.checkpoint(path: optimizerURL.path, reason: "no optimizer state for parameter '\(p.name)'")
        }
        trainer.optimizer.loadState(tensors)
        return trainer
    }

    // MARK: Training

    /// Trains until the maximum number of epochs or early stopping — or, with `epochs`, for at most that
    /// many more epochs (training can continue with another call or `resume`). Returns the state.
    @discardableResult
    public func train(training: CaptionCorpus, validation: CaptionCorpus, epochs: Int? = nil) throws -> TrainingState {
        try options.validate()
        let k = model.configuration.audioFeatureSize
        try training.validate(dimension: k, name: "training")
        try validation.validate(dimension: k, name: "validation")
        guard training.pairs.count >= options.batchSize else {
            throw TrainingError.tooSmall("the training split has \(training.pairs.count) caption pair\(training.pairs.count == 1 ? "" : "s"), fewer than one batch of \(options.batchSize) (incomplete batches are dropped for BatchNorm); use a smaller --batch-size or more data")
        }
        guard !validation.pairs.isEmpty else {
            throw TrainingError.tooSmall("the validation split has no caption pairs; early stopping and checkpoint selection need some")
        }
        let trainData = EncodedCorpus(training, vocabulary: vocabulary, pooled: model.configuration.variant.usesPooledFeaturesOnly,
                                      randomCropMinChunks: options.randomCropMinChunks)
        let validationData = EncodedCorpus(validation, vocabulary: vocabulary, pooled: model.configuration.variant.usesPooledFeaturesOnly)
        var epochsRun = 0
        while state.stopReason == nil && state.completedEpochs < options.maxEpochs && epochsRun < (epochs ?? Int.max) {
            try runEpoch(trainData, validationData, validation)
            epochsRun += 1
        }
        return state
    }

    /// The learning rate of 0-based epoch `epoch`.
    public func learningRate(epoch: Int) -> Float {
        switch options.schedule {
        case .constant: return options.learningRate
        case .plateau: return state.learningRate
        case .linear: return options.learningRate * (1 - Float(epoch) / Float(options.maxEpochs))
        }
    }

    private func runEpoch(_ train: EncodedCorpus, _ validation: EncodedCorpus, _ validationCorpus: CaptionCorpus) throws {
        let started = Monotonic.now()
        let epoch = state.completedEpochs, b = options.batchSize
        let lr = learningRate(epoch: epoch)
        optimizer.learningRate = lr

        // Shuffle (Fisher–Yates with our own generator, so the order never depends on the standard library).
        var shuffle = SeededGenerator(seed: Self.mix(options.seed, epoch, 1))
        var order = Array(0..<train.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(shuffle.next() % UInt64(i + 1)))
        }
        model.generator = SeededGenerator(seed: Self.mix(options.seed, epoch, 2))
        var crops = SeededGenerator(seed: Self.mix(options.seed, epoch, 3))

        let batches = train.count / b
        var batch = CaptionBatch(batchSize: b, maxChunks: 1, features: [], chunkCounts: [], captionLength: 2, tokens: [])
        var lossSum = 0.0
        for index in 0..<batches {
            train.fill(&batch, pairs: order[(index * b)..<((index + 1) * b)], crops: &crops)
            let loss = try model.forwardTraining(batch)
            guard loss.isFinite else { throw diverged(epoch: epoch + 1, batch: index + 1, what: "the loss is \(loss)") }
            model.backward()
            let norm = GradientClipping.clipNorm(model.parameters, maxNorm: options.clipNorm ?? .infinity)
            guard norm.isFinite else { throw diverged(epoch: epoch + 1, batch: index + 1, what: "the gradient norm is \(norm)") }
            optimizer.step()
            lossSum += Double(loss)
            onBatch?(BatchProgress(epoch: epoch + 1, maxEpochs: options.maxEpochs, batch: index + 1, batches: batches,
                                   meanLoss: lossSum / Double(index + 1)))
        }
        let trainLoss = lossSum / Double(batches)
        let validationLoss = try self.validationLoss(validation)
        guard validationLoss.isFinite else { throw diverged(epoch: epoch + 1, batch: batches, what: "the validation loss is \(validationLoss)") }

        var cider: Double?
        if let validationScorer, options.ciderEvery > 0,
           (epoch + 1) % options.ciderEvery == 0 || epoch + 1 == options.maxEpochs {
            let captions = try greedyCaptions(validationCorpus.features)
            cider = validationScorer(captions.map { $0.text(vocabulary) },
                                     validationCorpus.references.map { $0.map { $0.joined(separator: " ") } })
        }

        // Early stopping and the plateau schedule, both on the validation loss.
        let improved = validationLoss < (state.bestValidationLoss ?? .infinity)
        if improved {
            state.bestValidationLoss = validationLoss
            state.bestEpoch = epoch + 1
            state.epochsWithoutImprovement = 0
        } else {
            state.epochsWithoutImprovement += 1
        }
        if options.schedule == .plateau {
            // torch.optim.lr_scheduler.ReduceLROnPlateau, mode min, threshold 1e-4 rel, cooldown 0.
            if validationLoss < (state.plateauBest ?? .infinity) * (1 - 1e-4) {
                state.plateauBest = validationLoss
                state.plateauBadEpochs = 0
            } else {
                state.plateauBadEpochs += 1
            }
            if state.plateauBadEpochs > options.plateauPatience {
                let reduced = state.learningRate * options.plateauFactor
                if state.learningRate - reduced > 1e-8 { state.learningRate = reduced }
                state.plateauBadEpochs = 0
            }
        }
        state.completedEpochs = epoch + 1
        if options.earlyStoppingPatience > 0 && state.epochsWithoutImprovement >= options.earlyStoppingPatience {
            state.stopReason = "early stopping: the validation loss has not improved for \(state.epochsWithoutImprovement) epochs (best \(String(format: "%.4f", state.bestValidationLoss ?? .nan)) at epoch \(state.bestEpoch))"
        } else if state.completedEpochs >= options.maxEpochs {
            state.stopReason = "reached the maximum of \(options.maxEpochs) epochs (best validation loss \(String(format: "%.4f", state.bestValidationLoss ?? .nan)) at epoch \(state.bestEpoch))"
        }
        let record = EpochRecord(epoch: epoch + 1, trainLoss: trainLoss, validationLoss: validationLoss, validationCIDEr: cider,
                                 learningRate: Double(lr), seconds: Monotonic.secondsSince(started), improved: improved)
        state.history.append(record)
        try saveCheckpoints(improved: improved)
        onEpoch?(record)
    }

    /// Token-weighted cross-entropy over the whole split in evaluation mode (independent of batching).
    public func validationLoss(_ corpus: CaptionCorpus) throws -> Double {
        try validationLoss(EncodedCorpus(corpus, vocabulary: vocabulary, pooled: model.configuration.variant.usesPooledFeaturesOnly))
    }

    private func validationLoss(_ data: EncodedCorpus) throws -> Double {
        var sum = 0.0, count = 0
        var batch = CaptionBatch(batchSize: 1, maxChunks: 1, features: [], chunkCounts: [], captionLength: 2, tokens: [])
        var start = 0
        while start < data.count {
            let end = min(start + options.evaluationBatchSize, data.count)
            data.fill(&batch, pairs: start..<end)
            try model.forwardEvaluation(batch)
            sum += model.lastLossSum
            count += model.lastTargetCount
            start = end
        }
        return count == 0 ? 0 : sum / Double(count)
    }

    /// Greedy captions of tracks with the current weights.
    public func greedyCaptions(_ tracks: [Tensor]) throws -> [DecodedCaption] {
        if greedy == nil { greedy = GreedyDecoder(model: model, maxTracks: options.evaluationBatchSize) }
        return try greedy!.decode(tracks)
    }

    private func diverged(epoch: Int, batch: Int, what: String) -> TrainingError {
        let kept: String
        if let directory, state.bestEpoch > 0 {
            kept = "The best checkpoint (epoch \(state.bestEpoch), validation loss \(String(format: "%.4f", state.bestValidationLoss ?? .nan))) is kept in \(directory.appendingPathComponent(Self.bestFile).path)."
        } else {
            kept = "No epoch completed, so there is no checkpoint."
        }
        return .diverged(epoch: epoch, batch: batch, what: what, kept: kept)
    }

    // MARK: Files

    private static let ownProvenanceKeys: Set<String> = ["epoch", "validation_loss", "variant", "seed", "muscaps_version"]

    private func provenance(epoch: Int, validationLoss: Double?) -> String {
        var object = provenance
        object["epoch"] = String(epoch)
        if let validationLoss { object["validation_loss"] = String(validationLoss) }
        object["variant"] = model.configuration.variant.rawValue
        object["seed"] = String(options.seed)
        object["muscaps_version"] = MusCapsVersion.string
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private func saveCheckpoints(improved: Bool) throws {
        guard let directory else { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let bundle = try CaptioningModelBundle(model: model, vocabulary: vocabulary, extractor: extractor)
        if improved {
            try bundle.save(to: directory.appendingPathComponent(Self.bestFile),
                            extraMetadata: [CaptioningModelBundle.provenanceKey: provenance(epoch: state.bestEpoch, validationLoss: state.bestValidationLoss)])
        }
        state.checkpointId = UUID().uuidString
        try SafetensorsWriter.write(tensors: optimizer.stateTensors(), metadata: ["checkpoint_id": state.checkpointId],
                                    to: directory.appendingPathComponent(Self.optimizerFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let stateJSON = String(decoding: try encoder.encode(state), as: UTF8.self)
        try bundle.save(to: directory.appendingPathComponent(Self.lastFile), extraMetadata: [
            CaptioningModelBundle.provenanceKey: provenance(epoch: state.completedEpochs, validationLoss: state.history.last?.validationLoss),
            CaptioningModelBundle.trainingStateKey: stateJSON,
        ])
        try TrainingLog.csv(state.history).write(to: directory.appendingPathComponent(Self.logFile), atomically: true, encoding: .utf8)
        try LearningCurvePlot.svg(state.history, title: "MusCaps \(model.configuration.variant.rawValue) — seed \(options.seed)")
            .write(to: directory.appendingPathComponent(Self.plotFile), atomically: true, encoding: .utf8)
    }

    static func mix(_ seed: UInt64, _ epoch: Int, _ purpose: UInt64) -> UInt64 {
        seed &+ UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15 ^ (purpose &* 0xD1B5_4A32_D192_ED03)
    }
}

/// A corpus with captions as padded-ready token ids and features ready to copy into batches.
struct EncodedCorpus {
    let tokens: [[Int32]]
    let trackOfPair: [Int]
    /// Per track: every chunk, or (fusion variants without cropping) the one mean row.
    let features: [[Float]]
    let chunkCounts: [Int]
    let dimension: Int
    /// Fusion variants read the mean of the chunks only.
    let pooled: Bool
    /// Random crops of at least this many chunks (training only).
    let randomCropMinChunks: Int?
    var count: Int { tokens.count }

    init(_ corpus: CaptionCorpus, vocabulary: Vocabulary, pooled: Bool, randomCropMinChunks: Int? = nil) {
        tokens = corpus.pairs.map { vocabulary.encode($0.tokens).map(Int32.init) }
        trackOfPair = corpus.pairs.map(\.track)
        dimension = corpus.featureDimension
        self.pooled = pooled
        self.randomCropMinChunks = randomCropMinChunks
        if pooled && randomCropMinChunks == nil {
            // Whole tracks: pool once here instead of in every batch.
            features = corpus.features.map { PackedFeatures.mean($0, dimension: corpus.featureDimension) }
            chunkCounts = [Int](repeating: 1, count: corpus.features.count)
        } else {
            features = corpus.features.map(\.scalars)
            chunkCounts = corpus.features.map { $0.shape[0] }
        }
    }

    /// The chunks `[start, start + length)` of a track a batch row gets: the whole track, or a random
    /// crop (length uniform in min…chunks, position uniform).
    private func crop(_ track: Int, _ generator: inout SeededGenerator) -> Range<Int> {
        let n = chunkCounts[track]
        guard let minimum = randomCropMinChunks, n > minimum else { return 0..<n }
        let length = minimum + Int(generator.next() % UInt64(n - minimum + 1))
        let start = Int(generator.next() % UInt64(n - length + 1))
        return start..<(start + length)
    }

    /// Fills `batch` with the given pairs, reusing its arrays' capacity.
    func fill<C: Collection>(_ batch: inout CaptionBatch, pairs: C, crops generator: inout SeededGenerator) where C.Element == Int {
        let b = pairs.count, k = dimension
        let ranges = pairs.map { crop(trackOfPair[$0], &generator) }
        let rows = pooled ? [Int](repeating: 1, count: b) : ranges.map(\.count)
        let l = rows.max() ?? 1
        let t = pairs.map { tokens[$0].count }.max() ?? 2
        batch.batchSize = b
        batch.maxChunks = l
        batch.captionLength = t
        batch.features.removeAll(keepingCapacity: true)
        batch.chunkCounts.removeAll(keepingCapacity: true)
        batch.tokens.removeAll(keepingCapacity: true)
        for (row, p) in pairs.enumerated() {
            let track = trackOfPair[p], range = ranges[row]
            if pooled && randomCropMinChunks != nil {
                // Mean of the cropped chunks, summed in chunk order like PackedFeatures.mean.
                let start = batch.features.count
                batch.features.append(contentsOf: repeatElement(0, count: k))
                features[track].withUnsafeBufferPointer { values in
                    for c in range { for j in 0..<k { batch.features[start + j] += values[c * k + j] } }
                }
                let scale = 1 / Float(range.count)
                for j in 0..<k { batch.features[start + j] *= scale }
            } else {
                batch.features.append(contentsOf: features[track][(range.lowerBound * k)..<(range.upperBound * k)])
            }
            let n = rows[row]
            if n < l { batch.features.append(contentsOf: repeatElement(0, count: (l - n) * k)) }
            batch.chunkCounts.append(Int32(n))
            batch.tokens.append(contentsOf: tokens[p])
            if tokens[p].count < t { batch.tokens.append(contentsOf: repeatElement(Int32(Vocabulary.padIndex), count: t - tokens[p].count)) }
        }
    }

    /// Fills `batch` with whole tracks (evaluation).
    func fill<C: Collection>(_ batch: inout CaptionBatch, pairs: C) where C.Element == Int {
        var unused = SeededGenerator(seed: 0)
        precondition(randomCropMinChunks == nil, "evaluation batches are never cropped")
        fill(&batch, pairs: pairs, crops: &unused)
    }
}
