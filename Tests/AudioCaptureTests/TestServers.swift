import Foundation
import XCTest

/// Private audio servers for the capture tests: each test starts its own PulseAudio (null sinks,
/// native socket in a temp dir, its own HOME and XDG_RUNTIME_DIR) or JACK (dummy driver, unique
/// server name), so parallel test runs on one machine cannot meet, and stops it in tearDown.
/// A missing binary is a test failure that says to run Tools/setup.sh — never a silent skip.

enum TestTools {
    /// The absolute path of `name` on PATH, or a thrown failure naming the Debian package.
    static func require(_ name: String, package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let message = "\(name) not found on PATH (Debian package \(package)); run `bash Tools/setup.sh` to install the test servers"
        XCTFail(message, file: file, line: line)
        throw TestSetupError(message: message)
    }

    /// Runs a tool to completion and returns its stdout; throws with its stderr on failure.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 10) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = PipeReader(output), errorReader = PipeReader(errors)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestSetupError(message: "\(executable) \(arguments.joined(separator: " ")) hung for \(timeout) s")
        }
        process.waitUntilExit()
        let text = reader.finish(), errorText = errorReader.finish()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(message: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(errorText)")
        }
        return text
    }

    /// Starts a background process with stdout/stderr going to `log` (or /dev/null).
    static func launch(_ executable: String, _ arguments: [String], environment: [String: String] = [:], log: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        return process
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the exit.
    static func terminate(_ process: Process, grace: Double = 2) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    static func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Drains a pipe on a background thread so a chatty child never blocks.
final class PipeReader: @unchecked Sendable {
    // @unchecked: `data` is written by the reader thread and read only after `group.wait()`.
    private var data = Data()
    private let group = DispatchGroup()
    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        DispatchQueue.global().async(group: group) { [self] in self.data = handle.readDataToEndOfFile() }
    }
    func finish() -> String {
        group.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A scratch directory under /tmp (short: unix socket paths are limited to 108 bytes), removed on deinit.
final class ScratchDirectory {
    let path: String
    init(_ prefix: String) throws {
        path = "/tmp/\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }
    func file(_ name: String) -> String { "\(path)/\(name)" }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

// MARK: - PulseAudio

/// A private PulseAudio daemon with null sinks (48 kHz stereo), reachable only at `server`.
final class PulseTestServer {
    let directory: ScratchDirectory
    let sinks: [String]
    /// `unix:/tmp/…/native`, for `CaptureOptions.pulseServer` and `PULSE_SERVER`.
    let server: String
    private(set) var process: Process?
    private let pulseaudio: String
    private let pactlPath: String
    private let paplayPath: String

    init(sinks: [String] = ["testsink"]) throws {
        pulseaudio = try TestTools.require("pulseaudio", package: "pulseaudio")
        pactlPath = try TestTools.require("pactl", package: "pulseaudio-utils")
        paplayPath = try TestTools.require("paplay", package: "pulseaudio-utils")
        directory = try ScratchDirectory("muscaps-pa")
        self.sinks = sinks
        server = "unix:\(directory.file("native"))"
        for sub in ["home", "run"] {
            try FileManager.default.createDirectory(atPath: directory.file(sub), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        var script = sinks.map { "load-module module-null-sink sink_name=\($0) rate=48000 channels=2\n" }.joined()
        script += "load-module module-native-protocol-unix socket=\(directory.file("native")) auth-anonymous=1\n"
        script += "set-default-sink \(sinks[0])\nset-default-source \(sinks[0]).monitor\n"
        try script.write(toFile: directory.file("custom.pa"), atomically: true, encoding: .utf8)
        try start()
    }

    var environment: [String: String] {
        ["HOME": directory.file("home"), "XDG_RUNTIME_DIR": directory.file("run"), "PULSE_SERVER": server]
    }

    /// Starts (or restarts, on the same socket) the daemon and waits until `pactl info` answers.
    func start() throws {
        let daemon = try TestTools.launch(pulseaudio, [
            "-n", "-F", directory.file("custom.pa"), "--exit-idle-time=-1", "--daemonize=no",
            "--use-pid-file=no", "--log-target=stderr",
        ], environment: environment, log: directory.file("pulseaudio.log"))
        process = daemon
        let ready = TestTools.waitFor(10) { (try? pactl(["info"])) != nil || !daemon.isRunning }
        guard ready, daemon.isRunning else {
            let log = (try? String(contentsOfFile: directory.file("pulseaudio.log"), encoding: .utf8)) ?? ""
            throw TestSetupError(message: "pulseaudio did not start: \(log)")
        }
    }

    /// Kills the daemon at once (SIGKILL): the server "goes away" under its clients.
    func crash() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        if let process { TestTools.terminate(process) }
        process = nil
    }

    @discardableResult
    func pactl(_ arguments: [String]) throws -> String {
        try TestTools.run(pactlPath, arguments, environment: environment, timeout: 5)
    }

    /// Plays a file into `sink` with paplay at 100 ms latency (the setting that was clean here).
    func play(_ path: String, sink: String) throws -> Process {
        try TestTools.launch(paplayPath, ["--latency-msec=100", "-d", sink, path], environment: environment)
    }

    deinit { stop() }
}

// MARK: - JACK

/// A private `jackd --no-realtime -d dummy` with a unique server name.
final class JackTestServer {
    let name: String
    let sampleRate: Int
    let period: Int
    private(set) var process: Process?
    private var clients: [Process] = []
    private let jackd: String
    private let lsp: String
    private let simpleClient: String

    init(sampleRate: Int = 48_000, period: Int = 1_024) throws {
        jackd = try TestTools.require("jackd", package: "jackd2")
        lsp = try TestTools.require("jack_lsp", package: "jackd2")
        simpleClient = try TestTools.require("jack_simple_client", package: "jackd2")
        name = "muscaps-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        self.sampleRate = sampleRate
        self.period = period
        try start()
    }

    /// For child processes: the server to use, no auto-start, no device reservation over D-Bus.
    var environment: [String: String] {
        ["JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1", "JACK_NO_AUDIO_RESERVATION": "1"]
    }

    /// Starts (or restarts under the same name) and waits until `jack_lsp` answers.
    func start() throws {
        let log = "/tmp/\(name).log"
        let daemon = try TestTools.launch(jackd, [
            "-n", name, "--no-realtime", "-d", "dummy", "-r", "\(sampleRate)", "-p", "\(period)", "-C", "2", "-P", "2",
        ], environment: environment, log: log)
        process = daemon
        let ready = TestTools.waitFor(10) { (try? ports()) != nil || !daemon.isRunning }
        guard ready, daemon.isRunning else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestSetupError(message: "jackd did not start: \(text)")
        }
    }

    /// All ports, as `jack_lsp` lists them.
    func ports() throws -> [String] {
        try TestTools.run(lsp, [], environment: environment, timeout: 5).split(separator: "\n").map(String.init)
    }

    /// Starts `jack_simple_client` as client `clientName` (240 Hz on output1, 720 Hz on output2,
    /// amplitude 0.2) and waits for its ports.
    @discardableResult
    func startSimpleClient(_ clientName: String = "tone") throws -> Process {
        let client = try TestTools.launch(simpleClient, [clientName], environment: environment)
        clients.append(client)
        guard TestTools.waitFor(10, { ((try? ports()) ?? []).contains("\(clientName):output2") }) else {
            throw TestSetupError(message: "jack_simple_client did not register its ports")
        }
        return client
    }

    /// Stops the server (SIGTERM: clients get their shutdown callback) and the helper clients.
    func stop() {
        if let process { TestTools.terminate(process) }
        process = nil
        for client in clients { TestTools.terminate(client, grace: 1) }
        clients = []
    }

    deinit {
        stop()
        // What a server and its clients leave in /dev/shm under this (unique) name.
        let shm = "/dev/shm"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: shm)) ?? [] where entry.contains(name) {
            try? FileManager.default.removeItem(atPath: "\(shm)/\(entry)")
        }
        try? FileManager.default.removeItem(atPath: "/tmp/\(name).log")
    }
}
