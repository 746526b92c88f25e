import Foundation
import TestServerSupport
import XCTest

/// muscapsd's D-Bus interface through the real clients (dbus-send, busctl, gdbus, dbus-monitor) on a
/// private dbus-daemon: properties, methods, each error, introspection against the shipped XML, Peer,
/// the single-instance check, and the dbus output plugin's signals.
final class DBusServiceTests: XCTestCase {
    static let piano = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path
    static let interfaceFile = CLI.repositoryRoot.appendingPathComponent("Systemd/dbus-1/interfaces/org.muscaps.Daemon1.xml").path
    static let object = ["--dest=org.muscaps.Daemon1", "/org/muscaps/Daemon1"]

    private var bus: DBusTestBus!
    private var scratch: ScratchDirectory!
    private var daemon: ChildProcess?
    private var daemonErr = ""

    override func setUpWithError() throws {
        bus = try DBusTestBus()
        scratch = try ScratchDirectory("muscaps-dbus-test")
    }

    override func tearDown() {
        daemon?.terminate(grace: 5)
        daemon = nil
        bus = nil
    }

    private var daemonPath: String { CLI.productsDirectory.appendingPathComponent("muscapsd").path }
    private func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Starts muscapsd on the private bus and waits for its name.
    @discardableResult
    private func startDaemon(_ extra: [String] = [], source: String? = nil, name: String = "org.muscaps.Daemon1", tag: String = "daemon") throws -> ChildProcess {
        let err = scratch.file("\(tag).err")
        daemonErr = err
        let arguments = ["--source", source ?? "file:\(Self.piano):realtime:loop", "--output", "dbus"] + extra
        let child = try ChildProcess(daemonPath, arguments, environment: bus.environment, stdout: .file(scratch.file("\(tag).out")), stderr: .file(err))
        if daemon == nil { daemon = child }
        guard bus.waitForName(name, timeout: 60) else {
            XCTFail("muscapsd did not take \(name): \(contents(err))")
            throw TestSetupError(message: "no daemon")
        }
        return child
    }

    private func tool(_ name: String, _ package: String) throws -> String { try TestTools.require(name, package: package) }

    /// dbus-send --print-reply to the daemon; returns (status, stdout+stderr).
    private func dbusSend(_ arguments: [String]) throws -> ShellResult {
        let line = ([try tool("dbus-send", "dbus-bin"), "--session", "--print-reply"] + Self.object + arguments).map(shellQuote).joined(separator: " ")
        return try runShell(line, environment: bus.environment)
    }

    private func busctl(_ arguments: [String]) throws -> ShellResult {
        let line = ([try tool("busctl", "systemd"), "--user"] + arguments).map(shellQuote).joined(separator: " ")
        return try runShell(line, environment: bus.environment)
    }

    private func gdbus(_ arguments: [String]) throws -> ShellResult {
        let line = ([try tool("gdbus", "libglib2.0-bin")] + arguments).map(shellQuote).joined(separator: " ")
        return try runShell(line, environment: bus.environment)
    }

