import ArgumentParser
import CaptionMetrics
import Captioning
import Foundation
import NeuralCore

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a MusCaps captioning model on a prepared dataset.",
        discussion: """
        Reads the train and val splits that `muscaps prepare DATASET` wrote (features and caption pairs; \
        no audio is decoded) and trains with teacher forcing, cross-entropy ignoring <pad>, Adam (lr 1e-4 \
        reduced linearly to 0 over --epochs, as the paper; --schedule plateau for the reference code's \
        ReduceLROnPlateau), batches of 16 that drop the remainder, gradient-norm clipping, and early \
        stopping on the validation loss. After every epoch it writes to --out: best.safetensors (the \
        model with the lowest validation loss: pass it to caption/eval/search), last.safetensors + \
        last.optimizer.safetensors (for --resume), training_log.csv and learning_curve.svg. The same \
        --seed gives the same loss curve; --resume continues exactly where the run stopped.
        Examples:
          muscaps train data/muscaps --out runs/early
          muscaps train data/muscaps --out runs/attn --variant attention --word-vectors glove.txt
          muscaps train data/muscaps --out runs/early --resume
        """)

    @Argument(help: ArgumentHelp("Dataset directory, prepared with `muscaps prepare`.", valueName: "DATASET"))
    var dataset: String

    @Option(name: .long, help: ArgumentHelp("Directory for checkpoints, the CSV log and the learning-curve plot.", valueName: "DIR"))
    var out: String

    @Flag(name: .long, help: "Continue the run in --out from last.safetensors (its settings are kept; model and schedule options given here are ignored).")
    var resume = false

    @Option(name: .long, help: ArgumentHelp("Model variant: early (early fusion), late (late fusion) or attention.", valueName: "early|late|attention"))
    var variant: String = "early"

    @Option(name: .long, help: ArgumentHelp("Features the dataset was prepared with.", valueName: "NAME"))
    var extractor: String = "musicnn-mtt"

    @Option(name: .long, help: "Maximum number of epochs (paper: 200); the linear schedule reaches 0 there.")
    var epochs: Int = 200

    @Option(name: .long, help: "Caption pairs per batch (paper: 16; at least 2 for BatchNorm).")
    var batchSize: Int = 16

    @Option(name: .long, help: "Initial learning rate (paper: 1e-4).")
    var lr: Float = 1e-4

    @Option(name: .long, help: ArgumentHelp("Learning-rate schedule: linear (the paper), plateau (the reference code: halve after --plateau-patience epochs without improvement) or constant.", valueName: "linear|plateau|constant"))
    var schedule: String = "linear"

    @Option(name: .long, help: "Epochs without a lower validation loss before the plateau schedule halves the rate.")
    var plateauPatience: Int = 5

    @Option(name: .long, help: "Stop after this many epochs without a lower validation loss (paper: 10; 0 never stops early).")
    var patience: Int = 10

    @Option(name: .long, help: "Clip the global gradient norm to this value (reference: 12; 0 disables clipping).")
    var clipNorm: Float = 12

    @Option(name: .long, help: "Seed for initialisation, shuffling and dropout: the same seed repeats the run.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Hidden units of the encoder and decoder LSTMs (paper: 256).")
    var hiddenSize: Int = 256

    @Option(name: .long, help: "Size of learned word embeddings (ignored with --word-vectors, whose size is used).")
    var embeddingSize: Int = 300

    @Option(name: .long, help: "Size of the attention MLP (attention variant).")
    var attentionSize: Int = 256

    @Option(name: .long, help: "Dropout on the decoder output (paper: 0.25).")
    var dropout: Float = 0.25

    @Option(name: .long, help: "Words seen fewer times than this in the training captions become <unk> (reference: 2).")
    var minCount: Int = 2

    @Option(name: .long, help: ArgumentHelp("Initialise the word embeddings from this GloVe-format text file (e.g. glove.6B.300d.txt) and freeze them, as the paper; default: learned embeddings.", valueName: "FILE"))
    var wordVectors: String?

    @Option(name: .long, help: "Score greedy validation captions with CIDEr-D every this many epochs (0: never).")
    var ciderEvery: Int = 1

    @Option(name: .long, help: ArgumentHelp("Train on random contiguous crops of at least CHUNKS 3 s chunks (length and position drawn anew each epoch) instead of whole tracks — the paper's shorter random chunks; teaches the model the short contexts live captioning gives it (10 s = 3 chunks).", valueName: "CHUNKS"))
    var randomCrop: Int?

    @Option(name: .long, help: ArgumentHelp("Stop after this many epochs in this run (continue later with --resume).", valueName: "EPOCHS"))
    var stopAfter: Int?

    @Option(name: .long, help: "OpenBLAS threads (default: one per core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .long, help: "No progress bar or per-epoch lines, only the summary.")
    var quiet = false

    func validate() throws {
        guard CaptioningConfiguration.Variant(rawValue: variant) != nil else { throw ValidationError("--variant must be early, late or attention (got '\(variant)')") }
        guard TrainingOptions.Schedule(rawValue: schedule) != nil else { throw ValidationError("--schedule must be linear, plateau or constant (got '\(schedule)')") }
        guard hiddenSize >= 1, embeddingSize >= 1, attentionSize >= 1 else { throw ValidationError("sizes must be positive") }
        guard minCount >= 1 else { throw ValidationError("--min-count must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let randomCrop, randomCrop < 1 { throw ValidationError("--random-crop must be at least 1 chunk (got \(randomCrop))") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1") }
        guard clipNorm >= 0 else { throw ValidationError("--clip-norm must not be negative") }
    }

    func run() throws {
        BLAS.threadCount = threads
        let directory = URL(fileURLWithPath: out)
        let datasetURL = URL(fileURLWithPath: dataset)
        let trainer: CaptionTrainer
        if resume {
            trainer = try CaptionTrainer.resume(directory: directory)
            if let reason = trainer.state.stopReason {
                print("Nothing to do: the run in \(out) has finished (\(reason)). Best model: \(directory.appendingPathComponent(CaptionTrainer.bestFile).path)")
                return
            }
            say("Resuming \(out) after epoch \(trainer.state.completedEpochs) of \(trainer.options.maxEpochs) (\(trainer.model.configuration.variant.rawValue), seed \(trainer.options.seed)).")
        } else {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(CaptionTrainer.lastFile).path) {
                throw CommandError("\(directory.appendingPathComponent(CaptionTrainer.lastFile).path) exists: continue that run with --resume, or choose another --out")
            }
            trainer = try makeTrainer(datasetURL: datasetURL, directory: directory)
        }
        let training = try CaptionCorpus(datasetDirectory: datasetURL, extractor: trainer.extractor, split: "train")
        let validation = try CaptionCorpus(datasetDirectory: datasetURL, extractor: trainer.extractor, split: "val")
        say("train: \(training.pairs.count) caption pairs of \(training.trackCount) tracks; val: \(validation.pairs.count) pairs of \(validation.trackCount) tracks; vocabulary \(trainer.vocabulary.count) words; \(trainer.model.trainableParameters.reduce(0) { $0 + $1.count }) trainable parameters.")

        if trainer.options.ciderEvery > 0 {
            trainer.validationScorer = { candidates, references in CIDEr.score(candidates: candidates, references: references).corpus }
        }
        var bar: ProgressBar?
        let interactive = !quiet && isatty(STDERR_FILENO) == 1
        trainer.onBatch = { p in
            guard interactive else { return }
            if bar == nil || p.batch == 1 { bar = ProgressBar(total: p.batches, label: "epoch \(p.epoch)/\(p.maxEpochs)") }
            bar?.advance(detail: String(format: "loss %.4f", p.meanLoss))
        }
        let maxEpochs = trainer.options.maxEpochs
        trainer.onEpoch = { r in
            if interactive { bar?.finish(); bar = nil }
            guard !quiet else { return }
            let seconds = trainer.state.history.map(\.seconds)
            let remaining = Double(maxEpochs - r.epoch) * seconds.reduce(0, +) / Double(max(seconds.count, 1))
            var line = String(format: "epoch %d/%d  train %.4f  val %.4f", r.epoch, maxEpochs, r.trainLoss, r.validationLoss)
            if let c = r.validationCIDEr { line += String(format: "  CIDEr-D %.4f", c) }
            line += String(format: "  lr %.3g  %.1f s", r.learningRate, r.seconds)
            if r.improved { line += "  best" }
            if trainer.state.stopReason == nil && r.epoch < maxEpochs { line += "  (at most \(ProgressBar.formatDuration(remaining)) left)" }
            print(line)
            fflush(nil)
        }
        trainer.provenance["dataset"] = datasetURL.standardizedFileURL.path
        let state = try trainer.train(training: training, validation: validation, epochs: stopAfter)
        if let reason = state.stopReason {
            print("Finished: \(reason).")
        } else {
            print("Stopped after epoch \(state.completedEpochs) of \(trainer.options.maxEpochs); continue with: muscaps train \(dataset) --out \(out) --resume")
        }
        print("Best model: \(directory.appendingPathComponent(CaptionTrainer.bestFile).path) (epoch \(state.bestEpoch), validation loss \(String(format: "%.4f", state.bestValidationLoss ?? .nan)))")
        print("Log: \(directory.appendingPathComponent(CaptionTrainer.logFile).path); plot: \(directory.appendingPathComponent(CaptionTrainer.plotFile).path)")
    }

    private func say(_ text: String) { if !quiet { print(text) } }

    private func makeTrainer(datasetURL: URL, directory: URL) throws -> CaptionTrainer {
        let training = try CaptionCorpus(datasetDirectory: datasetURL, extractor: extractor, split: "train")
        let vocabulary = Vocabulary(captions: training.pairs.map(\.tokens), minCount: minCount)
        var configuration = CaptioningConfiguration(variant: CaptioningConfiguration.Variant(rawValue: variant)!)
        configuration.audioFeatureSize = training.featureDimension > 0 ? training.featureDimension : configuration.audioFeatureSize
        configuration.encoderHiddenSize = hiddenSize
        configuration.decoderHiddenSize = hiddenSize
        configuration.attentionSize = attentionSize
        configuration.dropout = dropout
        var vectors: WordVectors.Loaded?
        if let wordVectors {
            let loaded = try WordVectors.load(URL(fileURLWithPath: wordVectors), vocabulary: vocabulary)
            say("Word vectors: \(loaded.dimension)-d, \(loaded.found) of \(vocabulary.count - 4) vocabulary words found (\(loaded.missing.count) get the <unk> vector); frozen.")
            configuration.wordEmbeddingSize = loaded.dimension
            configuration.freezeWordEmbeddings = true
            vectors = loaded
        } else {
            configuration.wordEmbeddingSize = embeddingSize
            configuration.freezeWordEmbeddings = false
        }
        let model = try MusCapsModel(configuration: configuration, vocabularySize: vocabulary.count, seed: seed)
        if let vectors { model.wordEmbedding.weight.load(Tensor(shape: [vocabulary.count, vectors.dimension], scalars: vectors.matrix)) }
        var options = TrainingOptions()
        options.maxEpochs = epochs
        options.batchSize = batchSize
        options.learningRate = lr
        options.schedule = TrainingOptions.Schedule(rawValue: schedule)!
        options.plateauPatience = plateauPatience
        options.earlyStoppingPatience = patience
        options.clipNorm = clipNorm > 0 ? clipNorm : nil
        options.seed = seed
        options.ciderEvery = ciderEvery
        options.randomCropMinChunks = randomCrop
        return try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: extractor, options: options, directory: directory)
    }
}
