import Foundation

/// A shard's JSON Lines output, which is also its resume journal: `DIR/batch-IIII-of-NNNN.jsonl`, one
/// `BatchRecord` per line, appended with one `write(2)` and `fdatasync(2)` per track.
///
/// Guarantees:
/// - **No torn line.** A line is written whole in one call after the track is finished; if the machine
///   died mid-write anyway, opening the journal cuts the file back to its last complete line.
/// - **One writer.** An exclusive `flock` on `DIR/batch-IIII-of-NNNN.lock` (held until the process ends,
///   released by the kernel even on SIGKILL) stops two processes running the same shard into one file.
/// - **One record per track** after `compact()`: a track redone (changed file, `--retry-failed`) is
///   appended again and the older line is dropped when the run ends.
///
/// Memory: the done set keeps 8-byte hashes per track (path, key), never results.
public final class BatchJournal {
    public struct Entry: Equatable {
        /// Hash of the skip key the track had when processed.
        public var keyHash: UInt64
        public var failed: Bool
    }

    public let url: URL
    private let descriptor: Int32
    private let lockDescriptor: Int32
    /// Latest entry per path hash.
    public private(set) var entries: [UInt64: Entry] = [:]
    /// Lines that a later line for the same track supersedes.
    public private(set) var supersededLines = 0

    public init(directory: URL, shard: Shard) throws {
        url = directory.appendingPathComponent(shard.fileStem + ".jsonl")
        let lockPath = directory.appendingPathComponent(shard.fileStem + ".lock").path
        lockDescriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockDescriptor >= 0 else { throw BatchError("\(lockPath): cannot be created (\(String(cString: strerror(errno))))") }
        guard flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(lockDescriptor)
            throw BatchError("\(url.path): another muscaps batch is already writing shard \(shard) here (it holds \(lockPath)); wait for it or stop it")
        }
        descriptor = open(url.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            close(lockDescriptor)
            throw BatchError("\(url.path): cannot be opened (\(String(cString: strerror(errno))))")
        }
        do { try load() } catch {
            close(descriptor)
            close(lockDescriptor)
            throw error
        }
    }

    deinit {
        close(descriptor)
        close(lockDescriptor)
    }

    public static func hash(_ text: String) -> UInt64 {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.finalize().prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    public func entry(for path: String) -> Entry? { entries[Self.hash(path)] }

    /// Reads every line; cuts a torn last line; remembers the latest entry of every track.
    private func load() throws {
        var lineNumber = 0
        var validEnd: off_t = 0
        try Self.forEachLine(of: url.path) { line, endOffset in
            lineNumber += 1
            let record: MinimalRecord
            do { record = try JSONDecoder().decode(MinimalRecord.self, from: line) } catch {
                throw BatchError("\(url.path): line \(lineNumber) is not a batch record (the file was edited or damaged); move the file away to redo its tracks")
            }
            let pathHash = Self.hash(record.path)
            if entries[pathHash] != nil { supersededLines += 1 }
            entries[pathHash] = Entry(keyHash: Self.hash(record.key ?? ""), failed: record.status == .failed)
            validEnd = endOffset
        } torn: { _ in }
        let size = lseek(descriptor, 0, SEEK_END)
        if size > validEnd {
            // A line without its newline: the process or machine died while writing it.
            guard ftruncate(descriptor, validEnd) == 0 else { throw BatchError("\(url.path): cannot cut its torn last line (\(String(cString: strerror(errno))))") }
        }
    }

    private struct MinimalRecord: Decodable {
        var path: String
        var key: String?
        var status: BatchRecord.Status
    }

    /// Calls `body` with every complete line (without its newline) and the file offset just past it,
    /// and `torn` with the bytes of an unterminated last line if there is one.
    static func forEachLine(of path: String, _ body: (Data, off_t) throws -> Void, torn: (Data) -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BatchError("\(path): cannot be read") }
        defer { try? handle.close() }
        var pending = Data()
        var consumed: off_t = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                let line = pending[start..<newline]
                consumed += off_t(line.count + 1)
                if !line.isEmpty { try body(Data(line), consumed) }
                start = pending.index(after: newline)
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { torn(pending) }
    }

    /// Appends one record as one line and forces it to disk before returning.
    public func append(_ record: BatchRecord) throws {
        let line = try BatchJSON.line(record) + "\n"
        var bytes = Array(line.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BatchError("\(url.path): cannot write (\(String(cString: strerror(errno))))")
            }
            written += n
        }
        bytes.removeAll()
        guard fdatasync(descriptor) == 0 else { throw BatchError("\(url.path): cannot flush to disk (\(String(cString: strerror(errno))))") }
        let pathHash = Self.hash(record.path)
        if entries[pathHash] != nil { supersededLines += 1 }
        entries[pathHash] = Entry(keyHash: Self.hash(record.key ?? ""), failed: record.status == .failed)
    }

    /// Rewrites the journal keeping only the latest line of every track (atomically: a new file renamed
    /// over the old one), if any line is superseded. Called when a run ends.
    public func compact() throws {
        guard supersededLines > 0 else { return }
        // Pass 1: the line number of every track's latest line.
        var latest: [UInt64: Int] = [:]
        var number = 0
        try Self.forEachLine(of: url.path, { line, _ in
            let record = try JSONDecoder().decode(MinimalRecord.self, from: line)
            latest[Self.hash(record.path)] = number
            number += 1
        }, torn: { _ in })
        // Pass 2: copy those lines.
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).compact-\(getpid())")
        FileManager.default.createFile(atPath: temporary.path, contents: nil)
        let output = try FileHandle(forWritingTo: temporary)
        number = 0
        do {
            try Self.forEachLine(of: url.path, { line, _ in
                let record = try JSONDecoder().decode(MinimalRecord.self, from: line)
                if latest[Self.hash(record.path)] == number { try output.write(contentsOf: line + Data([0x0A])) }
                number += 1
            }, torn: { _ in })
            try output.synchronize()
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        guard rename(temporary.path, url.path) == 0 else { throw BatchError("\(url.path): cannot replace it with its compacted copy (\(String(cString: strerror(errno))))") }
        supersededLines = 0
    }
}
