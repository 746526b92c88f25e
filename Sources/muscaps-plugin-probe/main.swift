import ArgumentParser
import Foundation
import OutputPluginHost
import Logging

/// Loads output plugins exactly as `muscapsd --output` does and feeds them synthetic caption events:
/// for plugin authors (does my plugin load, what does it write, how fast is it?) and for the tests
/// that must watch a plugin crash the process it runs in.
struct PluginProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muscaps-plugin-probe",
        abstract: "Load MusCaps output plugins and feed them synthetic caption events.",
        discussion: """
        Examples:
          muscaps-plugin-probe --list
          muscaps-plugin-probe stdout --events 6 --merge
          muscaps-plugin-probe stdout:json file:/tmp/captions.vtt --events 20 --interval-ms 100
          muscaps-plugin-probe ./libmuscaps-plugin-mine.so:option=value
        Plugins are looked up as muscapsd does: $MUSCAPS_PLUGIN_PATH, ~/.local/lib/muscaps/plugins,
        <prefix>/lib/muscaps/plugins, then the executable's directory (the build directory in a checkout).
        """)

    @Argument(help: "Outputs, as for muscapsd --output: NAME, NAME:ARGS, or a path to a plugin .so.")
    var outputs: [String] = []

    @Flag(help: "List the plugins on the search path (loading each to show its version) and exit.")
    var list = false

    @Option(help: "Number of analysis windows to send.")
    var events = 10

    @Option(help: "Length of each window, seconds of media time.")
    var window = 3.0

    @Option(help: "Wall-clock pause between windows, milliseconds (0: as fast as possible).")
    var intervalMs = 0

    @Flag(help: "Send the windows through CaptionMerger: repeated captions merge, interim and final revisions.")
    var merge = false

    @Option(help: "Seconds to wait for the outputs at shutdown before abandoning them.")
    var shutdownTimeout = 3.0

    @Flag(help: "Disable core dumps (for tests that make a plugin crash on purpose).")
    var noCoreDump = false

    @Flag(inversion: .prefixedNo, help: "After naming a crashing plugin, let Swift's backtracer print a backtrace (else: straight to the default action).")
    var backtrace = true

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "muscaps-plugin-probe")
        let searchPath = PluginSearchPath.standard()
        if list {
            for (name, path) in searchPath.availablePlugins() {
                do {
                    let library = try PluginLibrary.load(path: path)
                    print("\(name)\t\(library.version)\t\(path)\t\(library.summary)")
                } catch {
                    print("\(name)\t-\t\(path)\t\(error)")
                }
            }
            return
        }
        guard !outputs.isEmpty else { throw ValidationError("name at least one output, e.g. stdout or file:captions.vtt") }
        if noCoreDump {
            var limit = rlimit(rlim_cur: 0, rlim_max: 0)
            setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        }
        PluginCrashReporter.install(chainToPreviousHandler: backtrace)
        let host: OutputHost
        do {
            host = try OutputHost.start(try outputs.map(OutputSpec.init(parsing:)), searchPath: searchPath,
                                        hostVersion: "muscaps-plugin-probe", installCrashReporter: false, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("muscaps-plugin-probe: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var merger = CaptionMerger()
        let started = CaptionEvent.wallClockNow()
        for index in 0..<events {
            var event = Self.syntheticWindow(index, window: window)
            event.wallClockStart = started + Int64(event.start * 1e9)
            if merge {
                merger.add(event) { host.emit($0) }
            } else {
                event.id = UInt64(index + 1)
                host.emit(event)
            }
            if intervalMs > 0 { usleep(UInt32(intervalMs) * 1000) }
        }
        if merge { merger.finish { host.emit($0) } }
        let outcomes = host.shutdown(timeout: shutdownTimeout)
        for statistics in host.statistics { logger.info("\(statistics)") }
        if outcomes.contains(.abandoned) { throw ExitCode(1) }
    }

    /// A small, repetitive programme: piano (twice), rock, tags only (twice), silence, ...
    static func syntheticWindow(_ index: Int, window: Double) -> CaptionEvent {
        let start = Double(index) * window
        let programme: [(String, [CaptionEvent.Tag])] = [
            ("a gentle solo piano waltz", [.init("piano", 0.91), .init("classical", 0.72), .init("slow", 0.55)]),
            ("a gentle solo piano waltz", [.init("piano", 0.89), .init("classical", 0.70), .init("slow", 0.51)]),
            ("upbeat rock with electric guitars and pounding drums", [.init("rock", 0.88), .init("guitar", 0.81), .init("drums", 0.64)]),
            ("", [.init("techno", 0.77), .init("electronic", 0.74), .init("beat", 0.60)]),
            ("", [.init("electronic", 0.79), .init("techno", 0.71), .init("beat", 0.58)]),
            ("", []),
        ]
        let (text, tags) = programme[index % programme.count]
        if tags.isEmpty { return CaptionEvent(kind: .silence, start: start, end: start + window, model: "synthetic") }
        return CaptionEvent(kind: .caption, start: start, end: start + window, text: text, tags: tags, model: "synthetic",
                            latencyMilliseconds: 12.5)
    }
}

/// The command line. Swift finds argv on Linux through `environ`, which an LD_PRELOAD library that
/// rewrites the environment (libfaketime, used by the daily-rotation test) leaves empty: then read it
/// from /proc/self/cmdline.
func commandLineArguments() -> [String] {
    if !CommandLine.arguments.isEmpty { return Array(CommandLine.arguments.dropFirst()) }
    guard let data = FileManager.default.contents(atPath: "/proc/self/cmdline") else { return [] }
    return Array(data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        .dropFirst().dropLast(data.last == 0 ? 1 : 0))
}

PluginProbe.main(commandLineArguments())
