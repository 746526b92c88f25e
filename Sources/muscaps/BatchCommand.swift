import ArgumentParser
import Captioning
import CatalogueBatch
import Foundation
import MusicTagging
import NeuralCore
import ThreadSupport

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Tag, caption or index a whole catalogue: resumable, one shard per scheduler task (Slurm, Kubernetes, GNU parallel).",
        subcommands: [BatchRunCommand.self, BatchMergeCommand.self],
        defaultSubcommand: BatchRunCommand.self)
}

struct BatchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Process one shard of a catalogue into an output folder (`muscaps batch CATALOGUE --out DIR …`).",
        discussion: """
        CATALOGUE is a folder (every wav/flac/ogg/opus/mp3/npy file under it, hidden files skipped), a \
        text file with one audio path per line, or - for such a list on standard input.
        Results go to DIR/batch-IIII-of-NNNN.jsonl: one JSON object per track, written and flushed as soon \
        as the track is finished — {"path", "key", "status": "done"|"failed", "error", "sha256", "duration", \
        "models", and the results asked for: "summary", "windows", "caption", "captions", "features"}. \
        With --per-track the results go to DIR/tracks/<id>.json instead and the line points to the file.
        Run it again with the same settings to resume: a track is skipped if its latest record has the \
        same key, "size@mtime-ms" (size in bytes, modification time in ms), and did not fail; \
        --retry-failed also redoes the failed ones. A killed run leaves no torn line.
        Sharding: --shard I/N takes the tracks whose path hashes to I (SHA-256 of the path mod N). Without \
        it the shard comes from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (sbatch --array=0-3), or from \
        Kubernetes' JOB_COMPLETION_INDEX with --shard-count N. All shards can share one DIR; then \
        `muscaps batch merge DIR --catalogue CATALOGUE --out all.jsonl` (and `muscaps index merge`).
        Examples:
          muscaps batch ~/Music --out runs/music --summary --caption
          find /archive -name '*.flac' | muscaps batch - --out runs/archive --caption --every 10 --features
          muscaps batch list.txt --out runs/list --tags --shard 2/8
        """)

    @Argument(help: ArgumentHelp("A folder of audio files, a file listing one audio path per line, or - (list on standard input).", valueName: "CATALOGUE"))
    var catalogue: String

    @Option(name: .long, help: ArgumentHelp("Output folder (shared by all shards; created if needed).", valueName: "DIR"))
    var out: String

    @Flag(name: .long, help: "Top tags of every 2.99 s window.")
    var tags = false

    @Flag(name: .long, help: "Top tags of the whole track.")
    var summary = false

    @Flag(name: .long, help: "One caption of the whole track.")
    var caption = false

    @Option(name: .long, help: ArgumentHelp("Rolling captions every SECONDS of audio (of the last --context seconds).", valueName: "SECONDS"))
    var every: Double?

    @Option(name: .long, help: ArgumentHelp("With --every: seconds of audio each rolling caption describes.", valueName: "SECONDS"))
    var context: Double = 10

    @Flag(name: .long, help: "Window features for a search index (`muscaps index merge`).")
    var features = false

    @Option(name: .long, help: "Tags listed per window or summary.")
    var top: Int = 5

    @Option(name: .long, help: ArgumentHelp("musicnn tagger: mtt or msd (must be the captioning model's extractor).", valueName: "mtt|msd"))
    var tagger: String?

    @OptionGroup var captioner: CaptioningModelOptions
    @OptionGroup var decoding: DecodingOptions

    @Flag(name: .long, help: "Write each track's results to DIR/tracks/<id>.json instead of inline.")
    var perTrack = false

    @Option(name: .long, help: ArgumentHelp("This process's shard, 0-based: I/N.", valueName: "I/N"))
    var shard: String?

    @Option(name: .long, help: ArgumentHelp("Shard count with a Kubernetes JOB_COMPLETION_INDEX (the Job's completions).", valueName: "N"))
    var shardCount: Int?

    @Flag(name: .long, help: "Also redo tracks that failed before.")
    var retryFailed = false

    @Option(name: .long, help: "Tracks analysed in parallel (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: ArgumentHelp("When stderr is not a terminal: seconds between progress lines.", valueName: "SECONDS"))
    var progressInterval: Double = 30

    func validate() throws {
        if !(tags || summary || caption || every != nil || features) {
            throw ValidationError("say what to compute: --tags, --summary, --caption, --every SECONDS and/or --features")
        }
        if let every, !(every > 0) { throw ValidationError("--every must be positive (got \(every))") }
        if !(context >= MelWindower.frameSeconds * Double(MelWindower.windowFrames)) {
            throw ValidationError("--context must be at least one window (2.992 s), got \(context)")
        }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if let tagger, MusicnnModelName(rawValue: tagger.lowercased()) == nil { throw ValidationError("--tagger must be mtt or msd (got '\(tagger)')") }
        if shard != nil && shardCount != nil { throw ValidationError("give --shard I/N or --shard-count N, not both") }
        if !(progressInterval > 0) { throw ValidationError("--progress-interval must be positive") }
    }

    func run() throws {
        BLAS.threadCount = 1  // parallel tracks, single-threaded BLAS in each
        var tasks = BatchTasks()
        tasks.tags = tags
        tasks.summary = summary
        tasks.caption = caption
        tasks.every = every
        tasks.context = context
        tasks.features = features
        tasks.top = top
        tasks.beam = decoding.beam
        tasks.maxLength = decoding.maxLength
        tasks.perTrack = perTrack
        let shard = try shard.map(Shard.parse) ?? Shard.fromEnvironment(ProcessInfo.processInfo.environment, countOption: shardCount)

        // Tagger: as named, else the captioning model's extractor, else mtt.
        let captionerURL = tasks.needsCaptioner ? try CaptioningModelBundle.resolve(captioner.model) : nil
        var taggerName = tagger.flatMap { MusicnnModelName(rawValue: $0.lowercased()) }
        if taggerName == nil, let captionerURL {
            taggerName = try CaptioningModelBundle.load(captionerURL).musicnnModel
        }
        let name = taggerName ?? .mtt
        let models = try BatchModelFiles(tagger: name, taggerURL: try MusicnnModelName.resolve(name.rawValue), captionerURL: captionerURL)

        var options = BatchRunner.Options(outputDirectory: URL(fileURLWithPath: out), shard: shard, tasks: tasks)
        options.retryFailed = retryFailed
        options.workers = jobs
        let runner = try BatchRunner(options: options, models: models)
        let source = try Catalogue.open(catalogue)
        defer { source.removeSpool() }

        let reporter = BatchProgressReporter(label: "batch \(shard)", interval: progressInterval)
        let report = try runner.run(catalogue: source) { reporter.update($0) }
        reporter.finish()
        let rate = report.seconds > 0 ? String(format: ", %.2f tracks/s", Double(report.processed) / report.seconds) : ""
        FileHandle.standardError.write(Data(("muscaps batch: shard \(shard) of \(source.description): \(report.shardTracks) tracks; " +
            "\(report.processed) processed (\(report.failed) failed) in \(ProgressBar.formatDuration(report.seconds))\(rate); " +
            "\(report.skipped) already done, \(report.skippedFailures) failed before" + (report.skippedFailures > 0 && !retryFailed ? " (--retry-failed redoes them)" : "") +
            " → \(report.journal.path)\n").utf8))
    }
}

