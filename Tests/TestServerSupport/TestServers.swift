import Foundation
import XCTest
import ThreadSupport

/// Private audio servers for the capture tests: each test starts its own PulseAudio (null sinks,
/// native socket in a temp dir, its own HOME and XDG_RUNTIME_DIR) or JACK (dummy driver, unique
/// server name), so parallel test runs on one machine cannot meet, and stops it in tearDown.
/// A missing binary is a test failure that says to run Tools/setup.sh — never a silent skip.

public enum TestTools {
    /// The absolute path of `name` on PATH, or a thrown failure naming the Debian package.
    public static func require(_ name: String, package: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let message = "\(name) not found on PATH (Debian package \(package)); run `bash Tools/setup.sh` to install the test servers"
        XCTFail(message, file: file, line: line)
        throw TestSetupError(message: message)
    }

    /// Runs a tool to completion and returns its stdout; throws with its stderr on failure or
    /// after `timeout` seconds (the tool is killed).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 10) throws -> String {
        let output = ScratchFile("out"), errors = ScratchFile("err")
        let child = try ChildProcess(executable, arguments, environment: environment,
                                     stdout: .file(output.path), stderr: .file(errors.path))
        guard let status = child.wait(timeout: timeout) else {
            child.terminate(grace: 0)
            throw TestSetupError(message: "\(executable) \(arguments.joined(separator: " ")) hung for \(timeout) s")
        }
        guard status == 0 else {
            throw TestSetupError(message: "\(executable) \(arguments.joined(separator: " ")) exited \(status): \(errors.contents)")
        }
        return output.contents
    }

    /// Starts a background process with stdout/stderr going to `log` (or /dev/null).
    public static func launch(_ executable: String, _ arguments: [String], environment: [String: String] = [:], log: String? = nil) throws -> ChildProcess {
        let target: ChildProcess.Output = log.map { .file($0) } ?? .null
        return try ChildProcess(executable, arguments, environment: environment, stdout: target, stderr: target)
    }

    /// pipe(2) with both ends close-on-exec, so children spawned meanwhile do not inherit them
    /// (an inherited write end would keep the reader from ever seeing end of file).
    public static func closeOnExecPipe(_ descriptors: inout [Int32]) -> Int32 {
        guard pipe(&descriptors) == 0 else { return -1 }
        for fd in descriptors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return 0
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    public static func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Monotonic.deadline(after: timeout)
        while Monotonic.now() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public init(message: String) { self.message = message }
    public let message: String
    public var description: String { message }
}

/// A child process started with posix_spawn and reaped with waitpid.
///
/// Not Foundation's `Process`: swift-corelibs-foundation notices a child's exit when a socket it
/// shares with the child closes, and then reaps it with a *blocking* waitpid on its run-loop
/// thread. pulseaudio closes every inherited descriptor at start-up, so that thread blocked until
/// the daemon died and no other child's exit was seen any more (a `pactl` run hung the test).
public final class ChildProcess {
    public enum Output {
        case null
        case file(String)
        /// An existing descriptor (e.g. a pipe's write end), duplicated onto the child's stream.
        case descriptor(Int32)
    }

