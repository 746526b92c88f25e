import AudioIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Everything that can go wrong setting up or running a capture source. Each `description` is one
/// line that names the source or server and says why, ready for `muscapsd` to print or log.
/// (File sources throw `AudioIOError` for the file itself, which is one line too.)
public enum CaptureError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A source spec that does not parse; `reason` says which part is wrong.
    case badSpec(spec: String, reason: String)
    /// The audio server is not running or refused the connection (`server` is "PulseAudio" or
    /// "JACK" plus the address or name that was tried).
    case serverUnavailable(server: String, reason: String)
    /// The server answered but the named source does not exist.
    case noSuchSource(server: String, name: String, available: [String])
    /// No JACK output port matches the pattern.
    case noMatchingPorts(pattern: String, available: [String])
    /// The server accepted the connection but refused a request (stream, port, activation).
    case requestFailed(server: String, what: String, reason: String)
    /// A server did not answer in time.
    case timedOut(server: String, what: String, seconds: Double)
    /// Reading a pipe or descriptor failed.
    case readFailed(source: String, reason: String)
    /// `start()` on a source that was already started (sources run once; make a new one).
    case alreadyStarted(source: String)
    /// A consumer was made for a source that has not started (no format, no ring yet).
    case notStarted(source: String)
    /// An operating-system call failed.
    case system(what: String, code: Int32)

    public var description: String {
        switch self {
        case let .badSpec(spec, reason):
            return "bad source spec '\(Self.oneLine(spec))': \(reason)"
        case let .serverUnavailable(server, reason):
            return "\(server) is not running or not reachable: \(Self.oneLine(reason))"
        case let .noSuchSource(server, name, available):
            let list = available.isEmpty ? "none" : available.map(Self.oneLine).joined(separator: ", ")
            return "\(server) has no source named '\(Self.oneLine(name))' (available: \(list))"
        case let .noMatchingPorts(pattern, available):
            let list = available.isEmpty ? "none" : available.map(Self.oneLine).joined(separator: ", ")
            return "JACK: no output port matches '\(Self.oneLine(pattern))' (output ports: \(list))"
        case let .requestFailed(server, what, reason):
            return "\(server): \(what) failed: \(Self.oneLine(reason))"
        case let .timedOut(server, what, seconds):
            return "\(server): \(what) did not complete within \(seconds) s"
        case let .readFailed(source, reason):
            return "\(Self.oneLine(source)): read failed: \(Self.oneLine(reason))"
        case let .alreadyStarted(source):
            return "\(Self.oneLine(source)): already started (a capture source runs once)"
        case let .notStarted(source):
            return "\(Self.oneLine(source)): not started; call start() before reading from it"
        case let .system(what, code):
            return "\(what): \(String(cString: strerror(code)))"
        }
    }

    /// Escapes control characters so a message stays on one line.
    static func oneLine(_ text: String) -> String { oneLineMessage(text) }
}
