import ArgumentParser
import CaptionMetrics
import Captioning
import Foundation
import MusicTagging
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

    @Option(name: .long, help: ArgumentHelp("Caption each track from only its middle N 3 s chunks, as live captioning sees a track (the daemon's 10 s context = 3 chunks); default: every chunk.", valueName: "N"))
    var chunks: Int?

    @Flag(name: .long, help: "Also evaluate text-to-music retrieval.")
    var retrieval = false

    @Option(name: .long, help: "Retrieval: use this many randomly chosen captions as queries (default: all of the split's captions).")
    var queries: Int?

    @Option(name: .long, help: "Retrieval: seed for choosing the queries.")
    var seed: UInt64 = 0

    @OptionGroup var consistency: TagConsistencyOptions

    @OptionGroup var output: SplitEvaluationOptions

    @Option(name: .long, help: "OpenBLAS threads (default: one per core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if let queries, queries < 1 { throw ValidationError("--queries must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
    }

    func run() throws {
        BLAS.threadCount = threads
        let modelURL = try CaptioningModelBundle.resolve(modelOptions.model)
        let bundle = try CaptioningModelBundle.load(modelURL)
        var corpus = try CaptionCorpus(datasetDirectory: URL(fileURLWithPath: dataset), extractor: bundle.extractor, split: split)
        if let chunks { corpus = corpus.centreCropped(toChunks: chunks) }
        guard !corpus.pairs.isEmpty else { throw CommandError("\(dataset): the \(split) split has no caption pairs to evaluate on") }
        guard corpus.featureDimension == bundle.model.configuration.audioFeatureSize else {
            throw CommandError("\(dataset): the \(split) features are \(corpus.featureDimension)-d but the model expects \(bundle.model.configuration.audioFeatureSize)-d")
        }
        let vocabulary = bundle.vocabulary

        // Captions, one per track.
        var captions: [DecodedCaption] = []
        let bar = ProgressBar(total: corpus.trackCount, label: "caption \(split)")
        if let settings = consistency.settings {
            // Tag-consistent decoding: each track's beam search is steered by its own confident tags,
            // the mean over the same windows the caption is made from.
            let taggers = try consistency.taggerNames()
            var means: [[[Float]]] = []   // [tagger][track][tag]
            var tagNames: [[String]] = []
            for tagger in taggers {
                let prepared = try PreparedSplit(datasetDirectory: URL(fileURLWithPath: dataset), extractor: "musicnn-\(tagger)", split: split)
                let byId = Dictionary(prepared.tracks.map { ($0.trackId, $0) }, uniquingKeysWith: { a, _ in a })
                tagNames.append(try Musicnn(contentsOf: try MusicnnModelName.resolve(tagger)).tags)
                means.append(try corpus.trackIds.map { id in
                    guard let taggram = byId[id]?.taggram else {
                        throw CommandError("\(id): no musicnn-\(tagger) tags in the feature cache; run `muscaps prepare \(dataset) --splits \(split) --extractor musicnn-\(tagger)`")
                    }
                    let windows = taggram.shape[0], window = chunks.map { min($0, windows) } ?? windows
                    let first = (windows - window) / 2   // the centre crop `centreCropped` takes
                    return taggram.scalars.withUnsafeBufferPointer {
                        TagConsistency.meanProbabilities(UnsafeBufferPointer(rebasing: $0[(first * taggram.shape[1])..<((first + window) * taggram.shape[1])]), windows: window)
                    }
                })
            }
            let decoder = BeamSearchDecoder(model: bundle.model, beamWidth: decoding.beam, maxLength: decoding.maxLength)
            for (index, features) in corpus.features.enumerated() {
                var genres: Set<String> = []
                for t in taggers.indices { genres.formUnion(settings.confidentGenres(tags: tagNames[t], probabilities: means[t][index])) }
                decoder.wordBias = settings.wordBias(vocabulary: vocabulary, confidentGenres: genres)
                captions.append(try decoder.decode(features))
                bar.advance()
            }
        } else {
            let decoder = try decoding.makeDecoder(bundle.model, tracks: 32)
            var start = 0
            while start < corpus.trackCount {
                let end = min(start + 32, corpus.trackCount)
                captions += try decoder.decode(Array(corpus.features[start..<end]))
                bar.advance(by: end - start)
                start = end
            }
        }
        bar.finish()
        let statistics = CaptionStatistics(captions)

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
            retrievalResult = try RetrievalMetrics(ranks: ranks)
        }

        var evaluation = SplitEvaluation(
            dataset: dataset, split: split, corpus: corpus, captions: captions.map { $0.text(vocabulary) }, statistics: statistics,
            method: "\(decoding.description) decoding" + consistency.methodSuffix + (chunks.map { ", middle \($0) chunk(s) of each track" } ?? ""), source: modelURL.path)
        evaluation.maxLength = decoding.maxLength
        evaluation.retrieval = retrievalResult
        try evaluation.report(output)
    }
}
