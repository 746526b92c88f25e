import ArgumentParser
import Captioning
import Foundation
import MusicTagging
import NeuralCore

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Clean a MusCaps-layout dataset and extract its audio features once.",
        discussion: """
        DATASET holds dataset_train.json, dataset_val.json, dataset_test.json (entries {"track_id", \
        "caption": {"raw", "tokens"}}, optionally "path") and the audio in DATASET/audio/<track_id>.<ext> \
        (wav, flac, ogg, opus, mp3, or float32 16 kHz .npy). Each track is cut into non-overlapping windows \
        of the extractor — 3 s for musicnn (753-d max_pool), 5 s for the Harmonic CNN (256-d embedding, \
        --extractor hcnn --weights FILE; cached as hcnn-<model>, e.g. hcnn-mtt, the id to train with) — and \
        its features per window are cached in DATASET/features/<extractor id>/; re-running only processes new or changed audio. Entries that cannot \
        be used (missing or unreadable audio, empty captions, out-of-range lengths, duplicates) are \
        reported with their track id and skipped. Training reads only the cache and the manifests written \
        beside it.
        """)

    @Argument(help: ArgumentHelp("Dataset directory.", valueName: "DATASET"))
    var dataset: String

    @Option(name: .long, help: ArgumentHelp("Feature extractor: musicnn (= musicnn-mtt), musicnn-msd, or hcnn (the Harmonic CNN with --weights).", valueName: "NAME"))
    var extractor: String = "musicnn-mtt"

    @Option(name: .long, help: ArgumentHelp("With --extractor hcnn: converted Harmonic CNN weights (default: Models/hcnn/HCNN_MTT.safetensors).", valueName: "FILE"))
    var weights: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Splits to prepare.")
    var splits: [String] = ["train", "val", "test"]

    @Option(name: .long, help: "Shortest track kept, in seconds (paper: 30).")
    var minSeconds: Double = 30

    @Option(name: .long, help: "Longest track kept, in seconds (paper: 360).")
    var maxSeconds: Double = 360

    @Option(name: .long, help: "Fewest caption tokens kept (paper: 3).")
    var minTokens: Int = 3

    @Option(name: .long, help: "Most caption tokens kept (paper: 22).")
    var maxTokens: Int = 22

    @Option(name: .long, help: ArgumentHelp("Duplicated captions: drop-all (the paper: keep only captions that occur once), keep-first, keep.", valueName: "POLICY"))
    var duplicates: String = CaptionDataset.DuplicatePolicy.dropAll.rawValue

    @Option(name: .long, help: "Windows computed in parallel (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .long, help: "List every skipped entry (default: the first 10 per split).")
    var verbose = false

    func validate() throws {
        guard ["musicnn", "musicnn-mtt", "musicnn-msd", "hcnn"].contains(extractor) || extractor.hasPrefix("hcnn-") else {
            throw ValidationError("unknown extractor '\(extractor)'; use musicnn, musicnn-mtt, musicnn-msd or hcnn")
        }
        if weights != nil && FeatureExtractorKind(extractorId: extractor) != .hcnn { throw ValidationError("--weights is for --extractor hcnn") }
        guard CaptionDataset.DuplicatePolicy(rawValue: duplicates) != nil else { throw ValidationError("--duplicates must be drop-all, keep-first or keep") }
        guard minSeconds >= 0, maxSeconds >= minSeconds else { throw ValidationError("need 0 ≤ --min-seconds ≤ --max-seconds") }
        guard minTokens >= 1, maxTokens >= minTokens else { throw ValidationError("need 1 ≤ --min-tokens ≤ --max-tokens") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        BLAS.threadCount = 1
        let tagger = extractor == "hcnn" ? try WindowTaggers.make(.hcnn, hcnnWeights: weights, workers: jobs)
            : try WindowTaggers.make(extractorId: extractor == "musicnn" ? "musicnn-mtt" : extractor, hcnnWeights: weights, workers: jobs)
        let featureExtractor = TrackFeatureExtractor(tagger: tagger, identifier: tagger.extractorId)
        print("Features: \(tagger.extractorId) (\(tagger.featureSize) values per \(String(format: "%.3g", tagger.windowSeconds)) s window)")
        var options = DatasetPreparation.Options()
        options.durationRange = minSeconds...maxSeconds
        options.tokenRange = minTokens...maxTokens
        options.duplicates = CaptionDataset.DuplicatePolicy(rawValue: duplicates)!
        let preparation = DatasetPreparation(directory: URL(fileURLWithPath: dataset), extractor: featureExtractor, options: options)
        for split in splits {
            var progress: ProgressBar?
            let report = try preparation.prepare(split: split) { done, total, trackId in
                if progress == nil { progress = ProgressBar(total: total, label: "prepare \(split)") }
                progress?.advance(detail: trackId)
            }
            progress?.finish()
            print("\(split): \(report.pairs) caption pairs from \(report.tracks) tracks kept; features extracted for \(report.extracted), reused for \(report.reused); \(report.problems.count) entries skipped → \(report.manifest.path)")
            for problem in report.problems.prefix(verbose ? Int.max : 10) { print("  skipped \(problem)") }
            if !verbose && report.problems.count > 10 { print("  … and \(report.problems.count - 10) more (--verbose lists all; the manifest records every one)") }
        }
    }
}
