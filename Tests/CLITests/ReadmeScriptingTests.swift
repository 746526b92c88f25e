import Foundation
import TestServerSupport
import XCTest

/// The README's "Scripting" lines, extracted from README.md (so they cannot drift) and run exactly as
/// printed against muscapsd on a private `dbus-daemon --session`, with a private PulseAudio for
/// ListSources/SetSource. Each line's output is checked; monitors run for a few seconds.
final class ReadmeScriptingTests: XCTestCase {
    static let readme = CLI.repositoryRoot.appendingPathComponent("README.md").path
    static let piano = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path
    static let clients = ["dbus-send", "busctl", "gdbus", "dbus-monitor"]

    /// The commands of the Scripting section: a line starting with a client starts one; other lines
    /// (a loop's body) continue it; comments are skipped.
    static func scriptingCommands() throws -> [String] {
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        guard let start = text.range(of: "\n## Scripting\n") else { throw TestSetupError(message: "README has no Scripting section") }
        let section = text[start.upperBound...].components(separatedBy: "\n## ").first ?? ""
        var commands: [String] = []
        var inCode = false
        for line in section.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                inCode = line == "```sh"
                continue
            }
            guard inCode, !line.hasPrefix("#"), !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            if clients.contains(where: { line.hasPrefix($0 + " ") }) || commands.isEmpty {
                commands.append(line)
            } else {
                commands[commands.count - 1] += "\n" + line
            }
        }
        return commands
    }

    struct Expectation {
        let key: String
        /// Monitors never end: they run this long and are stopped.
        var seconds: Double? = nil
        let check: (ShellResult, _ property: (String) throws -> String) throws -> Void
    }

    func testEveryScriptingLineRunsAsPrinted() throws {
        let commands = try Self.scriptingCommands()
        XCTAssertGreaterThan(commands.count, 15)
        // Every method and the Caption signal appear in some line.
        let interface = try String(contentsOfFile: DBusServiceTests.interfaceFile, encoding: .utf8)
        for method in matches(#"<method name="(\w+)""#, in: interface) {
            XCTAssertTrue(commands.contains { $0.contains(method) }, "README's Scripting section has no line for \(method)")
        }
        XCTAssertTrue(commands.contains { $0.contains("member='Caption'") })

        let pulse = try PulseTestServer()
        let bus = try DBusTestBus()
        let scratch = try ScratchDirectory("muscaps-readme")
        let config = scratch.file("muscapsd.toml")
        try "source = \"file:\(Self.piano):realtime:loop\"\noutputs = [\"dbus\"]\nmodel = \"mtt\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let environment = bus.environment.merging(pulse.environment) { $1 }
        let daemon = try ChildProcess(CLI.productsDirectory.appendingPathComponent("muscapsd").path, ["--config", config],
                                      environment: environment, stderr: .file(scratch.file("daemon.err")))
        defer { daemon.terminate(grace: 5) }
        XCTAssertTrue(bus.waitForName("org.muscaps.Daemon1", timeout: 60), (try? String(contentsOfFile: scratch.file("daemon.err"), encoding: .utf8)) ?? "")
        // The first window (realtime: ~3 s) so LastCaption and the latencies exist.
        let property: (String) throws -> String = { name in
            try runShell("busctl --user get-property org.muscaps.Daemon1 /org/muscaps/Daemon1 org.muscaps.Daemon1 \(name)",
                         environment: bus.environment).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertTrue(TestTools.waitFor(30) { ((try? property("LastCaption")) ?? "").contains("\"text\"") })

        func contains(_ text: String) -> (ShellResult, (String) throws -> String) throws -> Void {
            { result, _ in XCTAssertTrue(result.stdout.contains(text), "expected \(text) in: \(result.stdout) \(result.stderr)") }
        }
        func sets(_ name: String, _ value: String) -> (ShellResult, (String) throws -> String) throws -> Void {
            { result, property in
                XCTAssertEqual(result.status, 0, result.stderr)
                XCTAssertEqual(try property(name), value)
            }
        }
        // Most specific first: the first key a command contains is its expectation.
        let expectations: [Expectation] = [
            Expectation(key: "while read", seconds: 15) { result, _ in
                let printed = result.stdout.split(separator: "\n")
                XCTAssertFalse(printed.isEmpty, "the loop printed no caption: \(result.stderr)")
                XCTAssertTrue(printed.allSatisfy { $0.hasPrefix("\"") && $0.hasSuffix("\"") }, "\(printed)")
            },
            Expectation(key: "gdbus monitor", seconds: 8, check: contains("org.muscaps.Daemon1.Caption (")),
            Expectation(key: "member='Caption'", seconds: 8, check: contains("member=Caption")),
            Expectation(key: "interface='org.freedesktop.DBus.Properties'", seconds: 8, check: contains("member=PropertiesChanged")),
            Expectation(key: "get-property org.muscaps.Daemon1 /org/muscaps/Daemon1 org.muscaps.Daemon1 State", check: contains("s \"running\"")),
            Expectation(key: "GetAll", check: contains("'Source': <'file:\(Self.piano):realtime:loop'>")),
            Expectation(key: "string:LastCaption", check: contains("string \"text\"")),
            Expectation(key: "GetStatus", check: contains("'windows': <uint64 ")),
            Expectation(key: "introspect", check: contains(".Caption")),
            Expectation(key: ".Pause", check: sets("State", "s \"paused\"")),
            Expectation(key: "Resume", check: sets("State", "s \"running\"")),
            Expectation(key: "CaptionNow", check: contains("'text': <'")),
            Expectation(key: "SetHop", check: sets("HopSeconds", "d 2")),
            Expectation(key: "Beam u 1", check: sets("Beam", "u 1")),
            Expectation(key: "ListSources", check: contains("\"pulse:testsink.monitor\"")),
            Expectation(key: "SetSource string:pulse", check: sets("Source", "s \"pulse\"")),
            Expectation(key: "AddOutput", check: contains("('file:/tmp/muscaps-live.vtt',)")),
            Expectation(key: "RemoveOutput", check: sets("Outputs", "as 1 \"dbus\"")),
            Expectation(key: "SetCaptioner s none", check: sets("Captioner", "s \"none\"")),
            Expectation(key: "SetModel string:msd", check: sets("Model", "s \"msd\"")),
            Expectation(key: "ReloadConfig", check: sets("Model", "s \"mtt\"")),
        ]
        for command in commands {
            guard let expectation = expectations.first(where: { command.contains($0.key) }) else {
                XCTFail("no expectation for README line: \(command)")
                continue
            }
            let result = try runShell(command, environment: bus.environment, timeout: expectation.seconds ?? 30)
            if expectation.seconds == nil {
                XCTAssertFalse(result.timedOut, "hung: \(command)")
                XCTAssertEqual(result.status, 0, "\(command): \(result.stderr)")
            }
            try expectation.check(result, property)
        }
        XCTAssertTrue(daemon.isRunning, (try? String(contentsOfFile: scratch.file("daemon.err"), encoding: .utf8)) ?? "")
        unlink("/tmp/muscaps-live.vtt")
    }
}