/// Progress of a batch: the bar with ETA on a terminal, otherwise one plain line every `interval` seconds
/// (for scheduler logs, which a redrawn bar would fill with carriage returns).
final class BatchProgressReporter {
    private let label: String
    private let interval: Double
    private let terminal = isatty(STDERR_FILENO) == 1
    private var bar: ProgressBar?
    private var lastLine = Monotonic.now()

    init(label: String, interval: Double) {
        self.label = label
        self.interval = interval
    }

    func update(_ progress: BatchRunner.Progress) {
        if terminal {
            if bar == nil { bar = ProgressBar(total: progress.total, label: label) }
            bar?.advance(detail: "\(progress.failed) failed  " + URL(fileURLWithPath: progress.lastPath).lastPathComponent)
            return
        }
        let now = Monotonic.now()
        guard Double(now - lastLine) / 1e9 >= interval || progress.finished == progress.total else { return }
        lastLine = now
        let eta = progress.finished > 0 ? progress.elapsed / Double(progress.finished) * Double(progress.total - progress.finished) : 0
        let percent = progress.total > 0 ? 100 * progress.finished / progress.total : 100
        FileHandle.standardError.write(Data(("\(label): \(progress.finished)/\(progress.total) tracks (\(percent)%), \(progress.failed) failed, " +
            String(format: "%.2f tracks/s, ", Double(progress.finished) / max(progress.elapsed, 1e-9)) +
            "\(ProgressBar.formatDuration(progress.elapsed)) elapsed, ETA \(ProgressBar.formatDuration(eta))\n").utf8))
    }

