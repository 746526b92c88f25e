import CDBus

/// A D-Bus value as the service sends and receives it: the few types the interface uses, each with
/// its signature, appended to and read from libdbus messages through `DBusMessageIter`.
public indirect enum BusValue: Equatable, Sendable, CustomStringConvertible {
    case boolean(Bool)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    case signature(String)
    case variant(BusValue)
    /// An array; `element` is its element signature (needed when it is empty).
    case array(element: String, [BusValue])
    /// A dictionary `a{sv}` (the only dictionary shape the interface uses), in insertion order.
    case dictionary([(String, BusValue)])
    case structure([BusValue])
    /// A type this service never reads (file descriptors, bytes, other dictionaries), by signature.
    case unsupported(String)

    public var signature: String {
        switch self {
        case .boolean: return "b"
        case .int32: return "i"
        case .uint32: return "u"
        case .int64: return "x"
        case .uint64: return "t"
        case .double: return "d"
        case .string: return "s"
        case .objectPath: return "o"
        case .signature: return "g"
        case .variant: return "v"
        case let .array(element, _): return "a" + element
        case .dictionary: return "a{sv}"
        case let .structure(fields): return "(" + fields.map(\.signature).joined() + ")"
        case let .unsupported(signature): return signature
        }
    }

    public var description: String {
        switch self {
        case let .boolean(value): return "\(value)"
        case let .int32(value): return "\(value)"
        case let .uint32(value): return "\(value)"
        case let .int64(value): return "\(value)"
        case let .uint64(value): return "\(value)"
        case let .double(value): return "\(value)"
        case let .string(value), let .objectPath(value), let .signature(value): return "\"\(value)\""
        case let .variant(value): return "<\(value)>"
        case let .array(_, values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case let .dictionary(entries): return "{" + entries.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        case let .structure(fields): return "(" + fields.map(\.description).joined(separator: ", ") + ")"
        case let .unsupported(signature): return "<\(signature)>"
        }
    }

    public static func == (lhs: BusValue, rhs: BusValue) -> Bool {
        switch (lhs, rhs) {
        case let (.dictionary(a), .dictionary(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.boolean(a), .boolean(b)): return a == b
        case let (.int32(a), .int32(b)): return a == b
        case let (.uint32(a), .uint32(b)): return a == b
        case let (.int64(a), .int64(b)): return a == b
        case let (.uint64(a), .uint64(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)), let (.objectPath(a), .objectPath(b)), let (.signature(a), .signature(b)),
             let (.unsupported(a), .unsupported(b)):
            return a == b
        case let (.variant(a), .variant(b)): return a == b
        case let (.array(ea, a), .array(eb, b)): return ea == eb && a == b
        case let (.structure(a), .structure(b)): return a == b
        default: return false
        }
    }

    /// `a{sv}` from key–value pairs.
    public static func dict(_ entries: [(String, BusValue)]) -> BusValue { .dictionary(entries) }
    /// `as`.
    public static func strings(_ values: [String]) -> BusValue { .array(element: "s", values.map(BusValue.string)) }
}

/// libdbus type codes (the C macros are casts Swift does not import).
enum BusTypeCode {
    static let boolean = Int32(UInt8(ascii: "b"))
    static let int32 = Int32(UInt8(ascii: "i"))
    static let uint32 = Int32(UInt8(ascii: "u"))
    static let int64 = Int32(UInt8(ascii: "x"))
    static let uint64 = Int32(UInt8(ascii: "t"))
    static let double = Int32(UInt8(ascii: "d"))
    static let string = Int32(UInt8(ascii: "s"))
    static let objectPath = Int32(UInt8(ascii: "o"))
    static let signature = Int32(UInt8(ascii: "g"))
    static let variant = Int32(UInt8(ascii: "v"))
    static let array = Int32(UInt8(ascii: "a"))
    static let structure = Int32(UInt8(ascii: "r"))
    static let dictEntry = Int32(UInt8(ascii: "e"))
    static let invalid = Int32(0)
}

// MARK: - Writing

extension BusValue {
    /// Appends the value to a message being built. False only when libdbus runs out of memory.
    @discardableResult
    func append(to iterator: inout DBusMessageIter) -> Bool {
        func basic<T>(_ code: Int32, _ value: T) -> Bool {
            var copy = value
            return dbus_message_iter_append_basic(&iterator, code, &copy) != 0
        }
        func text(_ code: Int32, _ value: String) -> Bool {
            value.withCString { pointer in
                var cString: UnsafePointer<CChar>? = pointer
                return dbus_message_iter_append_basic(&iterator, code, &cString) != 0
            }
        }
        func container(_ code: Int32, _ signature: String?, _ body: (inout DBusMessageIter) -> Bool) -> Bool {
            var inner = DBusMessageIter()
            let opened: Bool = signature.map { signature in
                signature.withCString { dbus_message_iter_open_container(&iterator, code, $0, &inner) != 0 }
            } ?? (dbus_message_iter_open_container(&iterator, code, nil, &inner) != 0)
            guard opened else { return false }
            let filled = body(&inner)
            guard filled else {
                dbus_message_iter_abandon_container(&iterator, &inner)
                return false
            }
            return dbus_message_iter_close_container(&iterator, &inner) != 0
        }
        switch self {
        case let .boolean(value): return basic(BusTypeCode.boolean, dbus_bool_t(value ? 1 : 0))
        case let .int32(value): return basic(BusTypeCode.int32, value)
        case let .uint32(value): return basic(BusTypeCode.uint32, value)
        case let .int64(value): return basic(BusTypeCode.int64, value)
        case let .uint64(value): return basic(BusTypeCode.uint64, value)
        case let .double(value): return basic(BusTypeCode.double, value)
        case let .string(value): return text(BusTypeCode.string, value)
        case let .objectPath(value): return text(BusTypeCode.objectPath, value)
        case let .signature(value): return text(BusTypeCode.signature, value)
        case let .variant(value):
            return container(BusTypeCode.variant, value.signature) { value.append(to: &$0) }
        case let .array(element, values) where element.hasPrefix("{"):
            // A dictionary other than a{sv}: each element is a two-field structure written as an entry.
            return container(BusTypeCode.array, element) { inner in
                values.allSatisfy { value in
                    guard case let .structure(fields) = value, fields.count == 2 else { return false }
                    var entry = DBusMessageIter()
                    guard dbus_message_iter_open_container(&inner, BusTypeCode.dictEntry, nil, &entry) != 0 else { return false }
                    guard fields[0].append(to: &entry), fields[1].append(to: &entry) else {
                        dbus_message_iter_abandon_container(&inner, &entry)
                        return false
                    }
                    return dbus_message_iter_close_container(&inner, &entry) != 0
                }
            }
        case let .array(element, values):
            return container(BusTypeCode.array, element) { inner in values.allSatisfy { $0.append(to: &inner) } }
        case let .dictionary(entries):
            return container(BusTypeCode.array, "{sv}") { inner in
                entries.allSatisfy { key, value in Self.appendEntry(key, value, to: &inner) }
            }
        case let .structure(fields):
            return container(BusTypeCode.structure, nil) { inner in fields.allSatisfy { $0.append(to: &inner) } }
        case .unsupported: return false
        }
    }

    private static func appendEntry(_ key: String, _ value: BusValue, to iterator: inout DBusMessageIter) -> Bool {
        var entry = DBusMessageIter()
        guard dbus_message_iter_open_container(&iterator, BusTypeCode.dictEntry, nil, &entry) != 0 else { return false }
        let filled = BusValue.string(key).append(to: &entry) && BusValue.variant(value).append(to: &entry)
        guard filled else {
            dbus_message_iter_abandon_container(&iterator, &entry)
            return false
        }
        return dbus_message_iter_close_container(&iterator, &entry) != 0
    }
}

// MARK: - Reading

extension BusValue {
    /// Every argument of a message.
    static func arguments(of message: OpaquePointer) -> [BusValue] {
        var iterator = DBusMessageIter()
        guard dbus_message_iter_init(message, &iterator) != 0 else { return [] }
        var values: [BusValue] = []
        repeat {
            let type = dbus_message_iter_get_arg_type(&iterator)
            if type == BusTypeCode.invalid { break }
            values.append(read(&iterator))
        } while dbus_message_iter_next(&iterator) != 0
        return values
    }

    /// The value at the iterator (not advanced).
    static func read(_ iterator: inout DBusMessageIter) -> BusValue {
        let type = dbus_message_iter_get_arg_type(&iterator)
        func basic<T>(_ initial: T) -> T {
            var value = initial
            dbus_message_iter_get_basic(&iterator, &value)
            return value
        }
        func text() -> String {
            var pointer: UnsafePointer<CChar>?
            dbus_message_iter_get_basic(&iterator, &pointer)
            return pointer.map { String(cString: $0) } ?? ""
        }
        func signatureHere() -> String {
            guard let raw = dbus_message_iter_get_signature(&iterator) else { return "?" }
            defer { dbus_free(raw) }
            return String(cString: raw)
        }
        switch type {
        case BusTypeCode.boolean: return .boolean(basic(dbus_bool_t(0)) != 0)
        case BusTypeCode.int32: return .int32(basic(Int32(0)))
        case BusTypeCode.uint32: return .uint32(basic(UInt32(0)))
        case BusTypeCode.int64: return .int64(basic(Int64(0)))
        case BusTypeCode.uint64: return .uint64(basic(UInt64(0)))
        case BusTypeCode.double: return .double(basic(Double(0)))
        case BusTypeCode.string: return .string(text())
        case BusTypeCode.objectPath: return .objectPath(text())
        case BusTypeCode.signature: return .signature(text())
        case BusTypeCode.variant:
            var inner = DBusMessageIter()
            dbus_message_iter_recurse(&iterator, &inner)
            return .variant(read(&inner))
        case BusTypeCode.structure:
            var inner = DBusMessageIter()
            dbus_message_iter_recurse(&iterator, &inner)
            var fields: [BusValue] = []
            while dbus_message_iter_get_arg_type(&inner) != BusTypeCode.invalid {
                fields.append(read(&inner))
                dbus_message_iter_next(&inner)
            }
            return .structure(fields)
        case BusTypeCode.array:
            let signature = signatureHere()
            let element = String(signature.dropFirst())
            var inner = DBusMessageIter()
            dbus_message_iter_recurse(&iterator, &inner)
            if element == "{sv}" {
                var entries: [(String, BusValue)] = []
                while dbus_message_iter_get_arg_type(&inner) == BusTypeCode.dictEntry {
                    var entry = DBusMessageIter()
                    dbus_message_iter_recurse(&inner, &entry)
                    let key = read(&entry)
                    dbus_message_iter_next(&entry)
                    let value = read(&entry)
                    if case let .string(name) = key, case let .variant(inside) = value { entries.append((name, inside)) }
                    dbus_message_iter_next(&inner)
                }
                return .dictionary(entries)
            }
            if element.hasPrefix("{") { return .unsupported(signature) }
            var values: [BusValue] = []
            while dbus_message_iter_get_arg_type(&inner) != BusTypeCode.invalid {
                values.append(read(&inner))
                dbus_message_iter_next(&inner)
            }
            return .array(element: element, values)
        default:
            return .unsupported(signatureHere())
        }
    }
}
