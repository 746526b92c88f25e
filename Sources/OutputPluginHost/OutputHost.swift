import CMusCapsHost
import Foundation
import Logging
import ThreadSupport

/// The daemon's outputs: every caption event goes to each of them, each through its own queue and
/// thread (`PluginOutput`), so one slow, hung or failing output never holds up captioning or the
/// others.
///
///     let outputs = try OutputHost.start([try OutputSpec(parsing: "stdout"), try OutputSpec(parsing: "file:live.vtt")],
///                                        hostVersion: "muscapsd 0.2.0", logger: logger)
///     var merger = CaptionMerger()
///     merger.add(windowEvent) { outputs.emit($0) }      // from the inference loop: O(1), never blocks
///     ...
///     merger.finish { outputs.emit($0) }
///     outputs.shutdown(timeout: 3)                        // bounded, even with a hung plugin
public final class OutputHost: Sendable {
    public let outputs: [PluginOutput]
    private let logger: Logger

    public init(outputs: [PluginOutput], logger: Logger = Logger(label: "muscaps.outputs")) {
        self.outputs = outputs
        self.logger = logger
    }

    /// Loads the plugins and starts one output per spec. Outputs of the same plugin are named
    /// "file", "file#2", ... On any failure the outputs already started are shut down and the error
    /// (one line, naming the file) is thrown.
    ///
    /// `installCrashReporter` installs the fatal-signal handler that names the plugin a crash happened
    /// in (see `PluginCrashReporter`); pass false in programs that manage their own signals.
    public static func start(_ specs: [OutputSpec], searchPath: PluginSearchPath = .standard(), hostVersion: String = "muscaps",
                             queueCapacity: Int = 256, startTimeout: Double = 5, installCrashReporter: Bool = true,
                             logger: Logger = Logger(label: "muscaps.outputs")) throws -> OutputHost {
        if installCrashReporter { PluginCrashReporter.install() }
        var started: [PluginOutput] = []
        var names: [String: Int] = [:]
        do {
            for spec in specs {
                let library = try PluginLibrary.load(spec.plugin, searchPath: searchPath)
                let uses = (names[library.name] ?? 0) + 1
                names[library.name] = uses
                let name = uses == 1 ? library.name : "\(library.name)#\(uses)"
                started.append(try PluginOutput.start(library: library, name: name, options: spec.options, hostVersion: hostVersion,
                                                      queueCapacity: queueCapacity, startTimeout: startTimeout, logger: logger))
                logger.info("output '\(name)': plugin \(library.label)\(spec.options.isEmpty ? "" : " with \(spec)")")
            }
        } catch {
            _ = OutputHost(outputs: started, logger: logger).shutdown(timeout: 2)
            throw error
        }
        return OutputHost(outputs: started, logger: logger)
    }

    /// Stages a change to the outputs `specs` name: an output whose plugin file, options and queue size
    /// are unchanged is KEPT (the same running instance, not re-opened); the others are started now.
    /// Nothing running is stopped here: `OutputTransition.commit` shuts the outputs that are no longer
    /// wanted down, `rollBack` the ones just started. If any output cannot be started, the ones this
    /// call started are shut down and `OutputRejection` names the spec.
    public func transition(to specs: [OutputSpec], searchPath: PluginSearchPath = .standard(), hostVersion: String = "muscaps",
                           queueCapacity: Int = 256, startTimeout: Double = 5) throws -> OutputTransition {
        var unclaimed = outputs
        var next: [PluginOutput] = [], added: [PluginOutput] = []
        var names = Set(outputs.map(\.name))
        do {
            for spec in specs {
                let library: PluginLibrary
                do { library = try PluginLibrary.load(spec.plugin, searchPath: searchPath) } catch { throw OutputRejection(spec: spec, reason: "\(error)") }
                if let index = unclaimed.firstIndex(where: { $0.library.path == library.path && $0.options == spec.options && $0.queueCapacity == queueCapacity }) {
                    next.append(unclaimed.remove(at: index))
                    continue
                }
                var name = library.name, uses = 1
                while names.contains(name) {
                    uses += 1
                    name = "\(library.name)#\(uses)"
                }
                names.insert(name)
                do {
                    let output = try PluginOutput.start(library: library, name: name, options: spec.options, hostVersion: hostVersion,
                                                        queueCapacity: queueCapacity, startTimeout: startTimeout, logger: logger)
                    added.append(output)
                    next.append(output)
                } catch { throw OutputRejection(spec: spec, reason: "\(error)") }
                logger.info("output '\(name)': plugin \(library.label)\(spec.options.isEmpty ? "" : " with \(spec)")")
            }
        } catch {
            _ = OutputHost(outputs: added, logger: logger).shutdown(timeout: 2)
            throw error
        }
        return OutputTransition(host: OutputHost(outputs: next, logger: logger), added: added, removed: unclaimed, logger: logger)
    }

