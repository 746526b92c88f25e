import Foundation
import TestServerSupport
import XCTest

/// The system-bus policy (Systemd/dbus-1/system.d/org.muscaps.Daemon1.conf) on a private dbus-daemon
/// whose config is the system bus's own default policy (from /usr/share/dbus-1/system.conf) plus an
/// `<include>` of the shipped file. Clients run as the unprivileged `nobody`, with and without the
/// `muscaps` group (setpriv), against muscapsd running as root with --system-bus.
final class DBusPolicyTests: XCTestCase {
    static let policyFile = CLI.repositoryRoot.appendingPathComponent("Systemd/dbus-1/system.d/org.muscaps.Daemon1.conf").path
    static let piano = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path
    static let nobody: UInt32 = 65_534

    private var bus: DBusTestBus!
    private var daemon: ChildProcess?
    private var scratch: ScratchDirectory!
    private var groupID: gid_t = 0

    override func setUpWithError() throws {
        guard getuid() == 0 else {
            XCTFail("the policy test runs clients as other users with setpriv: run it as root (CI does)")
            throw TestSetupError(message: "not root")
        }
        guard let group = getgrnam("muscaps") else {
            XCTFail("no 'muscaps' group: run `bash Tools/setup.sh` (it creates the group the policy names)")
            throw TestSetupError(message: "no muscaps group")
        }
        groupID = group.pointee.gr_gid
        let systemConfig = try String(contentsOfFile: "/usr/share/dbus-1/system.conf", encoding: .utf8)
        let start = try XCTUnwrap(systemConfig.range(of: "<policy context=\"default\">"), "system.conf has no default policy")
        let end = try XCTUnwrap(systemConfig.range(of: "</policy>", range: start.upperBound..<systemConfig.endIndex))
        let defaultPolicy = String(systemConfig[start.lowerBound..<end.upperBound])
        bus = try DBusTestBus(kind: .system, policy: defaultPolicy + "\n  <include>\(Self.policyFile)</include>")
        scratch = try ScratchDirectory("muscaps-policy")
        chmod(scratch.path, 0o755)
        daemon = try ChildProcess(CLI.productsDirectory.appendingPathComponent("muscapsd").path,
                                  ["--system-bus", "--source", "file:\(Self.piano):realtime:loop", "--output", "dbus"],
                                  environment: bus.environment, stderr: .file(scratch.file("daemon.err")))
        guard bus.waitForName("org.muscaps.Daemon1", timeout: 60) else {
            XCTFail("muscapsd (root) could not own its name on the system bus: \((try? String(contentsOfFile: scratch.file("daemon.err"), encoding: .utf8)) ?? "") \(bus.log)")
            throw TestSetupError(message: "no daemon")
        }
    }

    override func tearDown() {
        daemon?.terminate(grace: 5)
        bus = nil
    }

    /// Runs a client command line as `nobody`, optionally with the `muscaps` group.
    private func asNobody(_ command: String, inGroup: Bool, timeout: Double = 20) throws -> ShellResult {
        let groups = inGroup ? "--groups=\(groupID)" : "--clear-groups"
        return try runShell("setpriv --reuid=\(Self.nobody) --regid=\(Self.nobody) \(groups) -- \(command)",
                            environment: bus.environment.merging(["HOME": scratch.path]) { $1 }, timeout: timeout)
    }

    private let call = "dbus-send --system --print-reply --dest=org.muscaps.Daemon1 /org/muscaps/Daemon1"

    private func state() throws -> String {
        try asNobody("\(call) org.freedesktop.DBus.Properties.Get string:org.muscaps.Daemon1 string:State", inGroup: false).stdout
    }

    func testAnyoneReadsButOnlyTheGroupControls() throws {
        // Anyone: properties, introspection, Peer, GetStatus.
        XCTAssertTrue(try state().contains("string \"running\""))
        for reading in ["org.freedesktop.DBus.Properties.GetAll string:org.muscaps.Daemon1", "org.freedesktop.DBus.Introspectable.Introspect",
                        "org.freedesktop.DBus.Peer.Ping", "org.muscaps.Daemon1.GetStatus"] {
            let result = try asNobody("\(call) \(reading)", inGroup: false)
            XCTAssertEqual(result.status, 0, "\(reading) as nobody: \(result.stderr)")
        }
        // Not in the group: every control method and Set is refused by the bus, and nothing changes.
        for control in ["org.muscaps.Daemon1.Pause", "org.muscaps.Daemon1.Resume", "org.muscaps.Daemon1.SetHop double:2",
                        "org.muscaps.Daemon1.ReloadConfig", "org.muscaps.Daemon1.CaptionNow double:5",
                        "org.freedesktop.DBus.Properties.Set string:org.muscaps.Daemon1 string:HopSeconds variant:double:2"] {
            let result = try asNobody("\(call) \(control)", inGroup: false)
            XCTAssertNotEqual(result.status, 0, "\(control) as nobody succeeded")
            XCTAssertTrue(result.stderr.contains("org.freedesktop.DBus.Error.AccessDenied"), "\(control): \(result.stderr)")
        }
        XCTAssertTrue(try state().contains("string \"running\""))
        // In the group: the same calls reach the daemon.
        let pause = try asNobody("\(call) org.muscaps.Daemon1.Pause", inGroup: true)
        XCTAssertEqual(pause.status, 0, pause.stderr)
        XCTAssertTrue(try state().contains("string \"paused\""))
        let resume = try asNobody("busctl --system call org.muscaps.Daemon1 /org/muscaps/Daemon1 org.muscaps.Daemon1 Resume", inGroup: true)
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertTrue(try state().contains("string \"running\""))
        // A bad value from a group member is the daemon's answer, not the bus's.
        let bad = try asNobody("\(call) org.muscaps.Daemon1.SetHop double:-1", inGroup: true)
        XCTAssertTrue(bad.stderr.contains("org.muscaps.Daemon1.Error.InvalidArgument"), bad.stderr)
    }

    func testOnlyRootOwnsTheNameAndAnyoneReceivesTheSignals() throws {
        for inGroup in [false, true] {
            let own = try asNobody("gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus "
                                   + "--method org.freedesktop.DBus.RequestName org.muscaps.Daemon1.impostor 4", inGroup: inGroup)
            XCTAssertNotEqual(own.status, 0)
            XCTAssertTrue(own.stderr.contains("AccessDenied"), own.stderr)
        }
        let monitor = try asNobody("gdbus monitor --system --dest org.muscaps.Daemon1", inGroup: false, timeout: 8)
        XCTAssertTrue(monitor.timedOut)
        XCTAssertTrue(monitor.stdout.contains("org.muscaps.Daemon1.Caption ("), "nobody received no Caption signal: \(monitor.stdout) \(monitor.stderr)")
    }
}
