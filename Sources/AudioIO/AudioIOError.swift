/// Everything that can go wrong turning an audio file (or a stream) into mono samples.
///
/// Each `description` is a single line that starts with the file it concerns and then says why,
/// so the CLI can print it as is and a log line stays one line even for odd paths
/// (control characters in the path are escaped).
public enum AudioIOError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Nothing exists at the path.
    case fileNotFound(path: String)
    /// The path names a directory.
    case isDirectory(path: String)
    /// The path names a FIFO, socket or device; reading one could block forever, so it is refused.
    case notRegularFile(path: String)
    /// The file exists but has zero bytes.
    case emptyFile(path: String)
    /// The process may not read the file.
    case permissionDenied(path: String)
    /// Any other operating-system failure opening or reading the file.
    case unreadable(path: String, reason: String)
    /// The content is no audio format libsndfile knows (random bytes, text, an unsupported container).
    case unrecognisedFormat(path: String, reason: String)
    /// The container is recognised but its header is corrupt or cut short.
    case malformedFile(path: String, reason: String)
    /// The container is recognised but its codec or sample format is not supported.
    case unsupportedEncoding(path: String, reason: String)
    /// The header parses but describes a stream we refuse (absurd sample rate or channel count, too long).
    case unsupportedStream(path: String, reason: String)
    /// The header is valid but the file holds no audio frames.
    case noFrames(path: String)
    /// A decoded sample is NaN or ±infinity (float WAV/AIFF can store them); `frame` counts from 0
    /// in the file's own sample rate.
    case nonFiniteSample(path: String, frame: Int, channel: Int, value: Float)
    /// libsndfile reported an error part-way through the audio data.
    case decodeFailed(path: String, reason: String)
    /// A sample rate the resampler does not accept; `path` is nil for streams that are not files.
    case unsupportedSampleRate(path: String?, rate: Double, reason: String)
    /// libsoxr refused to create a resampler or failed while processing.
    case resamplerFailed(path: String?, reason: String)
    /// Writing an audio file failed (used by `AudioFileWriter`).
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "\(Self.oneLine(path)): no such file"
        case let .isDirectory(path):
            return "\(Self.oneLine(path)): is a directory, not an audio file"
        case let .notRegularFile(path):
            return "\(Self.oneLine(path)): not a regular file (FIFO, socket or device); refusing to read it"
        case let .emptyFile(path):
            return "\(Self.oneLine(path)): file is empty (0 bytes)"
        case let .permissionDenied(path):
            return "\(Self.oneLine(path)): permission denied"
        case let .unreadable(path, reason):
            return "\(Self.oneLine(path)): cannot read file: \(Self.oneLine(reason))"
        case let .unrecognisedFormat(path, reason):
            return "\(Self.oneLine(path)): unrecognised or unsupported audio format: \(Self.oneLine(reason))"
        case let .malformedFile(path, reason):
            return "\(Self.oneLine(path)): corrupt or truncated audio header: \(Self.oneLine(reason))"
        case let .unsupportedEncoding(path, reason):
            return "\(Self.oneLine(path)): unsupported audio encoding: \(Self.oneLine(reason))"
        case let .unsupportedStream(path, reason):
            return "\(Self.oneLine(path)): unsupported audio stream: \(Self.oneLine(reason))"
        case let .noFrames(path):
            return "\(Self.oneLine(path)): file holds no audio frames"
        case let .nonFiniteSample(path, frame, channel, value):
            let kind = value.isNaN ? "NaN" : (value > 0 ? "+infinity" : "-infinity")
            return "\(Self.oneLine(path)): sample \(frame) (channel \(channel)) is \(kind); the file holds non-finite audio"
        case let .decodeFailed(path, reason):
            return "\(Self.oneLine(path)): decoding failed: \(Self.oneLine(reason))"
        case let .unsupportedSampleRate(path, rate, reason):
            return "\(path.map(Self.oneLine) ?? "<stream>"): unsupported sample rate \(Self.formatRate(rate)) Hz: \(Self.oneLine(reason))"
        case let .resamplerFailed(path, reason):
            return "\(path.map(Self.oneLine) ?? "<stream>"): resampling failed: \(Self.oneLine(reason))"
        case let .writeFailed(path, reason):
            return "\(Self.oneLine(path)): cannot write audio file: \(Self.oneLine(reason))"
        }
    }

    /// The file the error concerns, when there is one (for tests and structured logs).
    public var path: String? {
        switch self {
        case let .fileNotFound(path), let .isDirectory(path), let .notRegularFile(path), let .emptyFile(path),
             let .permissionDenied(path), let .noFrames(path):
            return path
        case let .unreadable(path, _), let .unrecognisedFormat(path, _), let .malformedFile(path, _),
             let .unsupportedEncoding(path, _), let .unsupportedStream(path, _), let .decodeFailed(path, _),
             let .writeFailed(path, _):
            return path
        case let .nonFiniteSample(path, _, _, _):
            return path
        case let .unsupportedSampleRate(path, _, _), let .resamplerFailed(path, _):
            return path
        }
    }

    /// Equality that treats NaN payloads as equal (a NaN sample error equals itself).
    public static func == (lhs: AudioIOError, rhs: AudioIOError) -> Bool {
        lhs.description == rhs.description
    }

    /// Escapes control characters (newlines above all) so the description stays one line.
    static func oneLine(_ text: String) -> String { oneLineMessage(text) }

    static func formatRate(_ rate: Double) -> String {
        if rate.isFinite, rate == rate.rounded(), abs(rate) < 1e15 { return String(Int64(rate)) }
        return String(rate)
    }
}

/// `text` with control characters escaped (`\n` → `\\n` …), so an error message naming a path stays one line.
/// Shared by every module's error types.
public func oneLineMessage(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
    var result = ""
    for scalar in text.unicodeScalars {
        if scalar.properties.generalCategory == .control {
            result += scalar.escaped(asASCII: true)
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return result
}
