import CPulseAudio
import ThreadSupport

/// One PulseAudio server as libpulse's asynchronous API shows it: a `pa_mainloop` (driven by the
/// thread that owns this object, never libpulse's own thread) and a `pa_context`. Used by the
/// capture source for its stream and by `listSources()` for introspection.
///
/// Why the asynchronous API and not `pa_simple`: `pa_simple_read` blocks until the server sends a
/// fragment and cannot be interrupted, so a stop request could wait forever on an idle or
/// suspended source; it also cannot list sources, follow the default monitor or tell a dead server
/// from a slow one. With our own mainloop every wait has a deadline, `pa_mainloop_wakeup` (the
/// one thread-safe mainloop call) ends a poll at once, and the read callback (in C) copies each
/// fragment into the ring on this thread.
///
/// Not thread-safe: everything but `wakeup()` runs on the owning thread.
final class PulseConnection {
    let mainloop: OpaquePointer
    let context: OpaquePointer
    /// "PulseAudio server at unix:/run/…/native" or "PulseAudio server (default)", for messages.
    let label: String
    /// The time limit callers apply to each request, in seconds (for messages).
    let timeout: Double

    init(clientName: String, server: String?, timeout: Double) throws {
        label = Self.label(server: server)
        self.timeout = timeout
        guard let mainloop = pa_mainloop_new() else {
            throw CaptureError.requestFailed(server: label, what: "creating a main loop", reason: "out of memory")
        }
        guard let context = pa_context_new(pa_mainloop_get_api(mainloop), clientName) else {
            pa_mainloop_free(mainloop)
            throw CaptureError.requestFailed(server: label, what: "creating a context", reason: "out of memory")
        }
        self.mainloop = mainloop
        self.context = context
    }

    deinit {
        pa_context_disconnect(context)
        pa_context_unref(context)
        pa_mainloop_free(mainloop)
    }

    static func label(server: String?) -> String {
        server.map { "PulseAudio server at \($0)" } ?? "PulseAudio server (default)"
    }

    /// The context's last error, as libpulse words it.
    var lastError: String { String(cString: pa_strerror(pa_context_errno(context))) }

    /// Runs one main-loop iteration, waiting at most `milliseconds` for events.
    func iterate(milliseconds: Int) {
        if pa_mainloop_prepare(mainloop, Int32(milliseconds * 1_000)) < 0 { return }
        if pa_mainloop_poll(mainloop) < 0 { return }
        _ = pa_mainloop_dispatch(mainloop)
    }

    /// Connects (no autospawn); returns false if `shouldStop` said so first. Throws
    /// `serverUnavailable` when there is no server and `timedOut` past `deadline`.
    func connect(server: String?, deadline: UInt64, shouldStop: () -> Bool = { false }) throws -> Bool {
        if pa_context_connect(context, server, PA_CONTEXT_NOAUTOSPAWN, nil) < 0 {
            throw CaptureError.serverUnavailable(server: label, reason: lastError)
        }
        while true {
            let state = pa_context_get_state(context)
            if state == PA_CONTEXT_READY { return true }
            if state == PA_CONTEXT_FAILED || state == PA_CONTEXT_TERMINATED {
                throw CaptureError.serverUnavailable(server: label, reason: lastError)
            }
            if shouldStop() { return false }
            if Monotonic.now() > deadline {
                throw CaptureError.timedOut(server: label, what: "connecting", seconds: timeout)
            }
            iterate(milliseconds: 50)
        }
    }

    /// Iterates until `operation` completes (or the context fails / the deadline passes), then unrefs it.
    func complete(_ operation: OpaquePointer?, what: String, deadline: UInt64) throws {
        guard let operation else { throw CaptureError.requestFailed(server: label, what: what, reason: lastError) }
        defer { pa_operation_unref(operation) }
        while pa_operation_get_state(operation) == PA_OPERATION_RUNNING {
            let state = pa_context_get_state(context)
            if state != PA_CONTEXT_READY {
                throw CaptureError.requestFailed(server: label, what: what, reason: lastError)
            }
            if Monotonic.now() > deadline {
                pa_operation_cancel(operation)
                throw CaptureError.timedOut(server: label, what: what, seconds: timeout)
            }
            iterate(milliseconds: 50)
        }
    }

    /// Every source the server has (monitors included).
    func sources(deadline: UInt64) throws -> [PulseSourceDescription] {
        let collector = SourceCollector()
        let unmanaged = Unmanaged.passRetained(collector)
        defer { unmanaged.release() }
        try complete(pa_context_get_source_info_list(context, SourceCollector.callback, unmanaged.toOpaque()),
                  what: "listing sources", deadline: deadline)
        return collector.sources
    }

    /// The source with this name (special names such as @DEFAULT_MONITOR@ are resolved by the
    /// server), or nil if there is none.
    func source(named name: String, deadline: UInt64) throws -> PulseSourceDescription? {
        let collector = SourceCollector()
        let unmanaged = Unmanaged.passRetained(collector)
        defer { unmanaged.release() }
        try complete(pa_context_get_source_info_by_name(context, name, SourceCollector.callback, unmanaged.toOpaque()),
                  what: "looking up source '\(name)'", deadline: deadline)
        return collector.sources.first
    }

    /// The server's default sink and source names.
    func defaults(deadline: UInt64) throws -> (sink: String?, source: String?) {
        final class Box {
            var sink: String?
            var source: String?
        }
        let box = Unmanaged.passRetained(Box())
        defer { box.release() }
        let callback: pa_server_info_cb_t = { _, info, userdata in
            guard let info, let userdata else { return }
            let box = Unmanaged<Box>.fromOpaque(userdata).takeUnretainedValue()
            box.sink = info.pointee.default_sink_name.map { String(cString: $0) }
            box.source = info.pointee.default_source_name.map { String(cString: $0) }
        }
        try complete(pa_context_get_server_info(context, callback, box.toOpaque()), what: "querying server info", deadline: deadline)
        let result = box.takeUnretainedValue()
        return (result.sink, result.source)
    }

    private final class SourceCollector {
        var sources: [PulseSourceDescription] = []
        static let callback: pa_source_info_cb_t = { _, info, eol, userdata in
            guard eol == 0, let info, let userdata else { return }
            let collector = Unmanaged<SourceCollector>.fromOpaque(userdata).takeUnretainedValue()
            collector.sources.append(PulseSourceDescription(info.pointee))
        }
    }
}

/// A PulseAudio source as `listSources()` reports it.
public struct PulseSourceDescription: Sendable, Equatable {
    public var name: String
    public var description: String
    public var sampleRate: Int
    public var channels: Int
    /// The sink this source monitors (what that sink plays), nil for a capture device.
    public var monitorOfSink: String?

    public var isMonitor: Bool { monitorOfSink != nil }

    public init(name: String, description: String, sampleRate: Int, channels: Int, monitorOfSink: String?) {
        self.name = name
        self.description = description
        self.sampleRate = sampleRate
        self.channels = channels
        self.monitorOfSink = monitorOfSink
    }

    init(_ info: pa_source_info) {
        name = info.name.map { String(cString: $0) } ?? ""
        description = info.description.map { String(cString: $0) } ?? ""
        sampleRate = Int(info.sample_spec.rate)
        channels = Int(info.sample_spec.channels)
        monitorOfSink = info.monitor_of_sink == UInt32.max ? nil : (info.monitor_of_sink_name.map { String(cString: $0) } ?? "?")
    }
}
