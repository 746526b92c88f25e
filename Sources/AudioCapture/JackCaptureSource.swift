#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CAudioCapture
import CJack

/// JACK capture (`jack[:PORT-PATTERN]`): one input port per matched output port (up to
/// `maximumChannels`), auto-connected by name or glob pattern.
///
/// - Pattern: a glob (`fnmatch`) over full port names, e.g. `system:capture_*` (the default) or
///   `jack_simple_client:output*`; a pattern without ':' names clients, so `jack_simple_client`
///   means all its output ports. The channel count is the number of ports matching at `start()`
///   (at least one must); ports that appear later (an application restarting, the server coming
///   back) are connected round-robin onto the same inputs.
/// - Process callback: in C (`CAudioCapture`), it interleaves the port buffers into the ring —
///   channels are kept, not mixed, so the consumer's downmix is the same channel average the file
///   path uses. A full ring drops the newest frames and counts them.
/// - Server shutdown: the shutdown callback only sets a flag. A supervisor thread (normal
///   priority) sees it within 50 ms, closes the dead client there (never inside the callback:
///   jack2 issue 395), reports `.serverLost` and reopens with back-off; the ring and format stay,
///   so the consumer just sees a gap. A server that comes back at another sample rate is reported
///   and retried, not used.
public final class JackCaptureSource: CaptureSource {
    /// Channels beyond this many matched ports are folded round-robin onto the first ones.
    public static let maximumChannels = 8

    public let portPattern: String
    public let options: CaptureOptions
    private let core: SourceCore
    /// The C block the JACK callbacks use (its fields are atomics or written before activation).
    nonisolated(unsafe) private let bridge: OpaquePointer
    /// The open client and our ports. Written by `start()` before the supervisor thread exists and
    /// afterwards only by that thread (`stop()` joins it before anything else looks).
    nonisolated(unsafe) private var client: OpaquePointer?
    nonisolated(unsafe) private var inputPorts: [OpaquePointer] = []

    public init(portPattern: String = CaptureSpec.defaultJackPattern, options: CaptureOptions = CaptureOptions()) {
        self.portPattern = portPattern
        self.options = options
        core = SourceCore(name: CaptureSpec.jack(portPattern: portPattern).description, handler: options.onStateChange)
        guard let bridge = CAudioCapture_jack_create() else { fatalError("out of memory allocating the JACK bridge") }
        self.bridge = bridge
    }

    deinit {
        // The supervisor holds `self` while it runs, so no client can still call into the bridge.
        CAudioCapture_jack_destroy(bridge)
    }

    public var name: String { core.name }
    public var format: CaptureFormat? { core.format }
    public var ring: SampleRing? { core.ring }
    public var state: CaptureState { core.state }
    public var statistics: CaptureStatistics { core.statistics(extraXruns: CAudioCapture_jack_xruns(bridge)) }
    /// Process cycles run by the current and earlier clients (a liveness check for tests).
    public var processCycles: UInt64 { CAudioCapture_jack_process_calls(bridge) }

    /// The server's name for messages: the configured one, `$JACK_DEFAULT_SERVER`, or "default".
    var serverLabel: String { "JACK server '\(JackServer.name(options.jackServer))'" }

    /// Opens a client, matches and connects ports and activates; throws if the server is not
    /// running or nothing matches the pattern.
    public func start() throws {
        try core.claimStart()
        core.setState(.connecting)
        do {
            let opened = try JackServer.open(clientName: options.clientName, server: options.jackServer)
            client = opened
            let rate = Int(jack_get_sample_rate(opened))
            let matches = JackServer.outputPorts(opened, matching: portPattern)
            guard !matches.isEmpty else {
                throw CaptureError.noMatchingPorts(pattern: portPattern, available: JackServer.outputPorts(opened, matching: nil))
            }
            let channels = min(matches.count, Self.maximumChannels)
            let format = CaptureFormat(sampleRate: rate, channels: channels)
            let ring = try SampleRing(capacity: options.ringSizing.capacity(sampleRate: rate, channels: channels), frameSamples: channels)
            try activate(opened, ring: ring, channels: channels)
            core.publish(format: format, ring: ring)
            connectMatchingPorts()
            core.setState(.running)
            try core.spawn(name: "muscaps-jack") { [self] in self.supervise(format: format, ring: ring) }
        } catch {
            closeClient()
            core.setState(.failed(reason: "\(error)"))
            core.finishStop()
            throw error
        }
    }

    public func stop() { core.finishStop() }

    // MARK: Client set-up (start() and the supervisor thread)

    private func activate(_ client: OpaquePointer, ring: SampleRing, channels: Int) throws {
        var ports: [OpaquePointer] = []
        for index in 1...channels {
            guard let port = jack_port_register(client, "in_\(index)", CAudioCapture_jack_audio_type(),
                                                UInt(JackPortIsInput.rawValue), 0) else {
                throw CaptureError.requestFailed(server: serverLabel, what: "registering port in_\(index)", reason: "refused")
            }
            ports.append(port)
        }
        inputPorts = ports
        let installed = ports.withUnsafeBufferPointer { buffer -> Int32 in
            buffer.withMemoryRebound(to: OpaquePointer?.self) {
                CAudioCapture_jack_install(bridge, client, ring.pointer, $0.baseAddress, UInt32(channels))
            }
        }
        guard installed == 0 else {
            throw CaptureError.requestFailed(server: serverLabel, what: "installing callbacks", reason: "error \(installed)")
        }
        let activated = jack_activate(client)
        guard activated == 0 else {
            throw CaptureError.requestFailed(server: serverLabel, what: "activating the client", reason: "error \(activated)")
        }
    }

