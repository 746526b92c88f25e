import Foundation
import TestServerSupport
import XCTest

/// The shipped activation file (Systemd/dbus-1/services/org.muscaps.Daemon1.service): a call to the
/// name on a private session bus whose service directory holds it starts muscapsd, which captures
/// from a private PulseAudio server (null sink) and answers. Also ListSources from that daemon.
final class DBusActivationTests: XCTestCase {
    static let serviceFile = CLI.repositoryRoot.appendingPathComponent("Systemd/dbus-1/services/org.muscaps.Daemon1.service").path

    func testACallToTheNameStartsTheDaemonThroughActivation() throws {
        let shipped = try String(contentsOfFile: Self.serviceFile, encoding: .utf8)
        let lines = shipped.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        XCTAssertEqual(lines.first, "[D-BUS Service]")
        XCTAssertTrue(lines.contains("Name=org.muscaps.Daemon1"), "Name= must equal the file name")
        XCTAssertEqual(URL(fileURLWithPath: Self.serviceFile).deletingPathExtension().lastPathComponent, "org.muscaps.Daemon1")
        XCTAssertTrue(lines.contains("SystemdService=muscapsd.service"))
        let exec = try XCTUnwrap(lines.first { $0.hasPrefix("Exec=") })
        let words = exec.dropFirst("Exec=".count).split(separator: " ").map(String.init)
        XCTAssertEqual(words.first, "/usr/bin/muscapsd")

        // The same file with Exec= pointing at the built binary (its arguments kept).
        let pulse = try PulseTestServer()
        let services = try ScratchDirectory("muscaps-services")
        let built = CLI.productsDirectory.appendingPathComponent("muscapsd").path
        let installed = shipped.replacingOccurrences(of: exec, with: "Exec=" + ([built] + words.dropFirst()).joined(separator: " "))
        try installed.write(toFile: services.file("org.muscaps.Daemon1.service"), atomically: true, encoding: .utf8)
        let bus = try DBusTestBus(serviceDirectory: services.path, environment: pulse.environment)

        let property = "busctl --user get-property org.muscaps.Daemon1 /org/muscaps/Daemon1 org.muscaps.Daemon1"
        let state = try runShell("\(property) State", environment: bus.environment, timeout: 60)
        defer { stopActivatedDaemon(bus) }
        XCTAssertEqual(state.status, 0, "\(state.stderr)\n\(bus.log)")
        XCTAssertEqual(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "s \"running\"", bus.log)
        XCTAssertTrue(bus.log.contains("Activating service name='org.muscaps.Daemon1'"), bus.log)
        let source = try runShell("\(property) Source", environment: bus.environment)
        XCTAssertEqual(source.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "s \"pulse\"")

        // ListSources: the private server's null-sink monitor, and the default that follows it.
        let sources = try runShell("gdbus call --session --dest org.muscaps.Daemon1 --object-path /org/muscaps/Daemon1 "
                                   + "--method org.muscaps.Daemon1.ListSources", environment: bus.environment, timeout: 30)
        XCTAssertEqual(sources.status, 0, sources.stderr)
        XCTAssertTrue(sources.stdout.contains("('pulse:testsink.monitor', 'PulseAudio: "), sources.stdout)
        XCTAssertTrue(sources.stdout.contains("('pulse', 'PulseAudio: follows the monitor of the default sink"), sources.stdout)
    }

    /// The activated daemon is the bus's child, not ours: find it by its connection and stop it.
    private func stopActivatedDaemon(_ bus: DBusTestBus) {
        guard let reply = try? runShell("dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus "
                                        + "org.freedesktop.DBus.GetConnectionUnixProcessID string:org.muscaps.Daemon1", environment: bus.environment),
              let pid = Int32(capture(#"uint32 (\d+)"#, in: reply.stdout)) else { return }
        kill(pid, SIGTERM)
        _ = TestTools.waitFor(10) { kill(pid, 0) != 0 }
    }
}