    func finish() { bar?.finish() }
}

struct BatchMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Check and combine the shard outputs of a batch into one JSON Lines file, sorted by path.",
        discussion: """
        Refuses (exit 1, naming the tracks or files) unless every output folder was made with the same \
        settings and models, every shard 0..N-1 has its output, and every track of CATALOGUE has exactly \
        one record. Failed tracks are kept as failed records and counted.
        Example:
          muscaps batch merge runs/music --catalogue ~/Music --out music.jsonl
        """)

    @OptionGroup var shards: ShardOutputs

    @Option(name: .long, help: ArgumentHelp("Merged JSON Lines file to write.", valueName: "FILE"))
    var out: String

    func run() throws {
        try shards.checkedMerge { merge, _ in
            try merge.writeJSONLines(to: URL(fileURLWithPath: out))
            print("\(out): \(merge.paths.count) tracks from \(merge.journals.count) shards (\(merge.failedCount) failed)")
        }
    }
}

struct IndexMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Build one search index from the features of a sharded `muscaps batch --features`.",
        discussion: """
        Checks the shard outputs as `muscaps batch merge` does, then writes one index (--out, and \
        --out.safetensors) that `muscaps search` reads and `muscaps index` can update.
        Example:
          muscaps index merge runs/music --catalogue ~/Music --out music.idx
        """)

    @OptionGroup var shards: ShardOutputs

    @Option(name: .long, help: ArgumentHelp("Index file to write.", valueName: "FILE"))
    var out: String

    func run() throws {
        try shards.checkedMerge { merge, source in
            let index = try merge.makeIndex(root: source.root)
            try index.save(to: URL(fileURLWithPath: out))
            print("\(out): \(index.entries.count) files indexed from \(merge.journals.count) shards; \(index.problems.count) failed")
        }
    }
}

/// The inputs both merges take: the shard output folders and the catalogue they must cover, checked together.
struct ShardOutputs: ParsableArguments {
    @Argument(help: ArgumentHelp("Batch output folders (one, if all shards wrote to the same folder).", valueName: "DIR"))
    var folders: [String]

    @Option(name: .long, help: ArgumentHelp("The catalogue the batch ran on (folder, list file or -).", valueName: "CATALOGUE"))
    var catalogue: String

    func validate() throws {
        if folders.isEmpty { throw ValidationError("give at least one batch output folder") }
    }

    /// Opens the catalogue, checks every shard output against it (`BatchMerge.check`) and hands the result on.
    func checkedMerge(_ body: (BatchMerge, Catalogue) throws -> Void) throws {
        let source = try Catalogue.open(catalogue)
        defer { source.removeSpool() }
        try body(try BatchMerge.check(directories: folders.map { URL(fileURLWithPath: $0) }, catalogue: source), source)
    }
}
