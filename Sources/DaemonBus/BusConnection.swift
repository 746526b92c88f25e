import CDBus
import Foundation

/// Which bus the daemon joins.
public enum BusChoice: Sendable, Equatable, CustomStringConvertible {
    case session
    case system
    /// A bus at an explicit address (tests, private buses).
    case address(String)

    public var description: String {
        switch self {
        case .session: return "session bus"
        case .system: return "system bus"
        case let .address(address): return "bus at \(address)"
        }
    }
}

/// A problem joining the bus, said in one line.
public struct BusError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable { case unreachable, nameTaken, other }
    public let kind: Kind
    public let message: String
    public init(_ message: String, kind: Kind = .other) {
        self.message = message
        self.kind = kind
    }
    public var description: String { message }
}

/// A private libdbus connection (never shared with other code in the process), registered on the bus.
/// Blocking helpers here are for start-up only; once the service runs, only its thread reads the
/// connection (libdbus makes sending from other threads safe: the dbus output plugin does).
final class BusConnection: @unchecked Sendable {
    let raw: OpaquePointer
    let uniqueName: String
    let bus: BusChoice

    init(_ bus: BusChoice) throws {
        _ = dbus_threads_init_default()
        var error = DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        let connection: OpaquePointer?
        switch bus {
        case .session: connection = dbus_bus_get_private(DBUS_BUS_SESSION, &error)
        case .system: connection = dbus_bus_get_private(DBUS_BUS_SYSTEM, &error)
        case let .address(address):
            connection = dbus_connection_open_private(address, &error)
            if let connection, dbus_bus_register(connection, &error) == 0 {
                dbus_connection_close(connection)
                dbus_connection_unref(connection)
                throw BusError("cannot register on the \(bus): \(Self.text(error))", kind: .unreachable)
            }
        }
        guard let connection else { throw BusError("cannot connect to the \(bus): \(Self.text(error))", kind: .unreachable) }
        dbus_connection_set_exit_on_disconnect(connection, 0)
        raw = connection
        uniqueName = dbus_bus_get_unique_name(connection).map { String(cString: $0) } ?? "?"
        self.bus = bus
    }

    /// Takes `name`, without queueing behind another owner. Throws, naming the owner (its unique name,
    /// pid and command line), when someone else has it.
    func requestName(_ name: String) throws {
        var error = DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        let doNotQueue: UInt32 = 0x4 // DBUS_NAME_FLAG_DO_NOT_QUEUE
        let reply = dbus_bus_request_name(raw, name, doNotQueue, &error)
        if dbus_error_is_set(&error) != 0 {
            throw BusError("cannot own \(name) on the \(bus): \(Self.text(error))")
        }
        switch reply {
        case 1, 4: return // primary owner, already owner
        default:
            throw BusError("\(name) is already taken on the \(bus) by \(describeOwner(of: name)); "
                           + "stop that daemon, or give this one another name with --bus-name-suffix", kind: .nameTaken)
        }
    }

    /// Throws, naming the owner, if `name` has one.
    func checkNameIsFree(_ name: String) throws {
        guard case .boolean(true)? = try callBus("NameHasOwner", .string(name)).first else { return }
        throw BusError("\(name) is already taken on the \(bus) by \(describeOwner(of: name)); "
                       + "stop that daemon, or give this one another name with --bus-name-suffix", kind: .nameTaken)
    }

    /// "muscapsd (pid 1234, :1.7: /usr/bin/muscapsd --source pulse)" or as much of it as the bus tells.
    func describeOwner(of name: String) -> String {
        guard case let .string(owner)? = try? callBus("GetNameOwner", .string(name)).first else { return "another program" }
        guard case let .uint32(pid)? = try? callBus("GetConnectionUnixProcessID", .string(owner)).first else { return "connection \(owner)" }
        let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")))
            .map { String(decoding: $0, as: UTF8.self).split(separator: "\0").joined(separator: " ") } ?? ""
        return commandLine.isEmpty ? "pid \(pid) (\(owner))" : "pid \(pid) (\(owner): \(commandLine))"
    }

    /// A blocking call to the bus daemon itself (start-up only).
    func callBus(_ member: String, _ arguments: BusValue...) throws -> [BusValue] {
        guard let message = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", member) else {
            throw BusError("out of memory")
        }
        defer { dbus_message_unref(message) }
        var iterator = DBusMessageIter()
        dbus_message_iter_init_append(message, &iterator)
        for argument in arguments { argument.append(to: &iterator) }
        var error = DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        guard let reply = dbus_connection_send_with_reply_and_block(raw, message, 2_000, &error) else {
            throw BusError(Self.text(error))
        }
        defer { dbus_message_unref(reply) }
        return BusValue.arguments(of: reply)
    }

    func close() {
        dbus_connection_close(raw)
        dbus_connection_unref(raw)
    }

    static func text(_ error: DBusError) -> String {
        let name = error.name.map { String(cString: $0) } ?? "error"
        let message = error.message.map { String(cString: $0) } ?? ""
        return message.isEmpty ? name : message
    }
}
