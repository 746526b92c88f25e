import CMusCapsHost
import CMusCapsPlugin
import Foundation
import Logging
import ThreadSupport

/// One running output: a plugin instance driven by its own thread through a bounded queue.
///
/// - `emit` is O(1) and never waits for the plugin: it takes a mutex that the worker holds only to pop
///   an event (never while the plugin runs), stores the event in a preallocated ring and wakes the
///   worker if it sleeps. When the ring is full the OLDEST queued event is dropped and counted, so a
///   slow or hung plugin loses its own backlog (a live display wants the newest captions) and nothing
///   else notices. Steady state allocates nothing on the caller's side.
/// - The worker thread calls create, emit, flush and destroy (the ABI's threading contract: one
///   dedicated thread per instance), each through the crash guard that names the plugin if it dies.
/// - `flush` and `shutdown` wait at most their timeout. A plugin that does not finish in time is
///   abandoned: its thread is left running (it cannot be killed safely) and the caller moves on.
public final class PluginOutput: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `state`; the plugin instance, the C event builder and
    // the error buffer are touched only by the worker thread.

    public struct Statistics: Sendable, Equatable, CustomStringConvertible {
        public var output: String
        public var plugin: String
        /// Events handed to `emit`.
        public var emitted: UInt64 = 0
        /// Events the plugin accepted (its emit returned 0).
        public var delivered: UInt64 = 0
        /// Events the plugin rejected (its emit returned an error).
        public var failed: UInt64 = 0
        /// Events discarded unseen: the queue was full (oldest dropped), or shutdown had begun.
        public var dropped: UInt64 = 0
        /// Events waiting in the queue now.
        public var queued: Int = 0
        public var flushes: UInt64 = 0
        public var flushFailures: UInt64 = 0
        public var abandoned = false

        public var description: String {
            "output '\(output)': \(emitted) emitted, \(delivered) delivered, \(failed) failed, \(dropped) dropped, \(queued) queued"
                + (abandoned ? ", abandoned" : "")
        }
    }

    public enum ShutdownOutcome: Sendable, Equatable {
        /// The plugin drained its queue, flushed and was destroyed.
        case finished
        /// It did not finish within the timeout; its thread was left behind.
        case abandoned
    }

    /// The output's name in logs ("file", or "file#2" for a second file output).
    public let name: String
    public let library: PluginLibrary
    /// The options the instance was created with (an output is kept across a reload only if they are unchanged).
    public let options: [OutputSpec.Option]
    public let queueCapacity: Int
    private let logger: Logger

    private enum Phase: Equatable { case starting, running, createFailed(String), finished }

    // Guarded by `state`, whose one condition wakes the worker (work available) and the callers (progress).
    private let state = ConditionLock()
    private let ring: UnsafeMutablePointer<CaptionEvent?>
    private var head = 0
    private var count = 0
    private var workerWaiting = false
    private var flushRequested: UInt64 = 0
    private var flushCompleted: UInt64 = 0
    private var stopRequested = false
    private var accepting = false // running and not stopping: the only state emit() needs
    private var phase = Phase.starting
    private var busyIn: String?
    private var stats: Statistics

    /// Crash label, a C string kept for the life of the worker thread.
    private let crashLabel: UnsafeMutablePointer<CChar>

    /// Starts an output: spawns its thread, which calls the plugin's create(). Throws if create fails or
    /// does not return within `startTimeout` seconds.
    public static func start(library: PluginLibrary, name: String, options: [OutputSpec.Option] = [],
                             hostVersion: String = "muscaps", queueCapacity: Int = 256, startTimeout: Double = 5,
                             logger: Logger = Logger(label: "muscaps.outputs")) throws -> PluginOutput {
        let output = PluginOutput(library: library, name: name, options: options, queueCapacity: queueCapacity, logger: logger)
        let thread = Thread { output.run(options: options, hostVersion: hostVersion) }
        thread.name = String("out-\(name)".prefix(15)) // Linux thread names hold 15 bytes
        thread.start()
        let deadline = Monotonic.deadline(after: startTimeout)
        let result: Phase = output.locked {
            while output.phase == .starting && output.waitForProgress(until: deadline) {}
            if output.phase == .starting { output.stats.abandoned = true }
            return output.phase
        }
        switch result {
        case .running: return output
        case let .createFailed(message): throw PluginError.createFailed(output: name, path: library.path, message: message)
        case .starting: throw PluginError.createTimedOut(output: name, path: library.path, seconds: startTimeout)
        case .finished: throw PluginError.createFailed(output: name, path: library.path, message: "stopped while starting")
        }
    }

    private init(library: PluginLibrary, name: String, options: [OutputSpec.Option], queueCapacity: Int, logger: Logger) {
        precondition(queueCapacity > 0, "queueCapacity must be positive")
        self.library = library
        self.options = options
        self.name = name
        self.queueCapacity = queueCapacity
        var logger = logger
        logger[metadataKey: "output"] = "\(name)"
        self.logger = logger
        stats = Statistics(output: name, plugin: library.name)
        ring = .allocate(capacity: queueCapacity)
        ring.initialize(repeating: nil, count: queueCapacity)
        crashLabel = strdup("\(library.label), output '\(name)'")
    }

    deinit {
        // Reached only once the worker thread has ended (it holds a strong reference until then).
        ring.deinitialize(count: queueCapacity)
        ring.deallocate()
        free(crashLabel)
    }

    // MARK: Caller side

    /// Queues an event for the plugin. O(1); never waits for the plugin.
    public func emit(_ event: CaptionEvent) {
        state.lock()
        stats.emitted &+= 1
        if !accepting {
            stats.dropped &+= 1
        } else if count == queueCapacity {
            ring[head] = event // the oldest slot becomes the newest
            head = head + 1 == queueCapacity ? 0 : head + 1
            stats.dropped &+= 1
        } else {
            let tail = head + count < queueCapacity ? head + count : head + count - queueCapacity
            ring[tail] = event
            count += 1
            if workerWaiting { state.broadcast() }
        }
        state.unlock()
    }

    public var statistics: Statistics {
        locked {
            var snapshot = stats
            snapshot.queued = count
            return snapshot
        }
    }

    /// Asks the plugin to flush once the events queued so far are delivered; returns a ticket for `waitForFlush`.
    public func requestFlush() -> UInt64 {
        locked {
            flushRequested += 1
            state.broadcast()
            return flushRequested
        }
    }

    /// Waits until the flush `ticket` is done; false if the deadline (see `Monotonic`) passed first.
    public func waitForFlush(_ ticket: UInt64, deadline: UInt64) -> Bool {
        locked {
            while flushCompleted < ticket && phase == .running && waitForProgress(until: deadline) {}
            return flushCompleted >= ticket
        }
    }

    /// Delivers what is queued, then has the plugin flush. False if that took longer than `timeout` seconds.
    @discardableResult
    public func flush(timeout: Double) -> Bool {
        let ticket = requestFlush()
        let done = waitForFlush(ticket, deadline: Monotonic.deadline(after: timeout))
        if !done { logger.warning("output '\(name)' did not flush within \(timeout) s (\(describeBusy()))") }
        return done
    }

    /// Stops accepting events; the worker delivers what is queued, flushes and destroys the instance.
    public func requestShutdown() {
        locked {
            stopRequested = true
            accepting = false
            state.broadcast()
        }
    }

    /// Waits for the worker to finish until `deadline`; abandons it (with a log line) otherwise.
    public func waitForShutdown(deadline: UInt64, timeout: Double) -> ShutdownOutcome {
        let (outcome, snapshot, busy): (ShutdownOutcome, Statistics, String) = locked {
            while !isTerminal(phase) && waitForProgress(until: deadline) {}
            if !isTerminal(phase) { stats.abandoned = true }
            var snapshot = stats
            snapshot.queued = count
            return (isTerminal(phase) ? .finished : .abandoned, snapshot, busyDescription())
        }
        if outcome == .abandoned {
            logger.error("output '\(name)' (plugin \(library.label)) did not finish within \(timeout) s of shutdown (\(busy)); abandoned, its thread is left behind; \(snapshot.queued) queued events lost, \(snapshot.dropped) dropped before")
        } else if snapshot.dropped > 0 || snapshot.failed > 0 {
            logger.warning("output '\(name)': \(snapshot.dropped) of \(snapshot.emitted) events were dropped (queue full), \(snapshot.failed) rejected by the plugin")
        }
        return outcome
    }

    /// Stops the output, waiting at most `timeout` seconds.
    @discardableResult
    public func shutdown(timeout: Double) -> ShutdownOutcome {
        requestShutdown()
        return waitForShutdown(deadline: Monotonic.deadline(after: timeout), timeout: timeout)
    }

    // MARK: Worker thread

    private func run(options: [OutputSpec.Option], hostVersion: String) {
        muscaps_host_thread_prepare()
        // A plugin writing to a closed pipe or socket gets EPIPE instead of killing the daemon.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        defer { muscaps_host_thread_finish() }

        let errorCapacity = 1024
        let error = UnsafeMutablePointer<CChar>.allocate(capacity: errorCapacity)
        defer { error.deallocate() }
        let descriptor = library.descriptor

        let instance = withCConfig(options: options, hostVersion: hostVersion) { config in
            muscaps_host_call_create(crashLabel, descriptor, config, error, errorCapacity)
        }
        guard let instance else {
            let message = String(cString: error)
            locked {
                phase = .createFailed(message)
                state.broadcast()
            }
            return
        }
        locked {
            phase = .running
            accepting = !stopRequested
            state.broadcast()
        }

        let builder = CEventBuilder()
        var failureLog = RateLimitedReport()
        var dropLog = RateLimitedReport()
        state.lock()
        while true {
            while count == 0 && flushCompleted >= flushRequested && !stopRequested {
                workerWaiting = true
                state.waitLocked()
                workerWaiting = false
            }
            if count > 0 {
                let event = ring[head]!
                ring[head] = nil
                head = head + 1 == queueCapacity ? 0 : head + 1
                count -= 1
                busyIn = "emit"
                let dropped = stats.dropped
                state.unlock()

                if dropLog.shouldReport(total: dropped) {
                    logger.warning("output '\(name)' is too slow: \(dropLog.sinceLast) events dropped (queue of \(queueCapacity) full), \(dropped) in all")
                }
                let status = builder.withCEvent(event) { cEvent in
                    muscaps_host_call_emit(crashLabel, descriptor, instance, cEvent, error, errorCapacity)
                }
                if status != 0 {
                    let failures = locked { stats.failed + 1 }
                    if failureLog.shouldReport(total: failures) {
                        logger.error("output '\(name)': emit failed: \(String(cString: error)) (\(failures) failures in all)")
                    }
                }
                state.lock()
                busyIn = nil
                if status == 0 { stats.delivered &+= 1 } else { stats.failed &+= 1 }
                continue
            }
            if flushCompleted < flushRequested {
                let ticket = flushRequested
                busyIn = "flush"
                state.unlock()
                let status = muscaps_host_call_flush(crashLabel, descriptor, instance, error, errorCapacity)
                if status != 0 { logger.error("output '\(name)': flush failed: \(String(cString: error))") }
                state.lock()
                busyIn = nil
                stats.flushes &+= 1
                if status != 0 { stats.flushFailures &+= 1 }
                flushCompleted = ticket
                state.broadcast()
                continue
            }
            break // stop requested and nothing left to deliver
        }
        busyIn = "flush"
        state.unlock()
        if muscaps_host_call_flush(crashLabel, descriptor, instance, error, errorCapacity) != 0 {
            logger.error("output '\(name)': final flush failed: \(String(cString: error))")
        }
        locked { busyIn = "destroy" }
        muscaps_host_call_destroy(crashLabel, descriptor, instance)
        locked {
            busyIn = nil
            phase = .finished
            flushCompleted = flushRequested
            state.broadcast()
        }
    }

    /// The ABI config for create(), valid during `body`.
    private func withCConfig<R>(options: [OutputSpec.Option], hostVersion: String,
                                _ body: (UnsafePointer<muscaps_plugin_config>) -> R) -> R {
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func c(_ s: String) -> UnsafePointer<CChar> {
            let copy = strdup(s)!
            strings.append(copy)
            return UnsafePointer(copy)
        }
        let entries = options.map { muscaps_config_entry(key: c($0.key), value: c($0.value)) }
        return entries.withUnsafeBufferPointer { buffer in
            var config = muscaps_plugin_config()
            config.struct_size = UInt32(MemoryLayout<muscaps_plugin_config>.size)
            config.host_abi_version = MUSCAPS_PLUGIN_ABI_VERSION
            config.output_name = c(name)
            config.host_version = c(hostVersion)
            config.entries = buffer.baseAddress
            config.entry_count = buffer.count
            let bus = PluginHostServices.bus
            config.dbus_connection = bus?.connection
            config.dbus_object_path = c(bus?.objectPath ?? "")
            return body(&config)
        }
    }

    // MARK: Locking helpers

    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        try state.withLock(body)
    }

    /// Waits for progress (lock held); false once the deadline has passed.
    private func waitForProgress(until deadline: UInt64) -> Bool {
        state.waitLocked(until: deadline)
    }

    private func isTerminal(_ phase: Phase) -> Bool {
        if case .createFailed = phase { return true }
        return phase == .finished
    }

    private func busyDescription() -> String {
        if let busyIn { return "the plugin has not returned from \(busyIn)()" }
        return count > 0 ? "\(count) events still queued" : "idle"
    }

    private func describeBusy() -> String { locked { busyDescription() } }
}

/// Logs the first occurrence, then at most every 10 s with the count since the last report.
public struct RateLimitedReport: Sendable {
    private var reportedTotal: UInt64 = 0
    private var lastReport: UInt64 = 0
    /// Occurrences the last report covered.
    public private(set) var sinceLast: UInt64 = 0

    public init() {}

    /// Whether to report now, `total` being the count of occurrences so far.
    public mutating func shouldReport(total: UInt64) -> Bool {
        guard total > reportedTotal else { return false }
        let now = Monotonic.now()
        guard reportedTotal == 0 || now - lastReport >= 10_000_000_000 else { return false }
        sinceLast = total - reportedTotal
        reportedTotal = total
        lastReport = now
        return true
    }
}
