/// Why the daemon refused a configuration (at start, on SIGHUP, or from `Daemon.apply`). When it is
/// refused while running, nothing running was changed: the parts that were already built for it are
/// torn down again and the old setup keeps captioning.
public enum ReconfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The configuration itself is wrong (a value out of range, a config file that does not parse).
    case invalidConfiguration(message: String)
    /// The capture source cannot be used (bad spec, no such file, no server, no such source).
    case sourceRejected(source: String, reason: String)
    /// The tagging model cannot be loaded.
    case modelRejected(model: String, reason: String)
    /// The captioning model cannot be loaded, or does not fit the tagging model.
    case captionerRejected(captioner: String, reason: String)
    /// An output plugin cannot be found, loaded or started.
    case outputRejected(output: String, reason: String)
    /// The daemon has stopped; there is nothing to apply a configuration to.
    case notRunning

    /// The part that was refused: "configuration", "source", "model", "captioner", "output" or "daemon".
    public var part: String {
        switch self {
        case .invalidConfiguration: return "configuration"
        case .sourceRejected: return "source"
        case .modelRejected: return "model"
        case .captionerRejected: return "captioner"
        case .outputRejected: return "output"
        case .notRunning: return "daemon"
        }
    }

    public var description: String {
        switch self {
        case let .invalidConfiguration(message): return message
        case let .sourceRejected(source, reason): return "cannot use source '\(source)': \(reason)"
        case let .modelRejected(model, reason): return "cannot use tagging model '\(model)': \(reason)"
        case let .captionerRejected(captioner, reason): return "cannot use captioning model '\(captioner)': \(reason)"
        case let .outputRejected(output, reason): return "cannot start output '\(output)': \(reason)"
        case .notRunning: return "the daemon is not running"
        }
    }
}

/// What applying a configuration changed in the running daemon (`Daemon.apply`).
public struct AppliedChanges: Sendable, Equatable, CustomStringConvertible {
    /// A new capture source was started and the old one stopped.
    public var source = false
    /// A new tagging and/or captioning model (or beam width) is in use.
    public var model = false
    /// Hop, context, silence threshold or tags per event changed.
    public var pipelineSettings = false
    /// Names of the outputs started and stopped (outputs whose spec did not change keep running untouched).
    public var outputsAdded: [String] = []
    public var outputsRemoved: [String] = []

    public init() {}

    public var isEmpty: Bool { self == AppliedChanges() }

    public var description: String {
        var parts: [String] = []
        if source { parts.append("source") }
        if model { parts.append("model") }
        if pipelineSettings { parts.append("settings") }
        if !outputsAdded.isEmpty || !outputsRemoved.isEmpty {
            parts.append("outputs (" + (outputsAdded.map { "+\($0)" } + outputsRemoved.map { "-\($0)" }).joined(separator: " ") + ")")
        }
        return parts.isEmpty ? "nothing changed" : parts.joined(separator: ", ")
    }
}

extension DaemonConfiguration {
    /// Settings given on `muscapsd`'s command line. They win over the config file: at start and again
    /// on every reload (`applied(to:)` on the freshly read file).
    public struct Overrides: Sendable, Equatable {
        public var source: String?
        public var outputs: [String] = []
        public var extractor: String?
        public var model: String?
        public var weights: String?
        public var captioner: String?
        public var beam: Int?
        public var hop: Double?
        public var context: Double?
        public var silenceThreshold: Double?
        public var topTags: Int?
        public var loop = false
        public var queueSize: Int?
        /// Searched before the file's plugin directories.
        public var pluginPath: [String] = []
        public var bus: String?
        public var busNameSuffix: String?

        public init() {}

        public func applied(to file: DaemonConfiguration) -> DaemonConfiguration {
            var configuration = file
            if let source { configuration.source = source }
            if !outputs.isEmpty { configuration.outputs = outputs }
            if let extractor { configuration.extractor = extractor }
            if let model { configuration.model = model }
            if let weights { configuration.weights = weights }
            if let captioner { configuration.captioner = captioner }
            if let beam { configuration.beam = beam }
            if let hop { configuration.hop = hop }
            if let context { configuration.context = context }
            if let silenceThreshold { configuration.silenceThreshold = silenceThreshold }
            if let topTags { configuration.topTags = topTags }
            if loop { configuration.loop = true }
            if let queueSize { configuration.queueSize = queueSize }
            if !pluginPath.isEmpty { configuration.pluginPath = pluginPath + configuration.pluginPath }
            if let bus { configuration.bus = bus }
            if let busNameSuffix { configuration.busNameSuffix = busNameSuffix }
            return configuration
        }
    }

    /// The config file at `path` (or the defaults when nil) with `overrides` on top, validated.
    public static func load(path: String?, overrides: Overrides) throws -> DaemonConfiguration {
        let configuration = overrides.applied(to: try path.map(DaemonConfiguration.load(path:)) ?? DaemonConfiguration())
        try configuration.validate()
        return configuration
    }
}
