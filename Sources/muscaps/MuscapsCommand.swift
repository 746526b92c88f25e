import ArgumentParser
import Foundation
import MusicTagging
import NeuralCore

@main
struct Muscaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muscaps",
        abstract: "Describe music: tag and caption audio files, train and evaluate captioning models, search music by description.",
        discussion: """
        Examples:
          muscaps tag Examples/demo.wav
          muscaps tag song.flac --model msd --hop 1 --top 5 --json
          muscaps features song.flac --out song.features.safetensors --layer max_pool
          muscaps prepare data/muscaps && muscaps train data/muscaps --out runs/early
          muscaps caption song.flac --model runs/early/best.safetensors --beam 5
          muscaps eval data/muscaps --split test --model runs/early/best.safetensors --retrieval
          muscaps score predictions.json references.json
          muscaps index ~/Music --out music.idx && muscaps search "calm piano" --index music.idx --model M
          muscaps batch ~/Music --out runs/music --summary --caption   (resumable; --shard I/N, Slurm arrays)
        Models are found in $MUSCAPS_MODELS, a Models/ folder beside the executable or one of its parents, \
        or ~/.local/share/muscaps/Models.
        """,
        version: MusCapsVersion.withBLASKernel,
        subcommands: [TagCommand.self, FeaturesCommand.self, PrepareCommand.self, ScoreCommand.self,
                      TrainCommand.self, CaptionCommand.self, EvalCommand.self, BaselineCommand.self, IndexCommand.self, SearchCommand.self, BatchCommand.self])

    static func main() {
        BLAS.prepare()  // choose OpenBLAS's kernels from the CPU's features before anything loads it
        main(nil)
    }
}

extension FeatureExtractorKind: ExpressibleByArgument {}

/// Options every tagging subcommand shares: which network, its weights, the hop.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Feature extractor: musicnn (3 s windows) or hcnn (Harmonic CNN, 5 s windows; needs converted weights, see Models/README.md).", valueName: "musicnn|hcnn"))
    var extractor: FeatureExtractorKind = .musicnn

    @Option(name: .long, help: ArgumentHelp("musicnn tagging model: mtt (MagnaTagATune, 50 tags), msd (Million Song Dataset, 50 tags) or a path to converted weights.", valueName: "mtt|msd|PATH"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("Harmonic CNN weights converted by Tools/hcnn/convert_checkpoint.py (default: Models/hcnn/HCNN_MTT.safetensors).", valueName: "FILE"))
    var weights: String?

    @Option(name: .long, help: ArgumentHelp("Seconds between window starts (default: the window length — 2.992 s for musicnn, 5 s for hcnn — so no overlap).", valueName: "SECONDS"))
    var hop: Double?

    func validate() throws {
        if let hop, !(hop > 0 && hop <= 60) { throw ValidationError("--hop must be between 0 and 60 seconds, got \(hop)") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if extractor == .hcnn && model != nil { throw ValidationError("--model names a musicnn model; the Harmonic CNN takes --weights FILE") }
        if extractor == .musicnn && weights != nil { throw ValidationError("--weights is for --extractor hcnn; musicnn takes --model") }
    }

    @Option(name: .long, help: "Windows computed in parallel (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func loadTagger() throws -> any WindowTagger {
        // Parallelism comes from running windows side by side; BLAS stays single-threaded in each.
        BLAS.threadCount = 1
        return try WindowTaggers.make(extractor, musicnnModel: model ?? "mtt", hcnnWeights: weights, hopSeconds: hop, workers: max(1, jobs))
    }
}
