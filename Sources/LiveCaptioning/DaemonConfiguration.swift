import Captioning
import Foundation
import TOMLKit

/// Everything `muscapsd` can be told, from a TOML file and/or the command line (the command line wins).
///
/// The TOML keys are the long option names with `-` → `_`:
/// ```toml
/// source = "pulse"                    # pulse[:SOURCE] | jack[:PORT-PATTERN] | file:PATH[:realtime] | stdin:FORMAT:RATE:CHANNELS
/// outputs = ["stdout", "file:captions.vtt"]
/// extractor = "musicnn"               # musicnn (3 s windows) or hcnn (Harmonic CNN, 5 s windows)
/// model = "mtt"                       # musicnn tagger: mtt, msd or a weights path
/// weights = "Models/hcnn/HCNN_MTT.safetensors"   # converted Harmonic CNN weights (none ship), used with
///                                     # extractor hcnn or a captioner trained on hcnn features
/// captioner = "Models/captioning/default.safetensors"   # optional captioning model
/// hop = 1.0                           # seconds between windows
/// context = 10.0                      # seconds of audio each caption describes
/// silence_threshold = -60.0           # dBFS below which a window is silence
/// beam = 3                            # 1 = greedy; 3 scores best on the validation set
/// top_tags = 5
/// loop = false                        # file source: start again at the end
/// queue_size = 64                     # events buffered per output before it drops
/// plugin_path = ["/opt/muscaps/plugins"]
/// bus = "session"                     # D-Bus control: session, system or none
/// bus_name_suffix = "studio_a"        # several daemons on one bus: org.muscaps.Daemon1.studio_a
/// ```
public struct DaemonConfiguration: Sendable, Equatable {
    public var source = "pulse"
    public var outputs: [String] = ["stdout"]
    public var extractor = "musicnn"
    public var model = "mtt"
    public var weights: String?
    public var captioner: String?
    public var hop = 1.0
    public var context = 10.0
    public var silenceThreshold = -60.0
    public var beam = DecodingDefaults.beamWidth
    public var topTags = 5
    public var loop = false
    public var queueSize = 64
    public var pluginPath: [String] = []
    /// "session", "system" or "none"; nil: the session bus if there is one (no error if there is not).
    public var bus: String?
    public var busNameSuffix: String?

    public init() {}

    /// The keys a config file may hold.
    public static let keys = ["source", "outputs", "extractor", "model", "weights", "captioner", "hop", "context", "silence_threshold",
                              "beam", "top_tags", "loop", "queue_size", "plugin_path", "bus", "bus_name_suffix"]

    /// Parses a config file's text. Every problem — a syntax error, an unknown key, a value of the wrong
    /// type or out of range — is an error naming the file and the line.
    public static func parse(_ text: String, path: String) throws -> DaemonConfiguration {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigurationError(path: path, line: error.source.begin.line, message: error.description)
        } catch {
            throw ConfigurationError(path: path, line: nil, message: "\(error)")
        }
        var configuration = DaemonConfiguration()
        for key in table.keys.sorted(by: { line(of: $0, in: text) ?? 0 < line(of: $1, in: text) ?? 0 }) {
            let value = table[key]!
            let lineNumber = line(of: key, in: text)
            func fail(_ message: String) -> ConfigurationError { ConfigurationError(path: path, line: lineNumber, message: message) }
            func string() throws -> String {
                guard let text = value.string else { throw fail("'\(key)' must be a string") }
                return text
            }
            func number() throws -> Double {
                if let double = value.double { return double }
                if let int = value.int { return Double(int) }
                throw fail("'\(key)' must be a number")
            }
            func integer() throws -> Int {
                guard let int = value.int else { throw fail("'\(key)' must be an integer") }
                return int
            }
            func strings() throws -> [String] {
                if let single = value.string { return [single] }
                guard let array = value.array else { throw fail("'\(key)' must be a string or a list of strings") }
                return try array.map { element in
                    guard let text = element.string else { throw fail("'\(key)' must be a list of strings") }
                    return text
                }
            }
            switch key {
            case "source": configuration.source = try string()
            case "outputs": configuration.outputs = try strings()
            case "extractor": configuration.extractor = try string()
            case "model": configuration.model = try string()
            case "weights": configuration.weights = try string()
            case "captioner": configuration.captioner = try string()
            case "hop": configuration.hop = try number()
            case "context": configuration.context = try number()
            case "silence_threshold": configuration.silenceThreshold = try number()
            case "beam": configuration.beam = try integer()
            case "top_tags": configuration.topTags = try integer()
            case "loop":
                guard let flag = value.bool else { throw fail("'loop' must be true or false") }
                configuration.loop = flag
            case "queue_size": configuration.queueSize = try integer()
            case "plugin_path": configuration.pluginPath = try strings()
            case "bus": configuration.bus = try string()
            case "bus_name_suffix": configuration.busNameSuffix = try string()
            default:
                throw fail("unknown key '\(key)' (known keys: \(keys.joined(separator: ", ")))")
            }
            do { try configuration.validate() } catch let error as ConfigurationError {
                throw ConfigurationError(path: path, line: lineNumber, message: error.message)
            }
        }
        return configuration
    }

    public static func load(path: String) throws -> DaemonConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(path: path, line: nil, message: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(path: path, line: nil, message: "is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Range checks shared by the file and the command line.
    public func validate() throws {
        func fail(_ message: String) -> ConfigurationError { ConfigurationError(path: nil, line: nil, message: message) }
        guard ["musicnn", "hcnn"].contains(extractor) else { throw fail("extractor must be musicnn or hcnn, got '\(extractor)'") }
        guard hop > 0 && hop <= 60 else { throw fail("hop must be between 0 and 60 seconds, got \(hop)") }
        guard context >= 3 && context <= 600 else { throw fail("context must be between 3 and 600 seconds, got \(context)") }
        guard silenceThreshold <= 0 && silenceThreshold >= -200 else { throw fail("silence_threshold must be between -200 and 0 dBFS, got \(silenceThreshold)") }
        do { try CaptionDecoder.validate(beamWidth: beam) } catch { throw fail("\(error)") }
        guard (1...50).contains(topTags) else { throw fail("top_tags must be between 1 and 50, got \(topTags)") }
        guard (1...100_000).contains(queueSize) else { throw fail("queue_size must be between 1 and 100000, got \(queueSize)") }
        guard !outputs.isEmpty else { throw fail("at least one output is needed") }
        guard !source.isEmpty else { throw fail("source must not be empty") }
        if let bus, !["session", "system", "none"].contains(bus) { throw fail("bus must be session, system or none, got '\(bus)'") }
    }

    /// 1-based line where `key = …` is written (top level), for messages.
    static func line(of key: String, in text: String) -> Int? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where trimmed.hasPrefix(candidate) {
                let rest = trimmed.dropFirst(candidate.count).drop { $0 == " " || $0 == "\t" }
                if rest.hasPrefix("=") || rest.hasPrefix(".") { return index + 1 }
            }
            if trimmed.hasPrefix("[\(key)]") || trimmed.hasPrefix("[\(key).") { return index + 1 }
        }
        return nil
    }
}

/// A configuration problem: `FILE:LINE: message` (or just the message for command-line values).
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let path: String?
    public let line: Int?
    public let message: String
    public var description: String {
        switch (path, line) {
        case let (path?, line?): return "\(path):\(line): \(message)"
        case let (path?, nil): return "\(path): \(message)"
        default: return message
        }
    }
}
