import Captioning
import Foundation

/// The tracks a batch job walks: every audio file under a folder, or the paths of a list file (one per
/// line, empty lines ignored), or a list read from standard input (`-`, spooled to a file first so the
/// job can read it twice: once to count for the progress bar, once to work).
///
/// Tracks are produced one at a time (`makeIterator`), never all held in memory. A folder is walked as
/// `muscaps index` walks it (`LibraryIndex.audioExtensions`, hidden files skipped) and yields absolute
/// paths; a list yields its paths exactly as written (relative ones resolve against the working folder,
/// so give absolute paths to jobs that run elsewhere). The path string is a track's identity: its shard,
/// its skip key and its place in merged output.
public struct Catalogue: Sendable {
    public enum Source: Sendable, Equatable {
        case directory(String)
        case list(String)
    }

    public let source: Source
    /// Removed by `removeSpool()` (a copy of standard input).
    public let spoolFile: String?

    public init(source: Source, spoolFile: String? = nil) {
        self.source = source
        self.spoolFile = spoolFile
    }

    /// `argument` is a folder, a list file, or `-` (standard input, copied to a file in `spoolDirectory`).
    public static func open(_ argument: String, spoolDirectory: URL = FileManager.default.temporaryDirectory) throws -> Catalogue {
        if argument == "-" {
            let spool = spoolDirectory.appendingPathComponent("muscaps-catalogue-\(getpid())-\(UUID().uuidString.prefix(8)).txt").path
            guard FileManager.default.createFile(atPath: spool, contents: nil) else {
                throw BatchError("cannot create \(spool) to hold the list read from standard input")
            }
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: spool))
            defer { try? output.close() }
            while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 16), !chunk.isEmpty { try output.write(contentsOf: chunk) }
            return Catalogue(source: .list(spool), spoolFile: spool)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            throw BatchError("\(argument): no such folder or list file")
        }
        if isDirectory.boolValue { return Catalogue(source: .directory(URL(fileURLWithPath: argument).standardizedFileURL.path)) }
        if LibraryIndex.audioExtensions.contains(URL(fileURLWithPath: argument).pathExtension.lowercased()) {
            throw BatchError("\(argument) is an audio file; give a folder of audio files or a list file with one path per line")
        }
        guard FileManager.default.isReadableFile(atPath: argument) else { throw BatchError("\(argument): cannot be read") }
        return Catalogue(source: .list(argument))
    }

    public var description: String {
        switch source {
        case let .directory(path): return path
        case let .list(path): return spoolFile != nil ? "standard input" : path
        }
    }

    /// The folder a merged index records as its root ("" for a list).
    public var root: String {
        if case let .directory(path) = source { return path }
        return ""
    }

    public func removeSpool() {
        if let spoolFile { try? FileManager.default.removeItem(atPath: spoolFile) }
    }

    public func makeIterator() throws -> TrackIterator {
        switch source {
        case let .directory(path):
            guard let enumerator = FileManager.default.enumerator(at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.isRegularFileKey],
                                                                  options: [.skipsHiddenFiles]) else {
                throw BatchError("\(path): cannot be listed")
            }
            return TrackIterator(enumerator: enumerator)
        case let .list(path):
            guard let file = fopen(path, "r") else { throw BatchError("\(path): cannot be opened (\(String(cString: strerror(errno))))") }
            return TrackIterator(file: file)
        }
    }

    public func forEachTrack(_ body: (String) throws -> Void) throws {
        let iterator = try makeIterator()
        while let path = iterator.next() { try body(path) }
    }
}

/// One track path at a time from a folder walk or a list file (a class: it owns the open file).
public final class TrackIterator {
    private var enumerator: FileManager.DirectoryEnumerator?
    private var file: UnsafeMutablePointer<FILE>?

    init(enumerator: FileManager.DirectoryEnumerator) { self.enumerator = enumerator }
    init(file: UnsafeMutablePointer<FILE>) { self.file = file }

    deinit { if let file { fclose(file) } }

    public func next() -> String? {
        if let enumerator {
            while let url = enumerator.nextObject() as? URL {
                guard LibraryIndex.audioExtensions.contains(url.pathExtension.lowercased()),
                      (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                return url.standardizedFileURL.path
            }
            return nil
        }
        guard let file else { return nil }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) >= 0 {
            guard let line else { continue }
            var text = String(cString: line)
            while let last = text.last, last.isNewline { text.removeLast() }
            if !text.trimmingCharacters(in: .whitespaces).isEmpty { return text }
        }
        return nil
    }
}
