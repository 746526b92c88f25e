import ArgumentParser
import CaptionMetrics
import Captioning
import Foundation

/// One line per metric: its value, or why it is unavailable (`muscaps score`, `eval`, `baseline`).
func printCorpusScores(_ scores: CaptionScores, labelWidth: Int) {
    for metric in CaptionMetric.allCases {
        let label = metric.displayName.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        if let value = scores.corpus[metric] {
            print("\(label)  \(String(format: "%.4f", value))")
        } else if let reason = scores.unavailable[metric] {
            print("\(label)  unavailable: \(reason)")
        }
    }
}

/// The stderr warning for predictions that say nothing: they were scored, 0 against references with words.
func warnAboutBlankCandidates(_ scores: CaptionScores) {
    let blank = scores.blankCandidates
    guard !blank.isEmpty else { return }
    let tracks = blank.count == 1 ? "1 track has" : "\(blank.count) tracks have"
    let shown = blank.prefix(10).joined(separator: ", ") + (blank.count > 10 ? ", …" : "")
    FileHandle.standardError.write(Data(("muscaps: warning: \(tracks) an empty predicted caption, scored as pycocoevalcap "
        + "scores it (0 on every metric against references with words): \(shown)\n").utf8))
}

/// The output options `eval` and `baseline` share.
struct SplitEvaluationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Write the results as JSON here (and FILE-stem.predictions.json, FILE-stem.references.json beside it).", valueName: "FILE"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Write the captions here as [{\"track_id\", \"caption\"}].", valueName: "FILE"))
    var predictions: String?

    @Flag(name: .long, help: "Do not run METEOR (Java).")
    var noMeteor = false

    @Flag(name: .long, help: "Do not run SPICE (Java).")
    var noSpice = false
}

/// Captions made for every track of a prepared split, scored against the split's references and
/// reported the same way whoever made them — a model (`muscaps eval`) or a baseline (`muscaps baseline`)
/// — so their numbers are comparable line for line.
struct SplitEvaluation {
    let dataset: String
    let split: String
    let corpus: CaptionCorpus
    /// One caption per track of `corpus`, words joined by spaces (empty when nothing was generated).
    let captions: [String]
    let statistics: CaptionStatistics
    /// How the captions were made: "greedy", "beam 5", "tag-template baseline" …
    let method: String
    /// The model file or baseline name, for the JSON.
    let source: String
    /// Decoding limit, when captions were decoded (reported with the unfinished count).
    var maxLength: Int?
    var retrieval: RetrievalMetrics?

    /// Scores, prints the table and writes the JSON files the options ask for.
    func report(_ options: SplitEvaluationOptions) throws {
        var candidates: [String: String] = [:], references: [String: [String]] = [:]
        let refs = corpus.references
        for (i, id) in corpus.trackIds.enumerated() {
            candidates[id] = captions[i]
            references[id] = refs[i].map { $0.joined(separator: " ") }
        }
        var scorerOptions = CaptionScorer.Options()
        scorerOptions.meteor = !options.noMeteor
        scorerOptions.spice = !options.noSpice
        let scores = try CaptionScorer(options: scorerOptions).score(candidates: candidates, references: references)

        print("\(split): \(corpus.trackCount) tracks, \(corpus.pairs.count) reference captions; \(method)")
        printCorpusScores(scores, labelWidth: 10)
        warnAboutBlankCandidates(scores)
        print(String(format: "<unk> rate  %.4f  (%d of %d words)", statistics.unknownRate, statistics.unknownWords, statistics.words))
        print(String(format: "repetition  %.4f  of captions repeat a word or bigram (%.3f repetitions per caption)", statistics.repetitionRate, statistics.repetitionsPerCaption))
        if let maxLength {
            print(String(format: "length      %.2f words on average; %d captions cut at %d steps", statistics.meanLength, statistics.unfinished, maxLength))
        } else {
            print(String(format: "length      %.2f words on average", statistics.meanLength))
        }
        if let r = retrieval {
            print(String(format: "retrieval   %d queries over %d tracks: R@1 %.1f%%  R@5 %.1f%%  R@10 %.1f%%  median rank %.1f",
                         r.queries, corpus.trackCount, 100 * r.recallAt1, 100 * r.recallAt5, 100 * r.recallAt10, r.medianRank))
        }

        let predictionList: [[String: String]] = corpus.trackIds.enumerated().map { ["track_id": $1, "caption": captions[$0]] }
        let referenceList: [[String: String]] = corpus.pairs.map { ["track_id": corpus.trackIds[$0.track], "caption": $0.tokens.joined(separator: " ")] }
        var predictionsPath = options.predictions
        if let out = options.out {
            let stem = URL(fileURLWithPath: out).deletingPathExtension().path
            predictionsPath = predictionsPath ?? stem + ".predictions.json"
            let referencesPath = stem + ".references.json"
            try Self.write(referenceList, to: referencesPath)
            var results: [String: Any] = [
                "model": source, "dataset": dataset, "split": split,
                "decoding": method, "tracks": corpus.trackCount, "references": corpus.pairs.count,
                "metrics": Dictionary(uniqueKeysWithValues: scores.corpus.map { ($0.key.rawValue, $0.value) }),
                "unavailable": Dictionary(uniqueKeysWithValues: scores.unavailable.map { ($0.key.rawValue, $0.value) }),
                "unk_rate": statistics.unknownRate, "repetition_rate": statistics.repetitionRate,
                "repetitions_per_caption": statistics.repetitionsPerCaption, "mean_length": statistics.meanLength,
                "unfinished_captions": statistics.unfinished, "empty_captions": scores.blankCandidates.count,
                "predictions_file": predictionsPath!, "references_file": referencesPath,
            ]
            if let r = retrieval {
                results["retrieval"] = ["queries": r.queries, "candidates": corpus.trackCount, "recall_at_1": r.recallAt1,
                                        "recall_at_5": r.recallAt5, "recall_at_10": r.recallAt10, "median_rank": r.medianRank]
            }
            try Self.write(results, to: out)
        }
        if let predictionsPath { try Self.write(predictionList, to: predictionsPath) }
        if let out = options.out { FileHandle.standardError.write(Data("muscaps: wrote \(out), \(predictionsPath!)\n".utf8)) }
    }

    static func write(_ object: Any, to path: String) throws {
        do {
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                .write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