    private func property(_ name: String) throws -> String {
        let result = try busctl(["get-property", "org.muscaps.Daemon1", "/org/muscaps/Daemon1", "org.muscaps.Daemon1", name])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Properties

    func testPropertiesReadWithGdbusBusctlAndDbusSend() throws {
        try startDaemon(["--hop", "1.5"])
        let all = try gdbus(["call", "--session", "--dest", "org.muscaps.Daemon1", "--object-path", "/org/muscaps/Daemon1",
                             "--method", "org.freedesktop.DBus.Properties.GetAll", "org.muscaps.Daemon1"])
        XCTAssertEqual(all.status, 0, all.stderr)
        for expected in ["'State': <'running'>", "'Source': <'file:\(Self.piano):realtime:loop'>", "'Model': <'mtt'>",
                         "'WindowSeconds': <2.992>", "'HopSeconds': <1.5>", "'Beam': <uint32 3>", "'Outputs': <['dbus']>",
                         "'DroppedAudioSeconds': <0.0>", "'Captioner': <'muscaps-"] {
            XCTAssertTrue(all.stdout.contains(expected), "GetAll lacks \(expected): \(all.stdout)")
        }
        // `--version` prints the version, then the BLAS kernel line; the property is the version alone.
        let version = String(try CLI.run("muscapsd", ["--version"]).stdout.split(separator: "\n").first ?? "")
        XCTAssertEqual(try property("Version"), "s \"\(version)\"")
        XCTAssertEqual(try property("Outputs"), "as 1 \"dbus\"")
        let state = try dbusSend(["org.freedesktop.DBus.Properties.Get", "string:org.muscaps.Daemon1", "string:State"])
        XCTAssertTrue(state.stdout.contains("variant       string \"running\""), state.stdout + state.stderr)
        // LastCaption fills in once the first window is analysed (realtime: after ~3 s).
        XCTAssertTrue(TestTools.waitFor(30) { ((try? self.property("LastCaption")) ?? "").contains("\"text\" s \"") },
                      "LastCaption: \((try? property("LastCaption")) ?? "")")
        let lastCaption = try property("LastCaption")
        for key in ["start_us", "end_us", "text", "final", "silence", "id", "tags", "model"] {
            XCTAssertTrue(lastCaption.contains("\"\(key)\""), "LastCaption lacks \(key): \(lastCaption)")
        }
    }

    func testGetStatusReportsTheLiveFigures() throws {
        try startDaemon()
        XCTAssertTrue(TestTools.waitFor(30) { ((try? self.gdbusStatus()) ?? "").contains("latency_p50_ms") })
        let status = try gdbusStatus()
        for key in ["uptime_s", "windows", "silent_windows", "events", "latency_p50_ms", "latency_p99_ms", "real_time_factor",
                    "dropped_audio_s", "output_drops", "caption_failures", "rss_bytes", "blas_kernel"] {
            XCTAssertTrue(status.contains("'\(key)'"), "GetStatus lacks \(key): \(status)")
        }
        XCTAssertTrue(status.contains("'output_drops': <{'dbus': uint64 0}>"), status)
        // The same line as `muscapsd --version` (issue 13): which OpenBLAS kernels the daemon runs.
        let kernel = capture(#"'blas_kernel': <["']([^"]+)"#, in: status)  // gdbus double-quotes text with an apostrophe
        XCTAssertTrue(kernel.hasPrefix("OpenBLAS ") && kernel.contains(" kernels ("), kernel)
        let windows = try XCTUnwrap(Int(capture(#"'windows': <uint64 (\d+)>"#, in: status)))
        XCTAssertGreaterThan(windows, 0)
        let rss = try XCTUnwrap(Double(capture(#"'rss_bytes': <uint64 (\d+)>"#, in: status)))
        XCTAssertGreaterThan(rss, 10_000_000, "a daemon with musicnn loaded is bigger than 10 MB")
        let rtf = try XCTUnwrap(Double(capture(#"'real_time_factor': <([0-9.e-]+)>"#, in: status)))
        XCTAssertGreaterThan(rtf, 0)
    }

    private func gdbusStatus() throws -> String {
        let result = try gdbus(["call", "--session", "--dest", "org.muscaps.Daemon1", "--object-path", "/org/muscaps/Daemon1",
                                "--method", "org.muscaps.Daemon1.GetStatus"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    // MARK: Methods

    func testPauseAndResumeChangeStateAndStopTheCaptionSignals() throws {
        try startDaemon()
        let monitorLog = scratch.file("monitor.log")
        let monitor = try ChildProcess(try tool("dbus-monitor", "dbus-bin"), ["--session", "type='signal',sender='org.muscaps.Daemon1'"],
                                       environment: bus.environment, stdout: .file(monitorLog))
        defer { monitor.terminate(grace: 1) }
        XCTAssertTrue(TestTools.waitFor(30) { self.contents(monitorLog).contains("member=Caption") }, "no Caption signal before Pause")

        let pause = try busctl(["call", "org.muscaps.Daemon1", "/org/muscaps/Daemon1", "org.muscaps.Daemon1", "Pause"])
        XCTAssertEqual(pause.status, 0, pause.stderr)
        XCTAssertEqual(try property("State"), "s \"paused\"")
        XCTAssertTrue(TestTools.waitFor(5) { self.contents(monitorLog).contains("string \"paused\"") }, "no PropertiesChanged(State=paused)")
        // The caption open at the pause is finalised at once; after that, nothing for several hops.
        usleep(500_000)
        let captionsAtPause = contents(monitorLog).components(separatedBy: "member=Caption").count
        sleep(3)
        XCTAssertEqual(contents(monitorLog).components(separatedBy: "member=Caption").count, captionsAtPause, "Caption signals while paused")

        let resume = try dbusSend(["org.muscaps.Daemon1.Resume"])
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertEqual(try property("State"), "s \"running\"")
        // Emission restarts with the first full window after the gap: a window (2.992 s) plus a hop.
        XCTAssertTrue(TestTools.waitFor(6) { self.contents(monitorLog).components(separatedBy: "member=Caption").count > captionsAtPause },
                      "no Caption signal after Resume")
    }

    func testCaptionNowCaptionsTheLastSecondsUpToTheContext() throws {
        // Not real time: a file source never drops audio, so the context is never cleared under load.
        try startDaemon(source: "file:\(Self.piano):loop")
        let call = ["call", "--session", "--dest", "org.muscaps.Daemon1", "--object-path", "/org/muscaps/Daemon1", "--method", "org.muscaps.Daemon1.CaptionNow"]
        // Before the first window there is nothing to caption (or, once there is, a caption).
        XCTAssertTrue(TestTools.waitFor(30) { ((try? self.gdbus(call + ["10"]).stdout) ?? "").contains("'text': <'") })
        // Enough windows for a full 10 s context (three non-overlapping windows at hop 1 s: the seventh).
        XCTAssertTrue(TestTools.waitFor(40) { (Int(capture(#"'windows': <uint64 (\d+)>"#, in: (try? self.gdbusStatus()) ?? "")) ?? 0) >= 8 })
        XCTAssertEqual(try dbusSend(["org.muscaps.Daemon1.Pause"]).status, 0) // freezes the history
        func span(_ seconds: String) throws -> (UInt64, UInt64, String) {
            let reply = try gdbus(call + [seconds])
            XCTAssertEqual(reply.status, 0, reply.stderr)
            let start = try XCTUnwrap(UInt64(capture(#"'start_us': <uint64 (\d+)>"#, in: reply.stdout)), reply.stdout)
            let end = try XCTUnwrap(UInt64(capture(#"'end_us': <uint64 (\d+)>"#, in: reply.stdout)), reply.stdout)
            return (start, end, capture(#"'text': <'([^']*)'>"#, in: reply.stdout))
        }
        let short = try span("3"), context = try span("10"), huge = try span("1000")
        XCTAssertEqual(short.1, context.1, "every span ends with the newest window")
        XCTAssertEqual(Double(short.1 - short.0) / 1e6, 2.992, accuracy: 0.001, "3 s holds one 2.992 s window")
        XCTAssertGreaterThan(context.1 - context.0, short.1 - short.0)
        XCTAssertLessThanOrEqual(Double(context.1 - context.0) / 1e6, 10)
        XCTAssertEqual(huge.0, context.0, "at most the context (10 s) is captioned")
        XCTAssertFalse(context.2.isEmpty)
    }

    func testCaptionNowWithoutACaptionerIsNotAvailable() throws {
        try startDaemon(["--captioner", "none"])
        let reply = try dbusSend(["org.muscaps.Daemon1.CaptionNow", "double:5"])
        XCTAssertTrue(reply.stderr.contains("Error org.muscaps.Daemon1.Error.NotAvailable: no captioning model is loaded"), reply.stderr)
        XCTAssertEqual(try property("Captioner"), "s \"none\"")
    }

    // MARK: Errors

    func testBadCallsGetNamespacedErrorsAndChangeNothing() throws {
        try startDaemon()
        let before = try property("HopSeconds")
        let cases: [(arguments: [String], error: String, message: String)] = [
            (["org.muscaps.Daemon1.SetHop", "double:-1"], "org.muscaps.Daemon1.Error.InvalidArgument", "between 0"),
            (["org.muscaps.Daemon1.SetHop", "double:0"], "org.muscaps.Daemon1.Error.InvalidArgument", "between 0"),
            (["org.muscaps.Daemon1.SetHop", "string:fast"], "org.muscaps.Daemon1.Error.InvalidArgument", "takes (d), got (s)"),
            (["org.muscaps.Daemon1.Pause", "int32:1"], "org.muscaps.Daemon1.Error.InvalidArgument", "takes (), got (i)"),
            (["org.muscaps.Daemon1.CaptionNow", "double:-3"], "org.muscaps.Daemon1.Error.InvalidArgument", "positive"),
            (["org.muscaps.Daemon1.SetSource", "string:"], "org.muscaps.Daemon1.Error.InvalidArgument", "must not be empty"),
            (["org.muscaps.Daemon1.Explode"], "org.freedesktop.DBus.Error.UnknownMethod", "no method Explode"),
            (["org.freedesktop.DBus.Properties.Get", "string:org.muscaps.Daemon1", "string:Colour"], "org.freedesktop.DBus.Error.UnknownProperty", "Colour"),
            (["org.freedesktop.DBus.Properties.Get", "string:org.example.Other", "string:State"], "org.freedesktop.DBus.Error.UnknownInterface", "org.example.Other"),
            (["org.freedesktop.DBus.Properties.Set", "string:org.muscaps.Daemon1", "string:State", "variant:string:paused"], "org.freedesktop.DBus.Error.PropertyReadOnly", "read-only"),
            (["org.freedesktop.DBus.Properties.Set", "string:org.muscaps.Daemon1", "string:HopSeconds", "variant:string:2"], "org.muscaps.Daemon1.Error.InvalidArgument", "of type d"),
            (["org.freedesktop.DBus.Properties.Set", "string:org.muscaps.Daemon1", "string:HopSeconds", "variant:double:-2"], "org.muscaps.Daemon1.Error.InvalidArgument", "between 0"),
            (["org.freedesktop.DBus.Properties.Set", "string:org.muscaps.Daemon1", "string:Beam", "variant:uint32:99"], "org.muscaps.Daemon1.Error.InvalidArgument", "between 1 and 16"),
            (["org.example.Nothing.Method"], "org.freedesktop.DBus.Error.UnknownInterface", "org.example.Nothing"),
        ]
        for item in cases {
            let result = try dbusSend(item.arguments)
            XCTAssertNotEqual(result.status, 0, "\(item.arguments) succeeded")
            XCTAssertTrue(result.stderr.contains("Error \(item.error): "), "\(item.arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(item.message), "\(item.arguments): \(result.stderr)")
        }
        let elsewhere = try runShell("dbus-send --session --print-reply --dest=org.muscaps.Daemon1 /org/muscaps/Nowhere org.muscaps.Daemon1.Pause",
                                     environment: bus.environment)
        XCTAssertTrue(elsewhere.stderr.contains("org.freedesktop.DBus.Error.UnknownObject"), elsewhere.stderr)
        XCTAssertTrue(daemon?.isRunning ?? false, "the daemon died: \(contents(daemonErr))")
        XCTAssertEqual(try property("HopSeconds"), before)
        XCTAssertEqual(try property("State"), "s \"running\"")
    }

    /// Setters whose value cannot be used: each a namespaced error saying why, the running part kept.
    func testRefusedChangesNameThePartAndKeepTheRunningSetup() throws {
        try startDaemon()
        let truncated = scratch.file("truncated.safetensors")
        let model = try Data(contentsOf: CLI.repositoryRoot.appendingPathComponent("Models/captioning/default.safetensors"))
        try model.prefix(model.count / 2).write(to: URL(fileURLWithPath: truncated))
        let wrongShape = CLI.repositoryRoot.appendingPathComponent("Models/musicnn/MSD_musicnn.safetensors").path // a tagger, not a captioner
        let before = try ["Source", "Model", "Captioner", "Outputs", "HopSeconds"].map(property)
        let cases: [(arguments: [String], error: String, message: String)] = [
            (["org.muscaps.Daemon1.SetSource", "string:file:/nonexistent/song.wav"], "NoSuchSource", "/nonexistent/song.wav"),
            (["org.muscaps.Daemon1.SetSource", "string:carrier-pigeon:1"], "NoSuchSource", "carrier-pigeon"),
            (["org.freedesktop.DBus.Properties.Set", "string:org.muscaps.Daemon1", "string:Source", "variant:string:file:/nonexistent/b.wav"], "NoSuchSource", "b.wav"),
            (["org.muscaps.Daemon1.SetModel", "string:msd"], "ModelRejected", "trained on musicnn-mtt features"),
            (["org.muscaps.Daemon1.SetCaptioner", "string:\(truncated)"], "ModelRejected", "truncated.safetensors"),
            (["org.muscaps.Daemon1.SetCaptioner", "string:\(wrongShape)"], "ModelRejected", "MSD_musicnn.safetensors"),
            (["org.muscaps.Daemon1.AddOutput", "string:stdout:bogus=1"], "OutputRejected", "bogus"),
            (["org.muscaps.Daemon1.AddOutput", "string:no-such-plugin"], "OutputRejected", "no-such-plugin"),
            (["org.muscaps.Daemon1.AddOutput", "string:dbus"], "OutputRejected", "already running"),
            (["org.muscaps.Daemon1.RemoveOutput", "string:file:/tmp/never.vtt"], "NoSuchOutput", "running: 'dbus'"),
            (["org.muscaps.Daemon1.RemoveOutput", "string:dbus"], "InvalidArgument", "only output"),
            (["org.muscaps.Daemon1.ReloadConfig"], "ConfigurationRejected", "without --config"),
        ]
        for item in cases {
            let result = try dbusSend(item.arguments)
            XCTAssertNotEqual(result.status, 0, "\(item.arguments) succeeded")
            XCTAssertTrue(result.stderr.contains("Error org.muscaps.Daemon1.Error.\(item.error): "), "\(item.arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(item.message), "\(item.arguments): \(result.stderr)")
        }
        XCTAssertTrue(daemon?.isRunning ?? false, contents(daemonErr))
        XCTAssertEqual(try ["Source", "Model", "Captioner", "Outputs", "HopSeconds"].map(property), before)
        XCTAssertEqual(try property("State"), "s \"running\"")

        // And what can be used is: another captioner path, an added and removed output, a new hop.
        let vtt = scratch.file("live.vtt")
        let added = try gdbus(["call", "--session", "--dest", "org.muscaps.Daemon1", "--object-path", "/org/muscaps/Daemon1",
                               "--method", "org.muscaps.Daemon1.AddOutput", "file:\(vtt)"])
        XCTAssertEqual(added.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "('file:\(vtt)',)", added.stderr)
        XCTAssertEqual(try property("Outputs"), "as 2 \"dbus\" \"file:\(vtt)\"")
        XCTAssertEqual(try dbusSend(["org.muscaps.Daemon1.RemoveOutput", "string:file:\(vtt)"]).status, 0)
        XCTAssertEqual(try property("Outputs"), "as 1 \"dbus\"")
        XCTAssertTrue(FileManager.default.fileExists(atPath: vtt), "the file output ran and was closed")
        XCTAssertEqual(try dbusSend(["org.muscaps.Daemon1.SetCaptioner", "string:none"]).status, 0)
        XCTAssertEqual(try property("Captioner"), "s \"none\"")
        let missing = try dbusSend(["org.muscaps.Daemon1.SetModel", "string:/nonexistent/model.safetensors"])
        XCTAssertTrue(missing.stderr.contains("Error org.muscaps.Daemon1.Error.ModelRejected: cannot use tagging model '/nonexistent/model.safetensors'"), missing.stderr)
        XCTAssertEqual(try property("Model"), "s \"mtt\"")
        let shipped = CLI.repositoryRoot.appendingPathComponent("Models/captioning/default.safetensors").path
        let back = try dbusSend(["org.muscaps.Daemon1.SetCaptioner", "string:\(shipped)"])
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertTrue(try property("Captioner").hasPrefix("s \"muscaps-"))
        XCTAssertEqual(try busctl(["set-property", "org.muscaps.Daemon1", "/org/muscaps/Daemon1", "org.muscaps.Daemon1", "HopSeconds", "d", "0.5"]).status, 0)
        XCTAssertEqual(try property("HopSeconds"), "d 0.5")
    }

    func testReloadConfigRefusesAnInvalidFileAndKeepsTheRunningSetup() throws {
        let config = scratch.file("muscapsd.toml")
        try "source = \"file:\(Self.piano):realtime:loop\"\noutputs = [\"dbus\"]\nhop = 1.0\n".write(toFile: config, atomically: true, encoding: .utf8)
        let child = try ChildProcess(daemonPath, ["--config", config], environment: bus.environment, stderr: .file(scratch.file("d.err")))
        daemon = child
        daemonErr = scratch.file("d.err")
        XCTAssertTrue(bus.waitForName("org.muscaps.Daemon1", timeout: 60), contents(daemonErr))
        try "hop = -4\n".write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try dbusSend(["org.muscaps.Daemon1.ReloadConfig"])
        XCTAssertTrue(refused.stderr.contains("Error org.muscaps.Daemon1.Error.ConfigurationRejected: \(config):1: hop must be between"), refused.stderr)
        XCTAssertEqual(try property("HopSeconds"), "d 1")
        try "source = \"file:\(Self.piano):realtime:loop\"\noutputs = [\"dbus\"]\nhop = 2.0\n".write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try dbusSend(["org.muscaps.Daemon1.ReloadConfig"]).status, 0)
        XCTAssertEqual(try property("HopSeconds"), "d 2")
        XCTAssertTrue(child.isRunning)
    }

    // MARK: Introspection, Peer, single instance

    func testIntrospectionIsTheShippedInterfaceFile() throws {
        try startDaemon()
        let result = try dbusSend(["org.freedesktop.DBus.Introspectable.Introspect"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let shipped = try String(contentsOfFile: Self.interfaceFile, encoding: .utf8)
        let shippedInterface = try XCTUnwrap(interfaceElement(in: shipped))
        let served = try XCTUnwrap(interfaceElement(in: result.stdout), result.stdout)
        XCTAssertEqual(served, shippedInterface, "Introspect and Systemd/dbus-1/interfaces/org.muscaps.Daemon1.xml differ: run Tools/dbus/embed-interface.sh")
        // Every member the file declares answers (a method with the wrong arguments gets InvalidArgument, not UnknownMethod).
        for method in matches(#"<method name="(\w+)""#, in: shippedInterface) {
            let call = try dbusSend(["org.muscaps.Daemon1.\(method)", "int32:7"])
            XCTAssertFalse(call.stderr.contains("UnknownMethod"), "\(method) is declared but not served: \(call.stderr)")
        }
        for name in matches(#"<property name="(\w+)""#, in: shippedInterface) {
            XCTAssertFalse(try property(name).isEmpty, name)
        }
        // The parents of the object path introspect to it (busctl tree).
        let tree = try busctl(["tree", "org.muscaps.Daemon1"])
        XCTAssertTrue(tree.stdout.contains("/org/muscaps/Daemon1"), tree.stdout + tree.stderr)
        // gdbus parses it as a client would.
        let gdbusIntrospection = try gdbus(["introspect", "--session", "--dest", "org.muscaps.Daemon1", "--object-path", "/org/muscaps/Daemon1"])
        XCTAssertTrue(gdbusIntrospection.stdout.contains("Caption(t start_us,"), gdbusIntrospection.stdout)
    }

    func testPeerPingAndMachineId() throws {
        try startDaemon()
        let ping = try busctl(["call", "org.muscaps.Daemon1", "/org/muscaps/Daemon1", "org.freedesktop.DBus.Peer", "Ping"])
        XCTAssertEqual(ping.status, 0, ping.stderr)
        let machine = try dbusSend(["org.freedesktop.DBus.Peer.GetMachineId"])
        XCTAssertEqual(machine.status, 0, machine.stderr)
        XCTAssertNotNil(machine.stdout.range(of: #"string "[0-9a-f]{32}""#, options: .regularExpression), machine.stdout)
    }

    func testASecondDaemonIsRefusedNamingTheFirstUnlessItHasASuffix() throws {
        let first = try startDaemon()
        let second = try CLI.run("muscapsd", ["--source", "file:\(Self.piano):realtime", "--output", "stdout"], environment: bus.environment, timeout: 60)
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("org.muscaps.Daemon1 is already taken on the session bus by pid \(first.pid)"), second.stderr)
        XCTAssertTrue(second.stderr.contains("--bus-name-suffix"), second.stderr)
        XCTAssertTrue(first.isRunning)

        let studio = try startDaemon(["--bus-name-suffix", "studio_b"], name: "org.muscaps.Daemon1.studio_b", tag: "studio")
        defer { studio.terminate(grace: 5) }
        let state = try busctl(["get-property", "org.muscaps.Daemon1.studio_b", "/org/muscaps/Daemon1", "org.muscaps.Daemon1", "State"])
        XCTAssertEqual(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "s \"running\"", state.stderr)

        let bad = try CLI.run("muscapsd", ["--bus-name-suffix", "9lives", "--source", "file:\(Self.piano)"], environment: bus.environment, timeout: 60)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("invalid --bus-name-suffix '9lives': '9lives' starts with a digit"), bad.stderr)
    }

    func testWithoutASessionBusTheDaemonRunsUnlessABusWasAskedFor() throws {
        let noBus = ["DBUS_SESSION_BUS_ADDRESS": "unix:path=\(scratch.file("no-such-socket"))"]
        let lenient = try CLI.run("muscapsd", ["--source", "file:\(Self.piano)", "--output", "stdout:json"], environment: noBus, timeout: 120)
        XCTAssertEqual(lenient.status, 0, lenient.stderr)
        XCTAssertTrue(lenient.stderr.contains("no D-Bus session bus; running without the control interface"), lenient.stderr)
        XCTAssertTrue(lenient.stdout.contains("\"kind\": \"caption\""))
        let strict = try CLI.run("muscapsd", ["--bus", "session", "--source", "file:\(Self.piano)"], environment: noBus, timeout: 60)
        XCTAssertEqual(strict.status, 1)
        XCTAssertTrue(strict.stderr.contains("cannot connect to the session bus"), strict.stderr)
        let plugin = try CLI.run("muscapsd", ["--bus", "none", "--source", "file:\(Self.piano)", "--output", "dbus"], environment: noBus, timeout: 60)
        XCTAssertEqual(plugin.status, 1)
        XCTAssertTrue(plugin.stderr.contains("no D-Bus connection from the host"), plugin.stderr)
    }

    // MARK: The dbus output plugin

    /// Every event the file output writes (captions and silences, every revision) arrives as a Caption
    /// signal with the same text, span and final flag, in the same order; silences also give Silence.
    func testEveryCaptionWrittenToAFileArrivesAsASignal() throws {
        // Piano, 5 s of digital silence, piano: captions, a silence, captions.
        let clip = scratch.file("gap.wav")
        try TestTools.run(try tool("sox", "sox"), [Self.piano, clip, "pad", "0", "5"])
        let twice = scratch.file("twice.wav")
        try TestTools.run(try tool("sox", "sox"), [clip, Self.piano, twice])
        let monitorLog = scratch.file("monitor.log")
        let monitor = try ChildProcess(try tool("dbus-monitor", "dbus-bin"), ["--session", "type='signal',interface='org.muscaps.Daemon1'"],
                                       environment: bus.environment, stdout: .file(monitorLog))
        defer { monitor.terminate(grace: 1) }
        XCTAssertTrue(TestTools.waitFor(10) { self.contents(monitorLog).contains("NameAcquired") }, "dbus-monitor did not start")
        let jsonl = scratch.file("captions.jsonl")
        // As fast as possible: a real-time source on a loaded machine may drop audio when inference falls
        // behind (counted, announced), which would make the two sides differ for a legitimate reason.
        let run = try CLI.run("muscapsd", ["--source", "file:\(twice)", "--output", "dbus", "--output", "file:\(jsonl)"],
                              environment: bus.environment, timeout: 180)
        XCTAssertEqual(run.status, 0, run.stderr)
        usleep(300_000)
        let written = try contents(jsonl).split(separator: "\n").compactMap { line -> (String, Double, Double, Bool, String)? in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let kind = object["kind"] as? String, kind != "status" else { return nil }
            return (object["text"] as? String ?? "", object["t0"] as? Double ?? -1, object["t1"] as? Double ?? -1, object["final"] as? Bool ?? false, kind)
        }
        let signals = CaptionSignal.parse(dbusMonitor: contents(monitorLog))
        XCTAssertGreaterThan(written.count, 3)
        XCTAssertEqual(signals.captions.count, written.count, "signals: \(signals.captions.map(\.text)); file: \(written.map(\.0))")
        for (signal, line) in zip(signals.captions, written) {
            XCTAssertEqual(signal.text, line.0)
            XCTAssertEqual(Double(signal.startMicroseconds) / 1e6, line.1, accuracy: 0.0011)
            XCTAssertEqual(Double(signal.endMicroseconds) / 1e6, line.2, accuracy: 0.0011)
            XCTAssertEqual(signal.isFinal, line.3)
            XCTAssertEqual(signal.silence, line.4 == "silence")
        }
        let silences = written.filter { $0.4 == "silence" }
        XCTAssertFalse(silences.isEmpty, "the 5 s gap gave no silence event")
        let silenceStarts = Set(silences.map { UInt64(($0.1 * 1e6).rounded()) })
        XCTAssertEqual(Set(signals.silenceStarts), silenceStarts, "one Silence signal per pause, at its start")
        XCTAssertEqual(signals.silenceStarts.count, silenceStarts.count)
        XCTAssertTrue(signals.captions.contains { $0.text.lowercased().contains("piano") && !$0.tags.isEmpty })
        XCTAssertTrue(signals.captions.allSatisfy { $0.extraKeys == CaptionSignal.documentedKeys }, "\(signals.captions.first?.extraKeys ?? [])")
    }

    /// `LastCaption` is the last `Caption` signal (text, span, final flag).
    func testLastCaptionEqualsTheLastCaptionSignal() throws {
        let monitorLog = scratch.file("monitor.log")
        let monitor = try ChildProcess(try tool("dbus-monitor", "dbus-bin"), ["--session", "type='signal',interface='org.muscaps.Daemon1',member='Caption'"],
                                       environment: bus.environment, stdout: .file(monitorLog))
        defer { monitor.terminate(grace: 1) }
        XCTAssertTrue(TestTools.waitFor(10) { self.contents(monitorLog).contains("NameAcquired") })
        try startDaemon()
        XCTAssertTrue(TestTools.waitFor(30) { CaptionSignal.parse(dbusMonitor: self.contents(monitorLog)).captions.count >= 3 })
        // Pause: the open caption is finalised and signalled, then both stay put.
        XCTAssertEqual(try dbusSend(["org.muscaps.Daemon1.Pause"]).status, 0)
        usleep(800_000)
        let last = try XCTUnwrap(CaptionSignal.parse(dbusMonitor: contents(monitorLog)).captions.last)
        let property = try gdbus(["call", "--session", "--dest", "org.muscaps.Daemon1", "--object-path", "/org/muscaps/Daemon1",
                                  "--method", "org.freedesktop.DBus.Properties.Get", "org.muscaps.Daemon1", "LastCaption"]).stdout
        XCTAssertTrue(property.contains("'start_us': <uint64 \(last.startMicroseconds)>"), "\(property) vs \(last)")
        XCTAssertTrue(property.contains("'end_us': <uint64 \(last.endMicroseconds)>"), "\(property) vs \(last)")
        XCTAssertTrue(property.contains("'text': <'\(last.text)'>"), "\(property) vs \(last)")
        XCTAssertTrue(property.contains("'final': <\(last.isFinal)>"), "\(property) vs \(last)")
        XCTAssertTrue(last.isFinal, "Pause finalises the open caption")
    }

    // MARK: Helpers

    private func interfaceElement(in xml: String) -> String? {
        guard let start = xml.range(of: "  <interface name=\"org.muscaps.Daemon1\">"),
              let end = xml.range(of: "  </interface>", range: start.upperBound..<xml.endIndex) else { return nil }
        return String(xml[start.lowerBound..<end.upperBound])
    }
}

/// Caption and Silence signals as dbus-monitor prints them.
struct CaptionSignal: CustomStringConvertible {
    var startMicroseconds: UInt64 = 0
    var endMicroseconds: UInt64 = 0
    var text = ""
    var isFinal = false
    var silence = false
    var tags: [String] = []
    var extraKeys: [String] = []

    static let documentedKeys = ["org.muscaps.id", "org.muscaps.revision", "org.muscaps.tags", "org.muscaps.model",
                                 "org.muscaps.latency_ms", "org.muscaps.silence", "org.muscaps.wall_start_us"]

    var description: String { "Caption(\(startMicroseconds), \(endMicroseconds), \"\(text)\", \(isFinal))" }

    static func parse(dbusMonitor log: String) -> (captions: [CaptionSignal], silenceStarts: [UInt64]) {
        var captions: [CaptionSignal] = [], silences: [UInt64] = []
        // Each message starts with a header line at column 0; its arguments follow, indented.
        let messages = log.components(separatedBy: "\nsignal ").map { "signal " + $0 }
        for message in messages {
            let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let header = lines.first else { continue }
            if header.contains("member=Silence"), lines.count > 1, let value = UInt64(lines[1].replacingOccurrences(of: "uint64 ", with: "")) {
                silences.append(value)
            }
            guard header.contains("member=Caption"), lines.count > 4 else { continue }
            var signal = CaptionSignal()
            signal.startMicroseconds = UInt64(lines[1].replacingOccurrences(of: "uint64 ", with: "")) ?? .max
            signal.endMicroseconds = UInt64(lines[2].replacingOccurrences(of: "uint64 ", with: "")) ?? .max
            signal.text = String(lines[3].dropFirst("string \"".count).dropLast())
            signal.isFinal = lines[4] == "boolean true"
            var index = 5
            while index < lines.count {
                let line = lines[index]
                if line.hasPrefix("string \"org.muscaps.") { signal.extraKeys.append(String(line.dropFirst("string \"".count).dropLast())) }
                if line == "string \"org.muscaps.silence\"", index + 1 < lines.count { signal.silence = lines[index + 1].hasSuffix("boolean true") }
                if line.hasPrefix("string \""), index + 1 < lines.count, lines[index + 1].hasPrefix("double "),
                   signal.extraKeys.last == "org.muscaps.tags" {
                    signal.tags.append(String(line.dropFirst("string \"".count).dropLast()))
                }
                index += 1
            }
            captions.append(signal)
        }
        return (captions, silences)
    }
}

func shellQuote(_ word: String) -> String {
    let safe = word.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./:=,@%+".unicodeScalars.contains($0) }
    return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

func matches(_ pattern: String, in text: String) -> [String] {
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
        Range(match.range(at: 1), in: text).map { String(text[$0]) }
    }
}

func capture(_ pattern: String, in text: String) -> String {
    matches(pattern, in: text).first ?? ""
}
