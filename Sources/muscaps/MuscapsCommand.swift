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

/// Options every musicnn-based subcommand shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Tagging model: mtt (MagnaTagATune, 50 tags), msd (Million Song Dataset, 50 tags) or a path to converted weights.", valueName: "mtt|msd|PATH"))
    var model: String = "mtt"

    @Option(name: .long, help: ArgumentHelp("Seconds between window starts; windows are 2.99 s long (default: 2.992, no overlap, as musicnn).", valueName: "SECONDS"))
    var hop: Double?

    func validate() throws {
        if let hop, !(hop > 0 && hop <= 60) { throw ValidationError("--hop must be between 0 and 60 seconds, got \(hop)") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    var hopFrames: Int { hop.map(MusicnnTagger.hopFrames(seconds:)) ?? Musicnn.windowFrames }

    @Option(name: .long, help: "Windows computed in parallel (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func loadTagger() throws -> MusicnnTagger {
        let url = try MusicnnModelName.resolve(model)
        // Parallelism comes from running windows side by side; BLAS stays single-threaded in each.
        BLAS.threadCount = 1
        return MusicnnTagger(model: try Musicnn(contentsOf: url), hopFrames: hopFrames, workers: max(1, jobs))
    }
}
