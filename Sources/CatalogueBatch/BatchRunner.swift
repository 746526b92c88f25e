import Captioning
import Dispatch
import Foundation
import MusicTagging
import Synchronization
import ThreadSupport

/// Runs a batch over one shard of a catalogue into an output folder, resumably:
///
/// 1. `DIR/batch.json` fixes the settings (shard count, tasks, models) for every shard and every restart
///    writing into DIR; a run with other settings is refused before any work.
/// 2. The catalogue is read once to count this shard's pending tracks (for progress and ETA), then again
///    to do them. A track is **skipped** when the journal's latest record for its path has the same skip
///    key — `size@mtime-ms`, the size in bytes and modification time in milliseconds, as `muscaps index`
///    uses — and did not fail (failed ones are redone only with `retryFailed`). A changed file is redone.
/// 3. `workers` threads each take the next pending track (the catalogue is pulled under a lock: memory
///    does not grow with its size), analyse it, and append its record to the journal.
/// 4. At the end the journal is compacted to one line per track.
public final class BatchRunner {
    public struct Options: Sendable {
        public var outputDirectory: URL
        public var shard: Shard
        public var tasks: BatchTasks
        public var retryFailed = false
        public var workers = 1
        public init(outputDirectory: URL, shard: Shard, tasks: BatchTasks) {
            self.outputDirectory = outputDirectory
            self.shard = shard
            self.tasks = tasks
        }
    }

    public struct Progress: Sendable {
        /// Tracks finished in this run (done or failed), of `total` pending at the start.
        public var finished: Int
        public var total: Int
        public var failed: Int
        /// Tracks of the shard already done before this run.
        public var skipped: Int
        public var elapsed: TimeInterval
        /// Seconds of audio finished in this run.
        public var audioSeconds: Double
        public var lastPath: String
    }

    public struct Report: Sendable {
        public var shardTracks = 0
        public var processed = 0
        public var failed = 0
        public var skipped = 0
        /// Failed tracks left as they were (without `retryFailed`).
        public var skippedFailures = 0
        public var audioSeconds = 0.0
        public var seconds = 0.0
        public var journal: URL
    }

    public let options: Options
    public let models: BatchModelFiles

    public init(options: Options, models: BatchModelFiles) throws {
        guard !options.tasks.isEmpty else { throw BatchError("nothing to do: ask for at least one of tags, summary, caption, rolling captions or features") }
        if options.tasks.needsCaptioner && models.captionerURL == nil { throw BatchError("captions need a captioning model") }
        self.options = options
        self.models = models
    }

    public var settings: BatchSettings { BatchSettings(shards: options.shard.count, tasks: options.tasks, models: models.identity) }

