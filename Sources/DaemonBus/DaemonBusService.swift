import AudioCapture
import CDBus
import Foundation
import LiveCaptioning
import Logging
import NeuralCore
import Synchronization

/// muscapsd on D-Bus: owns `org.muscaps.Daemon1` (plus an optional suffix), serves
/// `/org/muscaps/Daemon1` — the `org.muscaps.Daemon1` interface, Properties with PropertiesChanged,
/// Introspectable — and answers Peer (libdbus does that for every connection).
///
/// The connection runs on its own thread. The inference thread is never called from here: properties
/// are read from `DaemonControl`'s snapshot, and commands are queued to it with their replies sent
/// later from this thread. A slow or malicious client therefore costs only this thread's time; slow
/// work of ours (listing sources) runs on a worker and replies when done.
public final class DaemonBusService: @unchecked Sendable {
    public let busName: String
    public let bus: BusChoice
    public let version: String
    private let connection: BusConnection
    private let control: DaemonControl
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// Replies produced off this thread, sent by the loop.
    private let outbox = Mutex<[OutgoingReply]>([])
    /// ListSources calls waiting for the listing in progress.
    private let listingCallers = Mutex<[PendingCall]>([])
    /// Property values last announced (this thread only).
    private var announced: [String: BusValue] = [:]
    private var announcedChangeCount: UInt64 = .max
    private var ownsName = false
    private let onNameLost: @Sendable (String) -> Void

    /// How long one wait for bus traffic lasts: also the longest delay of a reply or PropertiesChanged
    /// produced off this thread.
    static let pollMilliseconds: Int32 = 20

    /// Connects and checks that no other daemon has the bus name (throws, naming it, if one has). The name
    /// itself is taken by the bus thread once `control` is ready — the daemon's setup is running — so a
    /// client (or D-Bus activation) that sees the name sees the real state. Serves nothing until `start()`.
    /// - Parameter onNameLost: called (on the bus thread) if another daemon took the name meanwhile.
    public init(bus: BusChoice, nameSuffix: String?, control: DaemonControl, version: String, logger: Logger,
                onNameLost: @escaping @Sendable (String) -> Void = { _ in }) throws {
        if let nameSuffix, let problem = BusNames.problem(withSuffix: nameSuffix) {
            throw BusError("invalid --bus-name-suffix '\(nameSuffix)': \(problem)")
        }
        busName = BusNames.busName(suffix: nameSuffix)
        self.bus = bus
        self.control = control
        self.version = version
        self.logger = logger
        self.onNameLost = onNameLost
        connection = try BusConnection(bus)
        do {
            try registerObject()
            try connection.checkNameIsFree(busName)
        } catch {
            connection.close()
            throw error
        }
    }

    /// The libdbus connection, for the dbus output plugin (`DBusConnection *`; thread-safe for sending).
    public var rawConnection: OpaquePointer { connection.raw }

