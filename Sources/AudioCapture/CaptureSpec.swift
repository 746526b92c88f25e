/// A capture source as `muscapsd --source` names it:
///
/// ```
/// pulse[:SOURCE]                 PulseAudio/PipeWire-pulse; default @DEFAULT_MONITOR@ (what the default sink plays)
/// jack[:PORT-PATTERN]            JACK output ports by name or glob (default system:capture_*);
///                                a pattern without ':' names a client (all its output ports)
/// file:PATH[:realtime][:loop]    an audio file: as fast as possible, or paced in real time; optionally looping
/// stdin:FORMAT:RATE:CHANNELS     raw PCM on standard input, FORMAT s16le or f32le
/// ```
public enum CaptureSpec: Sendable, Equatable, CustomStringConvertible {
    case pulse(source: String)
    case jack(portPattern: String)
    case file(path: String, realtime: Bool, loop: Bool)
    case stdin(format: RawSampleFormat, sampleRate: Int, channels: Int)

    public static let defaultPulseSource = "@DEFAULT_MONITOR@"
    public static let defaultJackPattern = "system:capture_*"
    /// The grammar, for `--help` and error messages.
    public static let usage = "pulse[:SOURCE] | jack[:PORT-PATTERN] | file:PATH[:realtime][:loop] | stdin:FORMAT:RATE:CHANNELS"

    /// Parses a spec; every failure is a `CaptureError.badSpec` with a one-line reason.
    public init(parsing text: String) throws {
        func bad(_ reason: String) -> CaptureError { .badSpec(spec: text, reason: reason) }
        guard !text.isEmpty else { throw bad("empty; expected \(Self.usage)") }
        let kind: Substring
        let rest: Substring?
        if let colon = text.firstIndex(of: ":") {
            kind = text[..<colon]
            rest = text[text.index(after: colon)...]
        } else {
            kind = Substring(text)
            rest = nil
        }
        switch kind {
        case "pulse":
            guard let rest else { self = .pulse(source: Self.defaultPulseSource); return }
            guard !rest.isEmpty else { throw bad("empty PulseAudio source name after 'pulse:' (omit it for \(Self.defaultPulseSource))") }
            self = .pulse(source: String(rest))
        case "jack":
            guard let rest else { self = .jack(portPattern: Self.defaultJackPattern); return }
            guard !rest.isEmpty else { throw bad("empty JACK port pattern after 'jack:' (omit it for \(Self.defaultJackPattern))") }
            self = .jack(portPattern: String(rest))
        case "file":
            guard var path = rest, !path.isEmpty else { throw bad("missing path; expected file:PATH[:realtime][:loop]") }
            var realtime = false, loop = false
            // Options come last; a path may itself contain ':'.
            while true {
                if path.hasSuffix(":realtime") {
                    guard !realtime else { throw bad("'realtime' given twice") }
                    realtime = true
                    path = path.dropLast(":realtime".count)
                } else if path.hasSuffix(":loop") {
                    guard !loop else { throw bad("'loop' given twice") }
                    loop = true
                    path = path.dropLast(":loop".count)
                } else {
                    break
                }
            }
            guard !path.isEmpty else { throw bad("missing path before the options; expected file:PATH[:realtime][:loop]") }
            self = .file(path: String(path), realtime: realtime, loop: loop)
        case "stdin":
            let example = "expected stdin:FORMAT:RATE:CHANNELS, e.g. stdin:s16le:48000:2"
            guard let rest, !rest.isEmpty else { throw bad("missing format, rate and channels; \(example)") }
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3 else { throw bad("\(parts.count) field\(parts.count == 1 ? "" : "s") after 'stdin:'; \(example)") }
            guard let format = RawSampleFormat(rawValue: String(parts[0])) else {
                throw bad("unknown sample format '\(CaptureError.oneLine(String(parts[0])))' (supported: s16le, f32le)")
            }
            guard let rate = Int(parts[1]), (1_000...768_000).contains(rate) else {
                throw bad("sample rate '\(CaptureError.oneLine(String(parts[1])))' is not a whole number of Hz within 1000...768000")
            }
            guard let channels = Int(parts[2]), (1...256).contains(channels) else {
                throw bad("channel count '\(CaptureError.oneLine(String(parts[2])))' is not a whole number within 1...256")
            }
            self = .stdin(format: format, sampleRate: rate, channels: channels)
        default:
            throw bad("unknown source type '\(CaptureError.oneLine(String(kind)))'; expected \(Self.usage)")
        }
    }

    /// The canonical spec string (defaults filled in).
    public var description: String {
        switch self {
        case let .pulse(source): return "pulse:\(source)"
        case let .jack(pattern): return "jack:\(pattern)"
        case let .file(path, realtime, loop): return "file:\(path)\(realtime ? ":realtime" : "")\(loop ? ":loop" : "")"
        case let .stdin(format, rate, channels): return "stdin:\(format.rawValue):\(rate):\(channels)"
        }
    }

    /// Makes the source this spec names (not started).
    public func makeSource(options: CaptureOptions = CaptureOptions()) -> any CaptureSource {
        switch self {
        case let .pulse(source):
            return PulseCaptureSource(source: source, options: options)
        case let .jack(pattern):
            return JackCaptureSource(portPattern: pattern, options: options)
        case let .file(path, realtime, loop):
            return FileCaptureSource(path: path, realtime: realtime, loop: loop, options: options)
        case let .stdin(format, rate, channels):
            return RawStreamCaptureSource(format: format, sampleRate: rate, channels: channels, options: options)
        }
    }
}

/// Raw PCM sample encodings accepted on standard input.
public enum RawSampleFormat: String, Sendable, CaseIterable {
    /// Signed 16-bit little-endian, scaled by 1/32768 (as libsndfile and librosa read PCM16).
    case s16le
    /// IEEE float32 little-endian.
    case f32le

    public var bytesPerSample: Int {
        switch self {
        case .s16le: return 2
        case .f32le: return 4
        }
    }
}
