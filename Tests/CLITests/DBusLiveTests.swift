import Foundation
import TestServerSupport
import XCTest

/// Properties and signals keep up with reality while audio flows from a real PulseAudio server (null
/// sink, paplay): State follows the server going away and coming back, announced by PropertiesChanged.
final class DBusLiveTests: XCTestCase {
    static let piano = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path

    func testStateFollowsThePulseAudioServerAwayAndBack() throws {
        let pulse = try PulseTestServer()
        let bus = try DBusTestBus()
        let scratch = try ScratchDirectory("muscaps-live")
        let environment = bus.environment.merging(pulse.environment) { $1 }
        let monitorLog = scratch.file("monitor.log")
        let monitor = try ChildProcess(try TestTools.require("dbus-monitor", package: "dbus-bin"),
                                       ["--session", "type='signal',path='/org/muscaps/Daemon1'"], environment: bus.environment, stdout: .file(monitorLog))
        defer { monitor.terminate(grace: 1) }
        func log() -> String { (try? String(contentsOfFile: monitorLog, encoding: .utf8)) ?? "" }
        XCTAssertTrue(TestTools.waitFor(10) { log().contains("NameAcquired") })

        let daemon = try ChildProcess(CLI.productsDirectory.appendingPathComponent("muscapsd").path,
                                      ["--source", "pulse", "--output", "dbus", "--log-level", "debug"],
                                      environment: environment, stderr: .file(scratch.file("daemon.err")))
        defer { daemon.terminate(grace: 5) }
        XCTAssertTrue(bus.waitForName("org.muscaps.Daemon1", timeout: 60))
        func state() -> String {
            ((try? runShell("busctl --user get-property org.muscaps.Daemon1 /org/muscaps/Daemon1 org.muscaps.Daemon1 State",
                            environment: bus.environment).stdout) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(state(), "s \"running\"")
        let player = try pulse.play(Self.piano, sink: "testsink")
        defer { player.terminate(grace: 1) }
        XCTAssertTrue(TestTools.waitFor(30) { log().contains("member=Caption") }, "no caption from the played piano")

        pulse.crash()
        XCTAssertTrue(TestTools.waitFor(15) { state() == "s \"waiting-for-source\"" }, "State: \(state())")
        XCTAssertTrue(log().contains("string \"waiting-for-source\""), "no PropertiesChanged(State=waiting-for-source)")
        XCTAssertTrue(daemon.isRunning)

        try pulse.start()
        XCTAssertTrue(TestTools.waitFor(30) { state() == "s \"running\"" }, "State after the server came back: \(state())")
        let changes = log().components(separatedBy: "string \"State\"").count - 1
        XCTAssertGreaterThanOrEqual(changes, 2, "PropertiesChanged for State: away and back")
        // Captions again once audio flows again.
        let captionsBefore = log().components(separatedBy: "member=Caption").count
        let again = try pulse.play(Self.piano, sink: "testsink")
        defer { again.terminate(grace: 1) }
        XCTAssertTrue(TestTools.waitFor(30) { log().components(separatedBy: "member=Caption").count > captionsBefore }, "no caption after reconnecting")
    }
}
