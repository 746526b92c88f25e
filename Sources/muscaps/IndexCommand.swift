import ArgumentParser
import Captioning
import Foundation
import MusicTagging
import NeuralCore

/// `muscaps index DIR` builds or updates an index; `muscaps index merge` combines a sharded batch's features.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index a folder of music for text search (`muscaps search`), or merge a batch's features into an index.",
        subcommands: [IndexBuildCommand.self, IndexMergeCommand.self],
        defaultSubcommand: IndexBuildCommand.self)
}

struct IndexBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Index a folder of music for text search (`muscaps search`).",
        discussion: """
        Walks DIR for audio files (wav, flac, ogg, opus, mp3, npy; hidden files skipped), cuts each into \
        non-overlapping 2.99 s musicnn windows and stores their features: --out is a JSON manifest, \
        --out.safetensors the features. Re-running updates the index incrementally: unchanged files (same \
        size and modification time) are not analysed again, new and changed files are, deleted files are \
        dropped. Files that cannot be read are reported and skipped (and not retried until they change).
        Example:
          muscaps index ~/Music --out music.idx
          muscaps search "calm piano with strings" --index music.idx --model runs/early/best.safetensors
        """)

    @Argument(help: ArgumentHelp("Folder of audio files (searched recursively).", valueName: "DIR"))
    var directory: String

    @Option(name: .long, help: ArgumentHelp("Index file to create or update.", valueName: "FILE"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Feature extractor: musicnn-mtt or musicnn-msd (must match the captioning model).", valueName: "NAME"))
    var extractor: String = "musicnn-mtt"

    @Option(name: .long, help: "Windows computed in parallel (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard CaptioningModelBundle.musicnnModel(forExtractor: extractor) != nil else { throw ValidationError("unknown extractor '\(extractor)'; use musicnn-mtt or musicnn-msd") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        BLAS.threadCount = 1
        let name = CaptioningModelBundle.musicnnModel(forExtractor: extractor)!
        let musicnn = try Musicnn(contentsOf: try MusicnnModelName.resolve(name.rawValue))
        let indexer = LibraryIndexer(extractor: TrackFeatureExtractor(tagger: MusicnnTagger(model: musicnn, workers: jobs), identifier: extractor))
        var bar: ProgressBar?
        let report = try indexer.update(index: URL(fileURLWithPath: out), directory: URL(fileURLWithPath: directory)) { _, total, path in
            if bar == nil { bar = ProgressBar(total: total, label: "index") }
            bar?.advance(detail: URL(fileURLWithPath: path).lastPathComponent)
        }
        bar?.finish()
        if let reason = report.rebuiltBecause { print("note: the existing index was rebuilt from scratch: \(reason)") }
        print("\(out): \(report.entries) files indexed (\(report.added) new, \(report.updated) changed, \(report.unchanged) unchanged, \(report.removed) removed); \(report.problems.count) skipped")
        for problem in report.problems {
            print("  skipped " + (problem.reason.hasPrefix(problem.path) ? problem.reason : "\(problem.path): \(problem.reason)"))
        }
    }
}