    public let pid: pid_t
    private var exitStatus: Int32?

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         stdout: Output = .null, stderr: Output = .null) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (fd, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case let .file(path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            case let .descriptor(source): posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Through `setpriv --pdeathsig TERM` (util-linux, always installed) when available: if the
        // test process dies (crash, kill, debugger), its servers shut down cleanly with it instead
        // of lingering (SIGTERM, not SIGKILL: jackd then also frees its slot in libjack's registry).
        // (The signal follows the spawning thread; the tests spawn from XCTest's main thread.)
        let wrapper = "/usr/bin/setpriv"
        let useWrapper = FileManager.default.isExecutableFile(atPath: wrapper)
        let command = useWrapper ? [wrapper, "--pdeathsig", "TERM", "--", executable] + arguments : [executable] + arguments
        let argv = command.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child = pid_t()
        let result = posix_spawn(&child, command[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw TestSetupError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { exitStatus = Self.decode(status) }
        return exitStatus == nil && reaped == 0
    }

    /// Exit status (128 + signal number when killed), or nil if still running after `timeout` seconds.
    public func wait(timeout: Double) -> Int32? {
        let deadline = Monotonic.deadline(after: timeout)
        while isRunning && Monotonic.now() < deadline { usleep(2_000) }
        return exitStatus
    }

    public var terminationStatus: Int32 { exitStatus ?? -1 }

    public func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; reaps the child.
    public func terminate(grace: Double = 2) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    deinit { terminate(grace: 1) }
}

/// A temporary file name for a child's output, unlinked on deinit.
public final class ScratchFile {
    public let path = "/tmp/muscaps-\(getpid())-\(UUID().uuidString.prefix(8))"
    public init(_ suffix: String) {}
    public var contents: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    deinit { unlink(path) }
}

/// A scratch directory under /tmp (short: unix socket paths are limited to 108 bytes), removed on deinit.
public final class ScratchDirectory {
    public let path: String
    public init(_ prefix: String) throws {
        path = "/tmp/\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }
    public func file(_ name: String) -> String { "\(path)/\(name)" }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

// MARK: - PulseAudio

/// A private PulseAudio daemon with null sinks (48 kHz stereo), reachable only at `server`.
public final class PulseTestServer {
    public let directory: ScratchDirectory
    public let sinks: [String]
    /// `unix:/tmp/…/native`, for `CaptureOptions.pulseServer` and `PULSE_SERVER`.
    public let server: String
    public private(set) var process: ChildProcess?
    private let pulseaudio: String
    private let pactlPath: String
    private let paplayPath: String

    public init(sinks: [String] = ["testsink"]) throws {
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

    public var environment: [String: String] {
        ["HOME": directory.file("home"), "XDG_RUNTIME_DIR": directory.file("run"), "PULSE_SERVER": server]
    }

    /// Starts (or restarts, on the same socket) the daemon and waits until `pactl info` answers.
    public func start() throws {
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
    public func crash() {
        guard let process, process.isRunning else { return }
        process.signal(SIGKILL)
        _ = process.wait(timeout: 5)
    }

    public func stop() {
        process?.terminate()
        process = nil
    }

    @discardableResult
    public func pactl(_ arguments: [String]) throws -> String {
        try TestTools.run(pactlPath, arguments, environment: environment, timeout: 5)
    }

    /// Plays a file into `sink` with paplay at 100 ms latency (the setting that was clean here).
    public func play(_ path: String, sink: String) throws -> ChildProcess {
        try TestTools.launch(paplayPath, ["--latency-msec=100", "-d", sink, path], environment: environment)
    }

    deinit { stop() }
}

// MARK: - JACK

/// A private `jackd --no-realtime -d dummy` under a server name no other running test uses.
///
/// Names come from a small fixed pool (`muscaps-test-0` …), each claimed with an flock on a file
/// in /tmp for the server's lifetime, so parallel test runs never share one. Why not a fresh
/// random name per test: libjack keeps a registry of at most 8 server names in
/// /dev/shm/jack-shm-registry, and a server that dies without a clean shutdown (SIGKILL, a
/// crashed test run) leaves its entry behind; only a server registering the *same* name reclaims
/// it. Random names leaked a slot per crash until no jackd could start; pooled names heal themselves.
public final class JackTestServer {
    public static let namePool = 6
    public private(set) var name = ""
    private var lockDescriptor: Int32 = -1
    public let sampleRate: Int
    public let period: Int
    public private(set) var process: ChildProcess?
    private var clients: [ChildProcess] = []
    private let jackd: String
    private let lsp: String
    private let simpleClient: String

    public init(sampleRate: Int = 48_000, period: Int = 1_024) throws {
        jackd = try TestTools.require("jackd", package: "jackd2")
        lsp = try TestTools.require("jack_lsp", package: "jackd2")
        simpleClient = try TestTools.require("jack_simple_client", package: "jackd2")
        self.sampleRate = sampleRate
        self.period = period
        var failures: [String] = []
        for slot in 0..<Self.namePool {
            let descriptor = open("/tmp/muscaps-jack-test-\(slot).lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
            guard descriptor >= 0 else { continue }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                close(descriptor)   // another test run holds this name
                continue
            }
            name = "muscaps-test-\(slot)"
            do {
                try start()
                lockDescriptor = descriptor
                return
            } catch {
                // E.g. an unreaped zombie jackd still "owns" this name in the registry: next one.
                failures.append("\(name): \(error)")
                stop()
                removeLeftovers()
                close(descriptor)
            }
        }
        throw TestSetupError(message: "no JACK test server could start (names in use by other runs or broken): \(failures.joined(separator: " | "))")
    }

    /// For child processes: the server to use, no auto-start, no device reservation over D-Bus.
    public var environment: [String: String] {
        ["JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1", "JACK_NO_AUDIO_RESERVATION": "1"]
    }

    /// Starts (or restarts under the same name) and waits until `jack_lsp` answers.
    public func start() throws {
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
    public func ports() throws -> [String] {
        try TestTools.run(lsp, [], environment: environment, timeout: 5).split(separator: "\n").map(String.init)
    }

    /// Starts `jack_simple_client` as client `clientName` (240 Hz on output1, 720 Hz on output2,
    /// amplitude 0.2) and waits for its ports.
    @discardableResult
    public func startSimpleClient(_ clientName: String = "tone") throws -> ChildProcess {
        let client = try TestTools.launch(simpleClient, [clientName], environment: environment)
        clients.append(client)
        guard TestTools.waitFor(10, { ((try? ports()) ?? []).contains("\(clientName):output2") }) else {
            throw TestSetupError(message: "jack_simple_client did not register its ports")
        }
        return client
    }

    /// Stops the helper clients, then the server (SIGTERM: a clean shutdown that also removes
    /// its registry entry; capture clients get their shutdown callback).
    public func stop() {
        for client in clients { client.terminate(grace: 1) }
        clients = []
        process?.terminate(grace: 3)
        process = nil
    }

    /// What a server and its clients leave in /dev/shm under this name (ours while we hold the lock).
    private func removeLeftovers() {
        let shm = "/dev/shm"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: shm)) ?? []
        where entry.hasPrefix("jack_\(name)_") || (entry.hasPrefix("jack_sem.") && entry.contains("_\(name)_")) {
            try? FileManager.default.removeItem(atPath: "\(shm)/\(entry)")
        }
        try? FileManager.default.removeItem(atPath: "/tmp/\(name).log")
    }

    deinit {
        stop()
        removeLeftovers()
        if lockDescriptor >= 0 { close(lockDescriptor) }   // releases the name
    }
}