    /// Starts the bus thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "dbus"
        self.thread = thread
        thread.start()
    }

    /// Stops the thread (after at most one poll interval) and closes the connection.
    public func stop() {
        guard let thread, !stopRequested.exchange(true, ordering: .relaxed) else { return }
        _ = thread
        finished.wait()
        connection.close()
    }

    private func run() {
        while !stopRequested.load(ordering: .relaxed) {
            if dbus_connection_read_write_dispatch(connection.raw, Self.pollMilliseconds) == 0 {
                logger.error("lost the D-Bus connection; control over D-Bus is off until restart", metadata: ["bus": "\(bus)"])
                break
            }
            sendOutbox()
            guard ownsName || claimNameWhenReady() else { break }
            announceChanges()
        }
        sendOutbox()
        finished.signal()
    }

    /// Takes the bus name once the daemon is ready; false if someone else got it first.
    private func claimNameWhenReady() -> Bool {
        guard control.isReady else { return true }
        do {
            try connection.requestName(busName)
            ownsName = true
            logger.info("on D-Bus", metadata: ["bus": "\(bus)", "name": "\(busName)", "unique_name": "\(connection.uniqueName)"])
            return true
        } catch {
            logger.error("cannot take the bus name", metadata: ["error": "\(error)"])
            onNameLost("\(error)")
            return false
        }
    }

    // MARK: Registration and dispatch

    private func registerObject() throws {
        var vtable = DBusObjectPathVTable()
        vtable.message_function = { _, message, userData in
            guard let message, let userData else { return DBUS_HANDLER_RESULT_NOT_YET_HANDLED }
            let service = Unmanaged<DaemonBusService>.fromOpaque(userData).takeUnretainedValue()
            return service.handle(message) ? DBUS_HANDLER_RESULT_HANDLED : DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        }
        var error = DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        // A fallback on "/" so the parents of the object path introspect too (busctl tree, d-feet).
        // The service lives as long as the process's daemon; the connection never outlives it.
        let userData = Unmanaged.passUnretained(self).toOpaque()
        guard dbus_connection_try_register_fallback(connection.raw, "/", &vtable, userData, &error) != 0 else {
            throw BusError("cannot register \(BusNames.objectPath): \(BusConnection.text(error))")
        }
    }

    /// A method call to any path; true when answered.
    private func handle(_ message: OpaquePointer) -> Bool {
        guard dbus_message_get_type(message) == 1 /* DBUS_MESSAGE_TYPE_METHOD_CALL */ else { return false }
        let path = dbus_message_get_path(message).map { String(cString: $0) } ?? "/"
        let interface = dbus_message_get_interface(message).map { String(cString: $0) }
        let member = dbus_message_get_member(message).map { String(cString: $0) } ?? ""
        let signature = dbus_message_get_signature(message).map { String(cString: $0) } ?? ""
        let call = IncomingCall(message: message, interface: interface, member: member, signature: signature)

        if path != BusNames.objectPath {
            if BusNames.objectPath.hasPrefix(path == "/" ? "/" : path + "/"),
               interface == nil || interface == "org.freedesktop.DBus.Introspectable", member == "Introspect" {
                let rest = BusNames.objectPath.dropFirst(path == "/" ? 1 : path.count + 1)
                let child = rest.split(separator: "/").first.map(String.init) ?? ""
                reply(to: call, .success([.string(Self.introspection(childNode: child))]))
            } else {
                reply(to: call, .failure(BusReplyError(name: "org.freedesktop.DBus.Error.UnknownObject", message: "no object at \(path); muscapsd serves \(BusNames.objectPath)")))
            }
            return true
        }
        switch interface {
        case "org.freedesktop.DBus.Introspectable"?:
            guard member == "Introspect" else { return unknownMethod(call) }
            guard expect(call, "") else { return true }
            reply(to: call, .success([.string(Self.introspection(childNode: nil))]))
        case "org.freedesktop.DBus.Properties"?:
            handleProperties(call)
        case BusNames.interface?, nil:
            handleDaemonMethod(call)
        default:
            reply(to: call, .failure(BusReplyError(name: "org.freedesktop.DBus.Error.UnknownInterface",
                                                    message: "\(BusNames.objectPath) has no interface \(interface ?? "")")))
        }
        return true
    }

    private func unknownMethod(_ call: IncomingCall) -> Bool {
        reply(to: call, .failure(BusReplyError(name: "org.freedesktop.DBus.Error.UnknownMethod",
                                                message: "no method \(call.member) in interface \(call.interface ?? BusNames.interface) (signature '\(call.signature)')")))
        return true
    }

    /// True if the call's arguments have `signature`; otherwise replies InvalidArgument and returns false.
    private func expect(_ call: IncomingCall, _ signature: String) -> Bool {
        guard call.signature != signature else { return true }
        reply(to: call, .failure(.invalidArgument("\(call.member) takes (\(signature)), got (\(call.signature))")))
        return false
    }

    // MARK: org.muscaps.Daemon1

    private func handleDaemonMethod(_ call: IncomingCall) {
        let arguments = BusValue.arguments(of: call.message)
        func string() -> String? { if case let .string(text)? = arguments.first { return text } else { return nil } }
        func number() -> Double? { if case let .double(value)? = arguments.first { return value } else { return nil } }
        switch call.member {
        case "Pause":
            guard expect(call, "") else { return }
            submit(.pause, for: call)
        case "Resume":
            guard expect(call, "") else { return }
            submit(.resume, for: call)
        case "GetStatus":
            guard expect(call, "") else { return }
            reply(to: call, .success([statusDictionary()]))
        case "ListSources":
            guard expect(call, "") else { return }
            // Asking the audio servers takes up to seconds: one worker at a time does it, and every call
            // that arrives meanwhile gets its answer (so callers cannot pile up threads).
            let pending = PendingCall(call)
            let startWorker = listingCallers.withLock { callers in
                callers.append(pending)
                return callers.count == 1
            }
            guard startWorker else { return }
            Thread.detachNewThread { [self] in
                let sources = Self.listSources()
                let reply = BusValue.array(element: "(ss)", sources.map { .structure([.string($0.spec), .string($0.description)]) })
                for caller in listingCallers.withLock({ callers in defer { callers = [] }; return callers }) {
                    post(caller, .success([reply]))
                }
            }
        case "SetSource":
            guard expect(call, "s"), let source = string() else { return }
            guard !source.isEmpty else { return reply(to: call, .failure(.invalidArgument("the source must not be empty"))) }
            submit(.reconfigure(what: "source") { $0.source = source }, for: call)
        case "SetModel":
            guard expect(call, "s"), let model = string() else { return }
            guard !model.isEmpty else { return reply(to: call, .failure(.invalidArgument("the model must not be empty"))) }
            submit(.reconfigure(what: "model") { $0.model = model }, for: call)
        case "SetCaptioner":
            guard expect(call, "s"), let captioner = string() else { return }
            guard !captioner.isEmpty else { return reply(to: call, .failure(.invalidArgument("the captioner must be a path or 'none'"))) }
            submit(.reconfigure(what: "captioner") { $0.captioner = captioner }, for: call)
        case "SetHop":
            guard expect(call, "d"), let hop = number() else { return }
            guard hop.isFinite, hop > 0, hop <= 60 else {
                return reply(to: call, .failure(.invalidArgument("the hop must be between 0 (exclusive) and 60 seconds, got \(hop)")))
            }
            submit(.reconfigure(what: "hop") { $0.hop = hop }, for: call)
        case "AddOutput":
            guard expect(call, "s"), let spec = string() else { return }
            guard !spec.isEmpty else { return reply(to: call, .failure(.invalidArgument("the output spec must not be empty"))) }
            submit(.addOutput(spec: spec), for: call)
        case "RemoveOutput":
            guard expect(call, "s"), let id = string() else { return }
            submit(.removeOutput(id: id), for: call)
        case "ReloadConfig":
            guard expect(call, "") else { return }
            submit(.reloadConfiguration, for: call)
        case "CaptionNow":
            guard expect(call, "d"), let seconds = number() else { return }
            guard seconds.isFinite, seconds > 0 else {
                return reply(to: call, .failure(.invalidArgument("CaptionNow needs a positive number of seconds, got \(seconds)")))
            }
            submit(.captionNow(seconds: seconds), for: call)
        default:
            _ = unknownMethod(call)
        }
    }

    /// Queues a command for the inference thread; the reply is sent when it is done.
    private func submit(_ command: DaemonCommand, for call: IncomingCall) {
        let pending = PendingCall(call)
        control.submit(command) { [self] result in
            switch result {
            case let .success(.caption(event)): post(pending, .success([Self.captionDictionary(event)]))
            case let .success(.outputAdded(id)): post(pending, .success([.string(id)]))
            case .success(.done): post(pending, .success([]))
            case let .failure(error): post(pending, .failure(BusReplyError(name: BusNames.errorPrefix + error.kind.rawValue, message: error.message)))
            }
        }
    }

    // MARK: Properties

    /// Every property's current value, by name.
    private func properties() -> [(String, BusValue)] {
        let snapshot = control.snapshot()
        return [
            ("State", .string(snapshot.state.rawValue)),
            ("Source", .string(snapshot.source)),
            ("Model", .string(snapshot.model)),
            ("Captioner", .string(snapshot.captioner)),
            ("WindowSeconds", .double(snapshot.windowSeconds)),
            ("HopSeconds", .double(snapshot.hopSeconds)),
            ("Beam", .uint32(UInt32(clamping: snapshot.beam))),
            ("Outputs", .strings(snapshot.outputs)),
            ("LastCaption", snapshot.lastCaption.map(Self.captionDictionary) ?? .dictionary([])),
            ("DroppedAudioSeconds", .double(snapshot.droppedAudioSeconds)),
            ("Version", .string(version)),
        ]
    }

    /// Properties whose changes are not announced (their values never change).
    static let constantProperties: Set<String> = ["WindowSeconds", "Version"]

    private func handleProperties(_ call: IncomingCall) {
        let arguments = BusValue.arguments(of: call.message)
        func unknownInterface(_ name: String) -> BusReplyError {
            BusReplyError(name: "org.freedesktop.DBus.Error.UnknownInterface", message: "\(BusNames.objectPath) has no interface \(name)")
        }
        switch call.member {
        case "Get":
            guard expect(call, "ss"), case let .string(interface) = arguments[0], case let .string(name) = arguments[1] else { return }
            guard interface == BusNames.interface || interface.isEmpty else { return reply(to: call, .failure(unknownInterface(interface))) }
            guard let value = properties().first(where: { $0.0 == name })?.1 else {
                return reply(to: call, .failure(BusReplyError(name: "org.freedesktop.DBus.Error.UnknownProperty", message: "no property \(name) in \(BusNames.interface)")))
            }
            reply(to: call, .success([.variant(value)]))
        case "GetAll":
            guard expect(call, "s"), case let .string(interface) = arguments[0] else { return }
            guard interface == BusNames.interface || interface.isEmpty else { return reply(to: call, .failure(unknownInterface(interface))) }
            reply(to: call, .success([.dictionary(properties())]))
        case "Set":
            guard expect(call, "ssv"), case let .string(interface) = arguments[0], case let .string(name) = arguments[1],
                  case let .variant(value) = arguments[2] else { return }
            guard interface == BusNames.interface || interface.isEmpty else { return reply(to: call, .failure(unknownInterface(interface))) }
            set(name, value, call: call)
        default:
            _ = unknownMethod(call)
        }
    }

    private func set(_ name: String, _ value: BusValue, call: IncomingCall) {
        func wrongType(_ expected: String) {
            reply(to: call, .failure(.invalidArgument("\(name) is of type \(expected), got a value of type \(value.signature)")))
        }
        switch (name, value) {
        case let ("Source", .string(source)):
            guard !source.isEmpty else { return reply(to: call, .failure(.invalidArgument("the source must not be empty"))) }
            submit(.reconfigure(what: "source") { $0.source = source }, for: call)
        case let ("Model", .string(model)):
            guard !model.isEmpty else { return reply(to: call, .failure(.invalidArgument("the model must not be empty"))) }
            submit(.reconfigure(what: "model") { $0.model = model }, for: call)
        case let ("Captioner", .string(captioner)):
            guard !captioner.isEmpty else { return reply(to: call, .failure(.invalidArgument("the captioner must be a path or 'none'"))) }
            submit(.reconfigure(what: "captioner") { $0.captioner = captioner }, for: call)
        case let ("HopSeconds", .double(hop)):
            guard hop.isFinite, hop > 0, hop <= 60 else {
                return reply(to: call, .failure(.invalidArgument("the hop must be between 0 (exclusive) and 60 seconds, got \(hop)")))
            }
            submit(.reconfigure(what: "hop") { $0.hop = hop }, for: call)
        case let ("Beam", .uint32(beam)):
            guard (1...16).contains(beam) else { return reply(to: call, .failure(.invalidArgument("the beam width must be between 1 and 16, got \(beam)"))) }
            submit(.reconfigure(what: "beam") { $0.beam = Int(beam) }, for: call)
        case ("Source", _), ("Model", _), ("Captioner", _): wrongType("s")
        case ("HopSeconds", _): wrongType("d")
        case ("Beam", _): wrongType("u")
        default:
            if properties().contains(where: { $0.0 == name }) {
                reply(to: call, .failure(BusReplyError(name: "org.freedesktop.DBus.Error.PropertyReadOnly", message: "\(name) is read-only")))
            } else {
                reply(to: call, .failure(BusReplyError(name: "org.freedesktop.DBus.Error.UnknownProperty", message: "no property \(name) in \(BusNames.interface)")))
            }
        }
    }

    /// Sends PropertiesChanged for every announced property whose value changed since the last time.
    private func announceChanges() {
        let count = control.changeCount
        guard count != announcedChangeCount else { return }
        announcedChangeCount = count
        let current = properties().filter { !Self.constantProperties.contains($0.0) }
        let changed = current.filter { announced[$0.0] != $0.1 }
        for (name, value) in current { announced[name] = value }
        guard !changed.isEmpty, let signal = dbus_message_new_signal(BusNames.objectPath, "org.freedesktop.DBus.Properties", "PropertiesChanged") else { return }
        defer { dbus_message_unref(signal) }
        var iterator = DBusMessageIter()
        dbus_message_iter_init_append(signal, &iterator)
        BusValue.string(BusNames.interface).append(to: &iterator)
        BusValue.dictionary(changed).append(to: &iterator)
        BusValue.strings([]).append(to: &iterator)
        dbus_connection_send(connection.raw, signal, nil)
    }

    // MARK: Values

    /// A caption event as `LastCaption` and `CaptionNow` give it.
    static func captionDictionary(_ event: CaptionEvent) -> BusValue {
        .dictionary([
            ("start_us", .uint64(microseconds(event.start))),
            ("end_us", .uint64(microseconds(event.end))),
            ("text", .string(event.text)),
            ("final", .boolean(event.isFinal)),
            ("silence", .boolean(event.kind == .silence)),
            ("id", .uint64(event.id)),
            ("tags", .array(element: "(sd)", event.tags.map { .structure([.string($0.name), .double(Double($0.score))]) })),
            ("model", .string(event.model)),
        ])
    }

    /// Media time in whole microseconds, as the Caption signal carries it (the plugin rounds the same way).
    static func microseconds(_ seconds: Double) -> UInt64 {
        seconds.isFinite && seconds > 0 ? UInt64((seconds * 1_000_000).rounded()) : 0
    }

    private func statusDictionary() -> BusValue {
        let status = control.status()
        var entries: [(String, BusValue)] = [
            ("uptime_s", .double(status.uptimeSeconds)),
            ("windows", .uint64(UInt64(max(0, status.windows)))),
            ("silent_windows", .uint64(UInt64(max(0, status.silentWindows)))),
            ("events", .uint64(UInt64(max(0, status.events)))),
        ]
        if let p50 = status.latencyP50Milliseconds { entries.append(("latency_p50_ms", .double(p50))) }
        if let p99 = status.latencyP99Milliseconds { entries.append(("latency_p99_ms", .double(p99))) }
        entries.append(("real_time_factor", .double(status.realTimeFactor)))
        entries.append(("dropped_audio_s", .double(status.droppedAudioSeconds)))
        entries.append(("output_drops", .array(element: "{st}", status.outputDrops.map { .structure([.string($0.output), .uint64($0.dropped)]) })))
        entries.append(("caption_failures", .uint64(UInt64(max(0, status.captionFailures)))))
        entries.append(("rss_bytes", .uint64(Self.residentBytes())))
        entries.append(("blas_kernel", .string(BLAS.kernelDescription)))
        return .dictionary(entries)
    }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// (spec for SetSource, description) of every PulseAudio source and JACK output port.
    static func listSources() -> [(spec: String, description: String)] {
        let listing = SourceListing.query()
        var sources: [(String, String)] = []
        if case let .success(pulse) = listing.pulse {
            if listing.pulseDefaultSink != nil {
                sources.append(("pulse", "PulseAudio: follows the monitor of the default sink (what the desktop plays)"))
            }
            for source in pulse { sources.append(("pulse:\(source.name)", "PulseAudio: \(source.description)")) }
        }
        if case let .success(ports) = listing.jack {
            for port in ports { sources.append(("jack:\(port.name)", port.isPhysical ? "JACK: hardware port" : "JACK: output port")) }
        }
        return sources
    }

    /// The introspection document: the object's interfaces (ours verbatim from the shipped XML), or for a
    /// parent path only its child node.
    static func introspection(childNode: String?) -> String {
        var xml = """
        <!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
        <node>

        """
        if let childNode {
            xml += "  <node name=\"\(childNode)\"/>\n"
        } else {
            xml += standardInterfaces + InterfaceXML.daemon1 + "\n"
        }
        return xml + "</node>\n"
    }

    static let standardInterfaces = """
      <interface name="org.freedesktop.DBus.Introspectable">
        <method name="Introspect">
          <arg name="xml_data" type="s" direction="out"/>
        </method>
      </interface>
      <interface name="org.freedesktop.DBus.Peer">
        <method name="Ping"/>
        <method name="GetMachineId">
          <arg name="machine_uuid" type="s" direction="out"/>
        </method>
      </interface>
      <interface name="org.freedesktop.DBus.Properties">
        <method name="Get">
          <arg name="interface_name" type="s" direction="in"/>
          <arg name="property_name" type="s" direction="in"/>
          <arg name="value" type="v" direction="out"/>
        </method>
        <method name="GetAll">
          <arg name="interface_name" type="s" direction="in"/>
          <arg name="props" type="a{sv}" direction="out"/>
        </method>
        <method name="Set">
          <arg name="interface_name" type="s" direction="in"/>
          <arg name="property_name" type="s" direction="in"/>
          <arg name="value" type="v" direction="in"/>
        </method>
        <signal name="PropertiesChanged">
          <arg name="interface_name" type="s"/>
          <arg name="changed_properties" type="a{sv}"/>
          <arg name="invalidated_properties" type="as"/>
        </signal>
      </interface>

    """

    // MARK: Replies

    private func reply(to call: IncomingCall, _ result: Result<[BusValue], BusReplyError>) {
        send(reply: result, to: call.message)
    }

    /// Called from any thread: the loop sends it.
    private func post(_ call: PendingCall, _ result: Result<[BusValue], BusReplyError>) {
        outbox.withLock { $0.append(OutgoingReply(call: call, result: result)) }
    }

    private func sendOutbox() {
        let replies = outbox.withLock { pending -> [OutgoingReply] in
            defer { pending.removeAll() }
            return pending
        }
        for item in replies {
            send(reply: item.result, to: item.call.message)
            dbus_message_unref(item.call.message)
        }
    }

    private func send(reply result: Result<[BusValue], BusReplyError>, to message: OpaquePointer) {
        guard dbus_message_get_no_reply(message) == 0 else { return }
        let reply: OpaquePointer?
        switch result {
        case let .success(values):
            reply = dbus_message_new_method_return(message)
            if let reply {
                var iterator = DBusMessageIter()
                dbus_message_iter_init_append(reply, &iterator)
                for value in values { value.append(to: &iterator) }
            }
        case let .failure(error):
            reply = dbus_message_new_error(message, error.name, error.message)
        }
        guard let reply else { return }
        dbus_connection_send(connection.raw, reply, nil)
        dbus_message_unref(reply)
    }
}

/// A method call being handled on the bus thread (the message is valid during the handler).
struct IncomingCall {
    let message: OpaquePointer
    let interface: String?
    let member: String
    let signature: String
}

/// A method call answered later, from another thread: holds a reference to the message.
struct PendingCall: @unchecked Sendable {
    let message: OpaquePointer
    init(_ call: IncomingCall) {
        message = call.message
        dbus_message_ref(message)
    }
}

struct OutgoingReply: @unchecked Sendable {
    let call: PendingCall
    let result: Result<[BusValue], BusReplyError>
}

/// A D-Bus error reply: its name and a message saying what was wrong.
struct BusReplyError: Error, Sendable {
    let name: String
    let message: String

    static func invalidArgument(_ message: String) -> BusReplyError {
        BusReplyError(name: BusNames.errorPrefix + DaemonCommandError.Kind.invalidArgument.rawValue, message: message)
    }
}
