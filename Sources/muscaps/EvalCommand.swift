import ArgumentParser
import CaptionMetrics
import Captioning
import Foundation
import NeuralCore

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a captioning model on a prepared split: caption metrics and retrieval.",
        discussion: """
        Captions every track of the split (greedy, or beam search with --beam) and scores the captions \
        against the split's references as pycocoevalcap does (`muscaps score`): BLEU-1…4, METEOR, \
        ROUGE-L, CIDEr-D, SPICE, SPIDEr — a metric that cannot run (METEOR/SPICE need Java and their jars) \
        is reported as unavailable with the reason, never as 0 — plus the rate of <unk> words and of \
        captions that repeat a word or bigram (paper §IV-D4). With --retrieval, also ranks the split's \
        tracks for each of its captions by log P(caption | audio) and reports recall at 1/5/10 and the \
        median rank (paper Table III; the paper used 100 queries: --queries 100).
        --out writes the numbers as JSON, and beside it the predictions and references as lists of \
        {"track_id", "caption"} that `muscaps score` re-scores.
        Examples:
          muscaps eval data/muscaps --split test --model runs/early/best.safetensors --beam 5 --out results.json
          muscaps eval data/muscaps --model runs/late/best.safetensors --retrieval --queries 100
        """)

    @Argument(help: ArgumentHelp("Dataset directory, prepared with `muscaps prepare`.", valueName: "DATASET"))
    var dataset: String

    @Option(name: .long, help: "Split to evaluate on.")
    var split: String = "test"

    @OptionGroup var modelOptions: CaptioningModelOptions
    @OptionGroup var decoding: DecodingOptions

    @Option(name: .long, help: ArgumentHelp("Write the results as JSON here (and FILE-stem.predictions.json, FILE-stem.references.json beside it).", valueName: "FILE"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Write the predicted captions here as [{\"track_id\", \"caption\"}].", valueName: "FILE"))
    var predictions: String?

    @Flag(name: .long, help: "Also evaluate text-to-music retrieval.")
    var retrieval = false

    @Option(name: .long, help: "Retrieval: use this many randomly chosen captions as queries (default: all of the split's captions).")
    var queries: Int?

    @Option(name: .long, help: "Retrieval: seed for choosing the queries.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Do not run METEOR (Java).")
    var noMeteor = false

    @Flag(name: .long, help: "Do not run SPICE (Java).")
    var noSpice = false

    @Option(name: .long, help: "OpenBLAS threads (default: one per core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if let queries, queries < 1 { throw ValidationError("--queries must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLAS.threadCount = threads
        let bundle = try modelOptions.load()
        let corpus = try CaptionCorpus(datasetDirectory: URL(fileURLWithPath: dataset), extractor: bundle.extractor, split: split)
        guard !corpus.pairs.isEmpty else { throw CommandError("\(dataset): the \(split) split has no caption pairs to evaluate on") }
        guard corpus.featureDimension == bundle.model.configuration.audioFeatureSize else {
            throw CommandError("\(dataset): the \(split) features are \(corpus.featureDimension)-d but the model expects \(bundle.model.configuration.audioFeatureSize)-d")
        }
        let vocabulary = bundle.vocabulary

        // Captions, one per track.
        let decoder = decoding.makeDecoder(bundle.model, tracks: 32)
        var captions: [DecodedCaption] = []
        let bar = ProgressBar(total: corpus.trackCount, label: "caption \(split)")
        var start = 0
        while start < corpus.trackCount {
            let end = min(start + 32, corpus.trackCount)
            captions += try decoder.decode(Array(corpus.features[start..<end]))
            bar.advance(by: end - start)
            start = end
        }
        bar.finish()
        let statistics = CaptionStatistics(captions)
        var candidates: [String: String] = [:], references: [String: [String]] = [:]
        let refs = corpus.references
        var empty = 0
        for (i, id) in corpus.trackIds.enumerated() {
            var text = captions[i].text(vocabulary)
            if text.isEmpty { text = Vocabulary.unknown; empty += 1 }
            candidates[id] = text
            references[id] = refs[i].map { $0.joined(separator: " ") }
        }
        var options = CaptionScorer.Options()
        options.meteor = !noMeteor
        options.spice = !noSpice
        let scores = try CaptionScorer(options: options).score(candidates: candidates, references: references)

        print("\(split): \(corpus.trackCount) tracks, \(corpus.pairs.count) reference captions; \(decoding.description) decoding")
        for metric in CaptionMetric.allCases {
            let label = (metric == .cider ? "CIDEr-D" : metric.rawValue).padding(toLength: 10, withPad: " ", startingAt: 0)
            if let value = scores.corpus[metric] {
                print("\(label)  \(String(format: "%.4f", value))")
            } else if let reason = scores.unavailable[metric] {
                print("\(label)  unavailable: \(reason)")
            }
        }
        print(String(format: "<unk> rate  %.4f  (%d of %d words)", statistics.unknownRate, statistics.unknownWords, statistics.words))
        print(String(format: "repetition  %.4f  of captions repeat a word or bigram (%.3f repetitions per caption)", statistics.repetitionRate, statistics.repetitionsPerCaption))
        print(String(format: "length      %.2f words on average; %d captions cut at %d steps", statistics.meanLength, statistics.unfinished, decoding.maxLength))
        if empty > 0 { print("note: \(empty) empty caption(s) were scored as \"\(Vocabulary.unknown)\"") }

        var retrievalResult: RetrievalMetrics?
        if retrieval {
            var pairs = Array(corpus.pairs.indices)
            if let queries, queries < pairs.count {
                var generator = SeededGenerator(seed: seed)
                for i in stride(from: pairs.count - 1, to: 0, by: -1) { pairs.swapAt(i, Int(generator.next() % UInt64(i + 1))) }
                pairs = Array(pairs.prefix(queries)).sorted()
            }
            let retrievalBar = ProgressBar(total: pairs.count, label: "retrieval")
            var done = 0
            let ranks = try Retrieval.ranks(model: bundle.model, vocabulary: vocabulary, corpus: corpus, queryPairs: pairs) { n, _ in
                retrievalBar.advance(by: n - done)
                done = n
            }
            retrievalBar.finish()
            let metrics = try RetrievalMetrics(ranks: ranks)
            retrievalResult = metrics
            print(String(format: "retrieval   %d queries over %d tracks: R@1 %.1f%%  R@5 %.1f%%  R@10 %.1f%%  median rank %.1f",
                         metrics.queries, corpus.trackCount, 100 * metrics.recallAt1, 100 * metrics.recallAt5, 100 * metrics.recallAt10, metrics.medianRank))
        }

        let predictionList: [[String: String]] = corpus.trackIds.enumerated().map { ["track_id": $1, "caption": captions[$0].text(vocabulary)] }
        let referenceList: [[String: String]] = corpus.pairs.map { ["track_id": corpus.trackIds[$0.track], "caption": $0.tokens.joined(separator: " ")] }
        var predictionsPath = predictions
        if let out {
            let stem = URL(fileURLWithPath: out).deletingPathExtension().path
            predictionsPath = predictionsPath ?? stem + ".predictions.json"
            let referencesPath = stem + ".references.json"
            try write(referenceList, to: referencesPath)
            var results: [String: Any] = [
                "model": (try? CaptioningModelBundle.resolve(modelOptions.model).path) ?? "", "dataset": dataset, "split": split,
                "decoding": decoding.description, "tracks": corpus.trackCount, "references": corpus.pairs.count,
                "metrics": Dictionary(uniqueKeysWithValues: scores.corpus.map { ($0.key.rawValue, $0.value) }),
                "unavailable": Dictionary(uniqueKeysWithValues: scores.unavailable.map { ($0.key.rawValue, $0.value) }),
                "unk_rate": statistics.unknownRate, "repetition_rate": statistics.repetitionRate,
                "repetitions_per_caption": statistics.repetitionsPerCaption, "mean_length": statistics.meanLength,
                "unfinished_captions": statistics.unfinished, "empty_captions": empty,
                "predictions_file": predictionsPath!, "references_file": referencesPath,
            ]
            if let r = retrievalResult {
                results["retrieval"] = ["queries": r.queries, "candidates": corpus.trackCount, "recall_at_1": r.recallAt1,
                                        "recall_at_5": r.recallAt5, "recall_at_10": r.recallAt10, "median_rank": r.medianRank]
            }
            try write(results, to: out)
        }
        if let predictionsPath { try write(predictionList, to: predictionsPath) }
        if let out { FileHandle.standardError.write(Data("muscaps: wrote \(out), \(predictionsPath!)\n".utf8)) }
    }

    private func write(_ object: Any, to path: String) throws {
        do {
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                .write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