    /// Creates `DIR/batch.json` or checks that it matches (several array tasks may race here: the file is
    /// published with link(2), which only one of them wins).
    public static func claim(directory: URL, settings: BatchSettings) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("batch.json")
        if !FileManager.default.fileExists(atPath: url.path) {
            let temporary = directory.appendingPathComponent(".batch.json.\(getpid()).\(UUID().uuidString.prefix(8))")
            try Data((try BatchJSON.line(settings) + "\n").utf8).write(to: temporary)
            let linked = link(temporary.path, url.path) == 0
            let reason = errno
            try? FileManager.default.removeItem(at: temporary)
            if linked { return }
            guard reason == EEXIST else { throw BatchError("\(url.path): cannot be created (\(String(cString: strerror(reason))))") }
        }
        let existing = try readSettings(directory: directory)
        if let problem = existing.incompatibility(with: settings) {
            throw BatchError("\(directory.path) holds a batch made with other settings (\(problem)); use another output folder, or the same settings to resume it")
        }
    }

    public static func readSettings(directory: URL) throws -> BatchSettings {
        let url = directory.appendingPathComponent("batch.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { throw BatchError("\(directory.path): no batch.json; not a muscaps batch output folder") }
        do { return try JSONDecoder().decode(BatchSettings.self, from: data) } catch {
            throw BatchError("\(url.path): not a muscaps batch settings file")
        }
    }

    private enum Decision { case skip, skipFailed, work }

    private func decide(_ path: String, journal: BatchJournal) -> Decision {
        guard let entry = journal.entry(for: path) else { return .work }
        let key = LibraryIndex.signature(of: path) ?? ""
        guard entry.keyHash == BatchJournal.hash(key) else { return .work }
        if entry.failed { return options.retryFailed ? .work : .skipFailed }
        return .skip
    }

    public func run(catalogue: Catalogue, progress: @escaping (Progress) -> Void = { _ in }) throws -> Report {
        let directory = options.outputDirectory
        try Self.claim(directory: directory, settings: settings)
        let journal = try BatchJournal(directory: directory, shard: options.shard)
        var report = Report(journal: journal.url)

        // Pass 1: count.
        var pending = 0
        try catalogue.forEachTrack { path in
            guard options.shard.contains(path) else { return }
            report.shardTracks += 1
            switch decide(path, journal: journal) {
            case .skip: report.skipped += 1
            case .skipFailed: report.skippedFailures += 1
            case .work: pending += 1
            }
        }

        // Pass 2: work. Models are loaded once; each worker gets its own analyzer (replica, decoder).
        let musicnn = try Musicnn(contentsOf: models.taggerURL)
        let workers = max(1, min(options.workers, max(pending, 1)))
        let analyzers = try (0..<workers).map { _ in try TrackAnalyzer(tasks: options.tasks, files: models, musicnn: musicnn) }
        let queue = WorkQueue(iterator: try catalogue.makeIterator(), journal: journal, progress: progress,
                              initial: Progress(finished: 0, total: pending, failed: 0, skipped: report.skipped + report.skippedFailures,
                                                elapsed: 0, audioSeconds: 0, lastPath: ""),
                              wanted: { [self] path in options.shard.contains(path) && decide(path, journal: journal) == .work },
                              write: { [self] record in try write(record, journal: journal) })
        // Slot i touches only analyzer i; everything shared goes through the queue's lock.
        let shared = UncheckedBox((analyzers, queue))
        DispatchQueue.concurrentPerform(iterations: workers) { slot in
            let (analyzers, queue) = shared.value
            while let path = queue.next() { queue.finish(analyzers[slot].analyze(path: path, outputDirectory: directory)) }
        }
        if let error = queue.firstError { throw error }
        let state = queue.state
        try journal.compact()
        report.processed = state.finished
        report.failed = state.failed
        report.audioSeconds = state.audioSeconds
        report.seconds = state.elapsed
        return report
    }

    /// Appends the record (with per-track output: first the track's file, atomically, then the journal line).
    private func write(_ record: BatchRecord, journal: BatchJournal) throws {
        guard options.tasks.perTrack && record.status == .done else { return try journal.append(record) }
        let name = "tracks/\(BatchRecord.fileStem(for: record.path)).json"
        var full = record
        full.file = name
        let url = options.outputDirectory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((try BatchJSON.line(full) + "\n").utf8).write(to: url, options: .atomic)
        try journal.append(full.withoutResults)
    }
}

/// The tracks still to do, pulled by the workers one at a time under one lock, which also serialises
/// journal writes and progress reports.
private final class WorkQueue {
    private let lock = Mutex(())  // guards the mutable fields below (a class's stored properties cannot live in the Mutex)
    private let iterator: TrackIterator
    private let journal: BatchJournal
    private let progress: (BatchRunner.Progress) -> Void
    private let wanted: (String) -> Bool
    private let write: (BatchRecord) throws -> Void
    private let started = Monotonic.now()
    /// Tracks being analysed (a path listed twice is done once).
    private var inFlight = Set<String>()
    private(set) var firstError: Error?
    private(set) var state: BatchRunner.Progress

    init(iterator: TrackIterator, journal: BatchJournal, progress: @escaping (BatchRunner.Progress) -> Void, initial: BatchRunner.Progress,
         wanted: @escaping (String) -> Bool, write: @escaping (BatchRecord) throws -> Void) {
        self.iterator = iterator
        self.journal = journal
        self.progress = progress
        self.wanted = wanted
        self.write = write
        state = initial
    }

    /// The next track to analyse; nil when the catalogue is exhausted or a write failed.
    func next() -> String? {
        lock.withLock { _ in
            while firstError == nil, let path = iterator.next() {
                guard !inFlight.contains(path), wanted(path) else { continue }
                inFlight.insert(path)
                return path
            }
            return nil
        }
    }

    func finish(_ record: BatchRecord) {
        lock.withLock { _ in
            inFlight.remove(record.path)
            guard firstError == nil else { return }
            do {
                try write(record)
                state.finished += 1
                if record.status == .failed { state.failed += 1 }
                state.audioSeconds += record.duration ?? 0
                state.elapsed = Monotonic.secondsSince(started)
                state.lastPath = record.path
                progress(state)
            } catch {
                firstError = error
            }
        }
    }
}

/// Hands values to worker threads under an invariant the compiler cannot check (stated where it is used).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
