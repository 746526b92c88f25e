import CDBus
import Foundation

// Load on muscapsd's D-Bus interface: calls GetStatus and Properties.Get (alternately) at a fixed rate
// for a fixed time, each a blocking round trip, and reports the call latency. Run by
// Tools/bench/dbus-load.sh, which measures the daemon's caption latency with and without this load.
//
//   muscapsd-dbus-bench [--rate 1000] [--seconds 60] [--dest org.muscaps.Daemon1]
// (session bus from DBUS_SESSION_BUS_ADDRESS; prints a progress line with ETA on stderr)

var rate = 1_000.0, seconds = 60.0, destination = "org.muscaps.Daemon1"
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--rate": rate = Double(value) ?? rate
    case "--seconds": seconds = Double(value) ?? seconds
    case "--dest": destination = value
    default:
        FileHandle.standardError.write("unknown option \(flag) (known: --rate, --seconds, --dest)\n".data(using: .utf8)!)
        exit(2)
    }
}

var error = DBusError()
dbus_error_init(&error)
guard let connection = dbus_bus_get_private(DBUS_BUS_SESSION, &error) else {
    FileHandle.standardError.write("cannot connect to the session bus: \(error.message.map { String(cString: $0) } ?? "")\n".data(using: .utf8)!)
    exit(1)
}

func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// One blocking call; its round-trip time in microseconds, or nil on an error reply.
@MainActor func call(_ index: Int) -> Double? {
    let message: OpaquePointer?
    if index % 2 == 0 {
        message = dbus_message_new_method_call(destination, "/org/muscaps/Daemon1", "org.muscaps.Daemon1", "GetStatus")
    } else {
        message = dbus_message_new_method_call(destination, "/org/muscaps/Daemon1", "org.freedesktop.DBus.Properties", "Get")
        var iterator = DBusMessageIter()
        dbus_message_iter_init_append(message, &iterator)
        for text in ["org.muscaps.Daemon1", "LastCaption"] {
            text.withCString { pointer in
                var cString: UnsafePointer<CChar>? = pointer
                _ = dbus_message_iter_append_basic(&iterator, Int32(UInt8(ascii: "s")), &cString)
            }
        }
    }
    guard let message else { return nil }
    defer { dbus_message_unref(message) }
    let started = now()
    var callError = DBusError()
    dbus_error_init(&callError)
    defer { dbus_error_free(&callError) }
    guard let reply = dbus_connection_send_with_reply_and_block(connection, message, 5_000, &callError) else { return nil }
    dbus_message_unref(reply)
    return Double(now() - started) / 1_000
}

let total = Int(rate * seconds)
let interval = UInt64(1e9 / rate)
var latencies: [Double] = []
latencies.reserveCapacity(total)
var failures = 0
let start = now()
var lastProgress = start
for index in 0..<total {
    let slot = start + UInt64(index) * interval
    let current = now()
    if slot > current { usleep(UInt32((slot - current) / 1_000)) }
    if let latency = call(index) { latencies.append(latency) } else { failures += 1 }
    if now() - lastProgress > 1_000_000_000 || index == total - 1 {
        lastProgress = now()
        let done = Double(index + 1) / Double(total)
        let elapsed = Double(lastProgress - start) / 1e9
        let eta = done > 0 ? elapsed / done - elapsed : 0
        let bar = String(repeating: "#", count: Int(done * 30)).padding(toLength: 30, withPad: " ", startingAt: 0)
        FileHandle.standardError.write(String(format: "\r[%@] %d/%d calls, ETA %.0f s ", bar, index + 1, total, eta).data(using: .utf8)!)
    }
}
let elapsed = Double(now() - start) / 1e9
FileHandle.standardError.write("\n".data(using: .utf8)!)
latencies.sort()
@MainActor func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count - 1) * p))] }
print(String(format: "calls %d in %.1f s (%.0f/s), failed %d, latency us p50 %.0f p99 %.0f max %.0f",
             latencies.count, elapsed, Double(latencies.count) / elapsed, failures, percentile(0.5), percentile(0.99), latencies.last ?? .nan))
dbus_connection_close(connection)
exit(failures == 0 ? 0 : 1)
