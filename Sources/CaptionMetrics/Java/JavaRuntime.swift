import Foundation
import Synchronization

/// Finding and running the Java programs behind METEOR and SPICE (the official jars; re-implementing them
/// would mean re-implementing WordNet matching, stemming, paraphrase tables and a scene-graph parser).
enum JavaRuntime {
    /// `$MUSCAPS_JAVA`, else `$JAVA_HOME/bin/java`, else `java` on `$PATH`.
    static func locate(environment: [String: String]) -> Result<URL, MetricUnavailable> {
        let fm = FileManager.default
        if let explicit = environment["MUSCAPS_JAVA"], !explicit.isEmpty {
            return fm.isExecutableFile(atPath: explicit) ? .success(URL(fileURLWithPath: explicit))
                : .failure(MetricUnavailable("MUSCAPS_JAVA=\(explicit) is not an executable file"))
        }
        if let home = environment["JAVA_HOME"], !home.isEmpty {
            let java = URL(fileURLWithPath: home).appendingPathComponent("bin/java")
            if fm.isExecutableFile(atPath: java.path) { return .success(java) }
        }
        for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let java = URL(fileURLWithPath: String(directory)).appendingPathComponent("java")
            if fm.isExecutableFile(atPath: java.path) { return .success(java) }
        }
        return .failure(MetricUnavailable("no Java runtime found (install one, e.g. apt-get install default-jre-headless, "
                                          + "or set MUSCAPS_JAVA)"))
    }

    /// A running Java program spoken to line by line over stdin/stdout (METEOR's -stdio mode).
    final class LineSession {
        private let process = Process()
        private let input = Pipe(), output = Pipe(), errors = Pipe()
        private var buffer = Data()
        private let stderrText = StderrCollector()
        private var watchdog: DispatchWorkItem?
        let name: String

        init(name: String, java: URL, arguments: [String], directory: URL, timeout: TimeInterval) throws {
            self.name = name
            JavaRuntime.ignoreBrokenPipes()
            process.executableURL = java
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            stderrText.collect(errors.fileHandleForReading)
            let work = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
            watchdog = work
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: work)
        }

        func send(_ line: String) throws {
            do {
                try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
            } catch {
                throw failure("stopped accepting input")
            }
        }

        func readLine() throws -> String {
            while true {
                if let newline = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    return line
                }
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { throw failure("ended early") }
                buffer.append(chunk)
            }
        }

        /// Closes stdin and waits for the program to exit.
        func finish() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            watchdog?.cancel()
        }

        private func failure(_ what: String) -> MetricUnavailable {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            watchdog?.cancel()
            let text = stderrText.wait()
            return MetricUnavailable("\(name) \(what) (exit \(process.terminationStatus))"
                                     + (JavaRuntime.lastLine(of: text).map { ": \($0)" } ?? ""))
        }
    }

    /// Reads a pipe to its end on another thread (so the program never blocks on a full stderr pipe).
    final class StderrCollector: @unchecked Sendable {
        private let done = DispatchGroup()
        private let data = Mutex(Data())

        func collect(_ handle: FileHandle) {
            done.enter()
            DispatchQueue.global().async {
                let read = handle.readDataToEndOfFile()
                self.data.withLock { $0 = read }
                self.done.leave()
            }
        }

        func wait() -> String {
            done.wait()
            return data.withLock { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Runs a Java program to completion; returns its exit status and stderr.
    static func run(java: URL, arguments: [String], directory: URL, timeout: TimeInterval) throws -> (Int32, String) {
        ignoreBrokenPipes()
        let process = Process()
        process.executableURL = java
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let work = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: work)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        work.cancel()
        return (process.terminationStatus, text)
    }

    /// The last non-empty line of a program's stderr (Java prints the exception there).
    static func lastLine(of text: String) -> String? {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .last { !$0.isEmpty && !$0.hasPrefix("at ") && !$0.hasPrefix("...") }
    }

    /// Writing to a Java program that died must be an error, not SIGPIPE killing this process.
    static func ignoreBrokenPipes() { _ = brokenPipesIgnored }
    private static let brokenPipesIgnored: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()
}

/// Why a metric could not be computed (reported as such, never as a score of 0).
public struct MetricUnavailable: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