    /// Connects every output port matching the pattern to our inputs, round-robin. Already
    /// connected pairs are left alone (jack_connect says EEXIST).
    @discardableResult
    private func connectMatchingPorts() -> Int {
        guard let client, !inputPorts.isEmpty else { return 0 }
        let matches = JackServer.outputPorts(client, matching: portPattern)
        for (index, source) in matches.enumerated() {
            let destination = String(cString: jack_port_name(inputPorts[index % inputPorts.count]))
            _ = jack_connect(client, source, destination)
        }
        return matches.count
    }

    private func closeClient() {
        guard let open = client else { return }
        // After a server shutdown jack_deactivate just fails; jack_client_close frees the client
        // either way. Both run here, on a normal thread, never inside a JACK callback.
        jack_deactivate(open)
        jack_client_close(open)
        client = nil
        inputPorts = []
    }

    // MARK: Supervisor thread

    private func supervise(format: CaptureFormat, ring: SampleRing) {
        defer {
            closeClient()
            ring.close()
        }
        while !core.sleep(0.05) {
            if CAudioCapture_jack_take_server_gone(bridge) != 0 {
                let said = String(cString: CAudioCapture_jack_shutdown_reason(bridge))
                closeClient()
                core.setState(.serverLost(reason: said.isEmpty ? "\(serverLabel) shut down" : "\(serverLabel) shut down: \(said)"))
                if !reconnect(format: format, ring: ring) { return }
            } else if CAudioCapture_jack_take_ports_changed(bridge) != 0 {
                connectMatchingPorts()
            }
        }
    }

    /// Reopens the client with back-off until it works (true) or a stop is requested (false).
    private func reconnect(format: CaptureFormat, ring: SampleRing) -> Bool {
        var attempt = 0
        while true {
            if core.sleep(options.reconnect.delay(attempt: attempt)) { return false }
            attempt += 1
            do {
                let opened = try JackServer.open(clientName: options.clientName, server: options.jackServer)
                client = opened
                let rate = Int(jack_get_sample_rate(opened))
                guard rate == format.sampleRate else {
                    closeClient()
                    core.setState(.serverLost(reason: "\(serverLabel) is back at \(rate) Hz but this capture runs at \(format.sampleRate) Hz; restart capture to follow it"))
                    continue
                }
                try activate(opened, ring: ring, channels: format.channels)
                connectMatchingPorts()
                core.noteReconnect()
                core.setState(.running)
                return true
            } catch {
                closeClient()
                let reason: String
                if let error = error as? CaptureError, case let .serverUnavailable(_, why) = error { reason = why } else { reason = "\(error)" }
                core.setState(.serverLost(reason: reason))
            }
        }
    }
}

/// JACK client helpers shared by the source and `listSources()`.
enum JackServer {
    private static let quiet: Void = { CAudioCapture_jack_silence_library_messages() }()

    /// The server name libjack will use.
    static func name(_ configured: String?) -> String {
        if let configured { return configured }
        if let environment = getenv("JACK_DEFAULT_SERVER"), environment.pointee != 0 { return String(cString: environment) }
        return "default"
    }

    /// Opens a client without starting a server; throws `serverUnavailable` with the status decoded.
    static func open(clientName: String, server: String?) throws -> OpaquePointer {
        _ = quiet
        var status: Int32 = 0
        if let client = CAudioCapture_jack_client_open(clientName, server, 1, &status) { return client }
        throw CaptureError.serverUnavailable(server: "JACK server '\(name(server))'", reason: describe(status: status))
    }

    /// Output audio ports, optionally filtered by a glob (`fnmatch`); a pattern without ':' matches
    /// client names. In the server's order.
    static func outputPorts(_ client: OpaquePointer, matching pattern: String?) -> [String] {
        guard let list = jack_get_ports(client, nil, CAudioCapture_jack_audio_type(), UInt(JackPortIsOutput.rawValue)) else { return [] }
        defer { jack_free(list) }
        var names: [String] = []
        var index = 0
        while let name = list[index] {
            names.append(String(cString: name))
            index += 1
        }
        guard let pattern else { return names }
        let full = pattern.contains(":") ? pattern : pattern + ":*"
        return names.filter { fnmatch(full, $0, 0) == 0 }
    }

    /// Physical (hardware) ports among `names`.
    static func isPhysical(_ client: OpaquePointer, port name: String) -> Bool {
        guard let port = jack_port_by_name(client, name) else { return false }
        return Int32(jack_port_flags(port)) & Int32(JackPortIsPhysical.rawValue) != 0
    }

    static func describe(status: Int32) -> String {
        let bits: [(Int32, String)] = [
            (0x10, "cannot connect to the server (not running)"), (0x20, "server communication error"),
            (0x02, "invalid option"), (0x04, "client name not unique"), (0x40, "no such client"),
            (0x80, "cannot load internal client"), (0x100, "cannot initialise client"),
            (0x200, "cannot access shared memory"), (0x400, "client/server protocol version mismatch"),
            (0x800, "backend error"), (0x1000, "client zombified"),
        ]
        let reasons = bits.filter { status & $0.0 != 0 }.map(\.1)
        if reasons.isEmpty { return status & 0x01 != 0 ? "general failure" : "unknown error (status \(status))" }
        return reasons.joined(separator: "; ")
    }
}
