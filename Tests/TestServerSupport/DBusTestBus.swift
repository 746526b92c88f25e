import Foundation
import XCTest

/// A private `dbus-daemon` for one test: its own socket in a scratch directory, its own config (a
/// session bus that lets everyone do everything, or whatever `policy` says), optionally a directory of
/// activatable services. Stopped on deinit.
public final class DBusTestBus {
    public enum Kind: String { case session, system }

    public let directory: ScratchDirectory
    /// `unix:path=/tmp/…/bus`
    public let address: String
    public let kind: Kind
    public private(set) var process: ChildProcess?
    public let logPath: String

    /// Allows every connection to own names, call methods and receive signals.
    public static let permissivePolicy = """
      <policy context="default">
        <allow send_destination="*" eavesdrop="true"/>
        <allow eavesdrop="true"/>
        <allow own="*"/>
      </policy>
    """

    /// - Parameters:
    ///   - policy: the `<policy>` elements and `<include>`s of the config (default: allow everything).
    ///   - serviceDirectory: a `<servicedir>` for activation files.
    ///   - environment: extra environment for the daemon (and the services it activates).
    public init(kind: Kind = .session, policy: String = DBusTestBus.permissivePolicy, serviceDirectory: String? = nil,
                environment: [String: String] = [:]) throws {
        let daemon = try TestTools.require("dbus-daemon", package: "dbus-daemon")
        self.kind = kind
        directory = try ScratchDirectory("muscaps-bus")
        // The socket's directory must be reachable by the unprivileged uids of the policy tests.
        chmod(directory.path, 0o755)
        address = "unix:path=\(directory.file("bus"))"
        logPath = directory.file("dbus-daemon.log")
        let config = """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>\(kind.rawValue)</type>
          <listen>\(address)</listen>
          <auth>EXTERNAL</auth>
        \(serviceDirectory.map { "  <servicedir>\($0)</servicedir>\n" } ?? "")\(policy)
        </busconfig>
        """
        try config.write(toFile: directory.file("bus.conf"), atomically: true, encoding: .utf8)
        let child = try TestTools.launch(daemon, ["--config-file=\(directory.file("bus.conf"))", "--nofork", "--nopidfile"],
                                         environment: environment, log: logPath)
        process = child
        let ready = TestTools.waitFor(10) { FileManager.default.fileExists(atPath: directory.file("bus")) || !child.isRunning }
        guard ready, child.isRunning else {
            throw TestSetupError(message: "dbus-daemon did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
        chmod(directory.file("bus"), 0o777)
    }

    /// For clients: the bus address in the variable libdbus, GDBus and sd-bus read for this kind of bus.
    public var environment: [String: String] {
        kind == .session ? ["DBUS_SESSION_BUS_ADDRESS": address] : ["DBUS_SYSTEM_BUS_ADDRESS": address]
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until `name` has an owner on the bus.
    public func waitForName(_ name: String, timeout: Double = 30) -> Bool {
        let dbusSend = (try? TestTools.require("dbus-send", package: "dbus-bin")) ?? "/usr/bin/dbus-send"
        return TestTools.waitFor(timeout) {
            let reply = try? TestTools.run(dbusSend, ["--bus=\(address)", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                      "org.freedesktop.DBus.NameHasOwner", "string:\(name)"], timeout: 5)
            return reply?.contains("boolean true") ?? false
        }
    }

    public func stop() {
        process?.terminate(grace: 2)
        process = nil
    }

    deinit { stop() }
}

/// Runs a shell command line (as a user would type it) with extra environment; returns its exit
/// status, stdout and stderr. Lines that never end by themselves (monitors) are stopped after
/// `timeout` seconds with SIGTERM; `timedOut` says so.
public struct ShellResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var timedOut: Bool
}

public func runShell(_ line: String, environment: [String: String] = [:], timeout: Double = 20) throws -> ShellResult {
    let output = ScratchFile("out"), errors = ScratchFile("err")
    // setsid: the line may start a pipeline; the whole process group is signalled at the timeout.
    let child = try ChildProcess("/usr/bin/setsid", ["/bin/sh", "-c", line], environment: environment,
                                 stdout: .file(output.path), stderr: .file(errors.path))
    var timedOut = false
    if child.wait(timeout: timeout) == nil {
        timedOut = true
        // The shell is the group leader (setsid): signal the group, then reap.
        kill(-child.pid, SIGTERM)
        if child.wait(timeout: 3) == nil {
            kill(-child.pid, SIGKILL)
            _ = child.wait(timeout: 3)
        }
    }
    return ShellResult(status: child.terminationStatus, stdout: output.contents, stderr: errors.contents, timedOut: timedOut)
}