    /// Hands the event to every output. O(1) per output; never waits for a plugin.
    public func emit(_ event: CaptionEvent) {
        // An index loop: unoptimised builds allocate for a `for-in` over the array on every call.
        for index in outputs.indices { outputs[index].emit(event) }
    }

    /// Delivers everything queued and has every plugin flush, in parallel. False if any did not
    /// finish within `timeout` seconds (it carries on in the background).
    @discardableResult
    public func flush(timeout: Double) -> Bool {
        let deadline = Monotonic.deadline(after: timeout)
        let tickets = outputs.map { $0.requestFlush() }
        var allDone = true
        for (output, ticket) in zip(outputs, tickets) where !output.waitForFlush(ticket, deadline: deadline) {
            logger.warning("output '\(output.name)' did not flush within \(timeout) s")
            allDone = false
        }
        return allDone
    }

    /// Stops every output in parallel, waiting at most `timeout` seconds in all; outputs that are not
    /// done by then are abandoned (logged). Returns each output's outcome, in order.
    @discardableResult
    public func shutdown(timeout: Double) -> [PluginOutput.ShutdownOutcome] {
        let deadline = Monotonic.deadline(after: timeout)
        outputs.forEach { $0.requestShutdown() }
        return outputs.map { $0.waitForShutdown(deadline: deadline, timeout: timeout) }
    }

    public var statistics: [PluginOutput.Statistics] { outputs.map(\.statistics) }
}

/// A staged change of the output set (`OutputHost.transition(to:)`): `host` is the new set, in the
/// order of the specs; `added` were started for it; `removed` are still running until `commit`.
public struct OutputTransition: Sendable {
    public let host: OutputHost
    public let added: [PluginOutput]
    public let removed: [PluginOutput]
    let logger: Logger

    /// Stops the outputs that are no longer wanted (they deliver and flush what they have queued),
    /// waiting at most `timeout` seconds.
    public func commit(timeout: Double) {
        if !removed.isEmpty { OutputHost(outputs: removed, logger: logger).shutdown(timeout: timeout) }
    }

    /// Abandons the change: stops the outputs it started; the old set is untouched.
    public func rollBack(timeout: Double) {
        if !added.isEmpty { OutputHost(outputs: added, logger: logger).shutdown(timeout: timeout) }
    }
}

/// An output that could not be started, and why (the plugin's own one-line reason).
public struct OutputRejection: Error, CustomStringConvertible {
    public let spec: OutputSpec
    public let reason: String
    public var description: String { reason }
}

/// Names the output plugin a fatal signal happened in. Plugins run inside the daemon, so a plugin
/// that crashes takes it down; the handler (C, async-signal-safe) prints one line such as
///
///     muscapsd: fatal signal SIGSEGV (segmentation fault) in output plugin 'crash' 0 (/…/libmuscaps-testplugin-crash.so),
///     output 'crash' during emit(); output plugins run inside the daemon, so this plugin crashed it
///
/// then hands the signal on (to Swift's backtracer, then the default action), so the process still
/// dies by it (core dump, systemd's `Restart=`).
public enum PluginCrashReporter {
    /// Installs the handler for SIGSEGV, SIGBUS, SIGABRT, SIGFPE and SIGILL (once per process) and
    /// an alternate signal stack for the calling thread.
    ///
    /// `chainToPreviousHandler` (default): after its line, give the signal to the handler installed
    /// before — Swift's runtime backtracer, which prints a symbolicated backtrace (plugin frames
    /// included) and then dies by the signal; with `SWIFT_BACKTRACE=enable=no` there is none and the
    /// default action follows at once. false: straight to the default action (no backtrace, also for
    /// crashes outside plugins). Either way the process ends by the signal: core dump, systemd restart.
    public static func install(chainToPreviousHandler: Bool = true) {
        _ = muscaps_host_install_crash_handler(chainToPreviousHandler ? 1 : 0)
    }

    public static var isInstalled: Bool { muscaps_host_crash_handler_installed() != 0 }

    /// Gives the calling thread an alternate signal stack, so that a stack overflow on it is reported
    /// too (output threads get one automatically; the pipeline may call this on its own threads).
    public static func prepareCurrentThread() {
        _ = muscaps_host_thread_prepare()
    }
}
