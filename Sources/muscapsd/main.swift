import ArgumentParser
import AudioCapture
import DaemonBus
import Foundation
import LiveCaptioning
import Logging
import MusicTagging
import NeuralCore

/// The live daemon: argument parsing and wiring only; the work is in LiveCaptioning.Daemon.
struct MuscapsDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muscapsd",
        abstract: "Describe what is playing, live: capture audio, tag it (and caption it) every hop, send events to outputs.",
        discussion: """
        Sources (--source):
          pulse[:SOURCE]                 PulseAudio/PipeWire; default @DEFAULT_MONITOR@ (what the desktop plays)
          jack[:PORT-PATTERN]            JACK output ports by name or glob (default system:capture_*)
          file:PATH[:realtime][:loop]    an audio file, as fast as possible or in real time; ends at EOF (exit 0)
          stdin:FORMAT:RATE:CHANNELS     raw PCM on standard input; FORMAT s16le or f32le
        Outputs (--output, repeatable), loaded as plugins (.so) from $MUSCAPS_PLUGIN_PATH,
        ~/.local/lib/muscaps/plugins, <prefix>/lib/muscaps/plugins or beside the executable:
          stdout[:json]                  human lines, or JSON Lines
          file:PATH[,format=vtt|srt|jsonl][,rotate_bytes=10M|,rotate=daily][,fsync=yes]
        Every option can be set in a TOML file (--config) under the same name with '_' for '-';
        the command line wins. Unknown keys are errors with their line number.
          dbus[:interim=no]              Caption/Silence signals on the daemon's D-Bus object
        D-Bus: the daemon serves org.muscaps.Daemon1 at /org/muscaps/Daemon1 on the session bus (when there
        is one), on the system bus with --system-bus, or not at all with --bus none (docs/DBUS.md).
        Signals: SIGINT/SIGTERM stop cleanly (outputs flushed, files closed); SIGHUP re-reads --config with
        the command-line options on top and changes only what changed; if a part cannot be started the
        running setup is kept and the reason logged.
        Captions need a captioning model (--captioner, or the shipped default in Models/captioning when
        there is one); without one the daemon emits tags only, and says so in each event's model id.
        Plugins run in-process: a plugin that crashes takes the daemon with it, and the crash report
        names the plugin.
        Examples:
          muscapsd --source pulse --output stdout
          muscapsd --source file:Examples/demo.wav --output stdout:json --output file:demo.vtt
          muscapsd --config /etc/muscapsd.toml
        """,
        version: MusCapsVersion.withBLASKernel)

    @Option(help: ArgumentHelp("Where audio comes from (see above).", valueName: "SPEC"))
    var source: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("Where events go; repeat for several (default stdout).", valueName: "SPEC"))
    var outputs: [String] = []

    @Option(help: ArgumentHelp("Feature extractor: musicnn (3 s windows, default) or hcnn (Harmonic CNN, 5 s windows; needs --weights or Models/hcnn/HCNN_MTT.safetensors, see Models/README.md).", valueName: "musicnn|hcnn"))
    var extractor: String?

    @Option(help: ArgumentHelp("musicnn tagging model: mtt, msd or a path to converted weights.", valueName: "MODEL"))
    var model: String?

    @Option(help: ArgumentHelp("Converted Harmonic CNN weights, for --extractor hcnn or a captioner trained on hcnn features (default: Models/hcnn/HCNN_MTT.safetensors).", valueName: "FILE"))
    var weights: String?

    @Option(help: ArgumentHelp("Captioning model (a checkpoint from `muscaps train`); default: Models/captioning/default.safetensors when it exists; 'none' for tags only.", valueName: "MODEL"))
    var captioner: String?

    @Option(help: "Beam size for captions (default 3, the best on the validation set; 1 = greedy).")
    var beam: Int?

    @Option(help: ArgumentHelp("Seconds between windows (default 1).", valueName: "SECONDS"))
    var hop: Double?

    @Option(help: ArgumentHelp("Seconds of audio a caption describes (default 10).", valueName: "SECONDS"))
    var context: Double?

    @Option(name: .customLong("silence-threshold"), help: ArgumentHelp("Windows below this level (dBFS) are silence (default -60; write --silence-threshold=-50).", valueName: "DB"))
    var silenceThreshold: Double?

    @Option(name: .customLong("top-tags"), help: "Tags per event (default 5).")
    var topTags: Int?

    @Flag(help: "File source: start again at the end instead of exiting.")
    var loop = false

    @Option(name: .customLong("queue-size"), help: "Events buffered per output before it drops its oldest (default 64).")
    var queueSize: Int?

    @Option(name: .customLong("plugin-path"), help: ArgumentHelp("Extra plugin directory searched first; repeatable.", valueName: "DIR"))
    var pluginPath: [String] = []

    @Option(help: ArgumentHelp("D-Bus control interface: session, system or none (default: the session bus if there is one).", valueName: "BUS"))
    var bus: String?

    @Flag(name: .customLong("system-bus"), help: "Serve the D-Bus interface on the system bus (same as --bus system).")
    var systemBus = false

    @Option(name: .customLong("bus-name-suffix"), help: ArgumentHelp("Run as org.muscaps.Daemon1.NAME, for several daemons on one bus.", valueName: "NAME"))
    var busNameSuffix: String?

    @Option(help: ArgumentHelp("TOML configuration file.", valueName: "FILE"))
    var config: String?

    @Flag(name: .customLong("list-sources"), help: "List PulseAudio sources and JACK ports, then exit.")
    var listSources = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String = "info"

    /// The command line's settings; they win over the config file, at start and on every SIGHUP.
    var overrides: DaemonConfiguration.Overrides {
        var overrides = DaemonConfiguration.Overrides()
        overrides.source = source
        overrides.outputs = outputs
        overrides.extractor = extractor
        overrides.model = model
        overrides.weights = weights
        overrides.captioner = captioner
        overrides.beam = beam
        overrides.hop = hop
        overrides.context = context
        overrides.silenceThreshold = silenceThreshold
        overrides.topTags = topTags
        overrides.loop = loop
        overrides.queueSize = queueSize
        overrides.pluginPath = pluginPath
        overrides.bus = systemBus ? "system" : bus
        overrides.busNameSuffix = busNameSuffix
        return overrides
    }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        if systemBus, let bus, bus != "system" { throw ValidationError("--system-bus contradicts --bus \(bus)") }
    }

    func run() throws {
        if listSources {
            print(SourceListing.query())
            return
        }
        let configuration: DaemonConfiguration
        do { configuration = try DaemonConfiguration.load(path: config, overrides: overrides) } catch {
            throw DaemonFailure(message: "\(error)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "muscapsd")
        let daemon = Daemon(configuration: configuration, configurationPath: config, overrides: overrides, logger: logger)
        let service = try joinBus(configuration, daemon: daemon, logger: logger)
        daemon.handleSignals()
        let outcome: Daemon.Outcome
        do { outcome = try daemon.run() } catch {
            service?.stop()
            throw DaemonFailure(message: "\(error)")
        }
        service?.stop() // after run(): the outputs (the dbus plugin among them) are shut down by then
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}

extension MuscapsDaemon {
    /// Takes the bus name and starts the D-Bus thread, or returns nil when the daemon runs without D-Bus.
    /// With no bus chosen, a missing session bus only costs the control interface; an explicit bus that
    /// cannot be reached, or a name another daemon holds, is fatal.
    func joinBus(_ configuration: DaemonConfiguration, daemon: Daemon, logger: Logger) throws -> DaemonBusService? {
        let choice: BusChoice
        switch configuration.bus {
        case "none"?: return nil
        case "system"?: choice = .system
        default: choice = .session
        }
        let control = DaemonControl()
        let service: DaemonBusService
        do {
            service = try DaemonBusService(bus: choice, nameSuffix: configuration.busNameSuffix, control: control,
                                           version: MusCapsVersion.string, logger: logger) { [stopper = Stopper(daemon: daemon)] _ in stopper.daemon.requestStop() }
        } catch let error as BusError where error.kind == .unreachable && configuration.bus == nil {
            logger.notice("no D-Bus session bus; running without the control interface", metadata: ["error": "\(error)"])
            return nil
        } catch {
            throw DaemonFailure(message: "\(error)")
        }
        daemon.control = control
        PluginHostServices.bus = .init(connection: UnsafeMutableRawPointer(service.rawConnection), objectPath: BusNames.objectPath)
        service.start()
        return service
    }
}

/// Lets the bus thread stop the daemon (`requestStop` only sets an atomic flag).
struct Stopper: @unchecked Sendable { let daemon: Daemon }


/// A one-line error for stderr (ArgumentParser prints "Error: <message>").
struct DaemonFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

BLAS.prepare()  // choose OpenBLAS's kernels from the CPU's features before anything loads it
MuscapsDaemon.main()
