import AudioIO
import Foundation
import TestServerSupport
import XCTest

/// `muscapsd` end to end: the real binary, real plugins (.so), real PulseAudio and JACK servers.
final class DaemonTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private let rock = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/rock.wav").path
    private let piano = CLI.repositoryRoot.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path
    private var daemonPath: String { CLI.productsDirectory.appendingPathComponent("muscapsd").path }

    override func setUpWithError() throws { scratch = try ScratchDirectory("muscapsd-test") }

    struct Event {
        let t0: Double, t1: Double, kind: String, text: String, tags: [String: Double], isFinal: Bool
        var topTag: String? { tags.max { $0.value < $1.value }?.key }
    }

    private func events(_ text: String) throws -> [Event] {
        try text.split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            return Event(t0: object["t0"] as? Double ?? -1, t1: object["t1"] as? Double ?? -1, kind: object["kind"] as? String ?? "",
                         text: object["text"] as? String ?? "", tags: object["tags"] as? [String: Double] ?? [:],
                         isFinal: object["final"] as? Bool ?? false)
        }
    }

    /// Starts muscapsd with stdout/stderr in files; returns the child and the two paths.
    private func startDaemon(_ arguments: [String], environment: [String: String] = [:], name: String = "daemon") throws -> (ChildProcess, String, String) {
        let out = scratch.file("\(name).out"), err = scratch.file("\(name).err")
        let child = try ChildProcess(daemonPath, arguments, environment: environment, stdout: .file(out), stderr: .file(err))
        return (child, out, err)
    }

    private func contents(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    private func waitForCapture(_ child: ChildProcess, stderr: String) throws {
        let started = TestTools.waitFor(60) { contents(stderr).contains("capturing") || !child.isRunning }
        XCTAssertTrue(started && child.isRunning, "muscapsd did not start: \(contents(stderr))")
        if !(started && child.isRunning) { throw TestSetupError(message: "muscapsd did not start") }
    }

    /// The file path's per-window top-3 tag sets for `path` at hop 1 s (`muscaps tag`).
    private func fileWindows(_ path: String) throws -> [Set<String>] {
        let result = try CLI.run("muscaps", ["tag", path, "--hop", "1", "--top", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try result.stdout.split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return Set((object["tags"] as? [String: Double] ?? [:]).keys)
        }
    }

    // MARK: File and stdin sources

    func testFileSourceTagsLikeTheTagCommandAndExitsAtTheEnd() throws {
        let (child, out, err) = try startDaemon(["--source", "file:\(piano)", "--output", "stdout:json", "--top-tags", "3"])
        XCTAssertEqual(child.wait(timeout: 120), 0, contents(err))
        let finals = try events(contents(out)).filter(\.isFinal)
        let captions = finals.filter { $0.kind == "caption" }
        XCTAssertGreaterThan(captions.count, 1)
        let windows = try fileWindows(piano)
        for event in captions { XCTAssertTrue(windows.contains(Set(event.tags.keys)), "\(event.tags) is not a window of `muscaps tag`") }
        XCTAssertEqual(finals.first?.t0, 0)
        for (a, b) in zip(finals, finals.dropFirst()) { XCTAssertEqual(a.t1, b.t0, accuracy: 1e-3, "events tile the timeline") }
        XCTAssertTrue(captions.allSatisfy { $0.tags.keys.contains("piano") || $0.tags.keys.contains("classical") }, "\(captions.map(\.tags))")
    }

    func testStdinSourceGivesTheSameEventsAsTheFileSource() throws {
        let samples = try AudioFileDecoder.decode(rock).samples
        var pcm = Data(capacity: samples.count * 2)
        for sample in samples {
            let value = Int16(max(-32_768, min(32_767, (sample * 32_768).rounded())))
            withUnsafeBytes(of: value.littleEndian) { pcm.append(contentsOf: $0) }
        }
        let raw = scratch.file("rock.s16")
        try pcm.write(to: URL(fileURLWithPath: raw))
        let (fileRun, fileOut, fileErr) = try startDaemon(["--source", "file:\(rock)", "--output", "stdout:json"], name: "file")
        XCTAssertEqual(fileRun.wait(timeout: 120), 0, contents(fileErr))
        let out = scratch.file("stdin.out"), err = scratch.file("stdin.err")
        let shell = try ChildProcess("/bin/sh", ["-c", "exec \"$0\" --source stdin:s16le:16000:1 --output stdout:json < \"$1\"", daemonPath, raw],
                                     stdout: .file(out), stderr: .file(err))
        XCTAssertEqual(shell.wait(timeout: 120), 0, contents(err))
        let fromFile = try events(contents(fileOut)).filter(\.isFinal), fromStdin = try events(contents(out)).filter(\.isFinal)
        XCTAssertEqual(fromStdin.count, fromFile.count)
        for (a, b) in zip(fromFile, fromStdin) {
            XCTAssertEqual(a.t0, b.t0, accuracy: 1e-3)
            XCTAssertEqual(Set(a.tags.keys), Set(b.tags.keys))
            for (tag, score) in a.tags { XCTAssertEqual(score, b.tags[tag] ?? -1, accuracy: 2e-3, "16-bit PCM moves scores a little") }
        }
    }

    func testFilePluginWritesWebVTTAndSRTThatAreClosedCleanly() throws {
        let vtt = scratch.file("captions.vtt"), srt = scratch.file("captions.srt")
        // Tags only: cues describe the music by its tags.
        let (child, _, err) = try startDaemon(["--source", "file:\(piano)", "--output", "file:\(vtt)", "--output", "file:\(srt)", "--captioner", "none"])
        XCTAssertEqual(child.wait(timeout: 120), 0, contents(err))
        let webvtt = contents(vtt)
        XCTAssertTrue(webvtt.hasPrefix("WEBVTT"), webvtt)
        XCTAssertTrue(webvtt.contains("00:00:00.000 --> "), webvtt)
        XCTAssertTrue(webvtt.contains("[Music: "), webvtt)
        let subrip = contents(srt)
        XCTAssertTrue(subrip.hasPrefix("1\n00:00:00,000 --> "), subrip)

        // With the shipped captioning model (the default): cues are bracketed sentences.
        let captionedVTT = scratch.file("captioned.vtt")
        let (captioned, _, captionedErr) = try startDaemon(["--source", "file:\(piano)", "--output", "file:\(captionedVTT)"], name: "captioned")
        XCTAssertEqual(captioned.wait(timeout: 120), 0, contents(captionedErr))
        let sentences = contents(captionedVTT)
        XCTAssertTrue(sentences.hasPrefix("WEBVTT\n\n00:00:00.000 --> "), sentences)
        XCTAssertFalse(sentences.contains("[Music: "), sentences)
        XCTAssertTrue(sentences.lowercased().contains("piano"), "the piano fixture should be captioned as piano: \(sentences)")
    }

    // MARK: Real audio servers

    func testPulseMonitorCaptionsWhatIsPlayedLikeTheFileSource() throws {
        let pulse = try PulseTestServer()
        defer { pulse.stop() }
        let (child, out, err) = try startDaemon(["--source", "pulse", "--output", "stdout:json", "--top-tags", "3", "--silence-threshold=-50"],
                                                environment: pulse.environment)
        try waitForCapture(child, stderr: err)
        // The idle null sink's monitor starts delivering after its 2 s timer; let it settle, then play.
        usleep(3_000_000)
        let player = try pulse.play(rock, sink: pulse.sinks[0])
        XCTAssertEqual(player.wait(timeout: 60), 0)
        usleep(5_000_000)   // > one window of silence after the clip
        child.signal(SIGTERM)
        XCTAssertEqual(child.wait(timeout: 30), 0, "SIGTERM ends the daemon cleanly: \(contents(err))")
        let live = try events(contents(out)).filter { $0.isFinal && $0.kind == "caption" }
        XCTAssertGreaterThanOrEqual(live.count, 3, contents(out))
        let fileSets = try fileWindows(rock)
        let fileTags = fileSets.reduce(into: Set<String>()) { $0.formUnion($1) }
        // Alignment differs (the live stream starts before the clip), so compare tag vocabularies:
        // what the daemon hears while the clip plays is what the file path hears in the clip.
        let matching = live.filter { $0.topTag.map(fileTags.contains) ?? false }
        XCTAssertGreaterThanOrEqual(Double(matching.count), 0.7 * Double(live.count), "live \(live.map(\.tags)) vs file \(fileSets)")
        XCTAssertTrue(try events(contents(out)).contains { $0.kind == "silence" }, "the silence after the clip is reported")
    }

    func testJackPortsAreCapturedAndTaggedLive() throws {
        let jack = try JackTestServer()
        defer { jack.stop() }
        try jack.startSimpleClient("tone")
        // The same tones as a file (0.2 amplitude sines, 240 Hz left, 720 Hz right), for comparison.
        let rate = 48_000
        let stereo = (0..<(rate * 8)).flatMap { i -> [Float] in
            let t = Float(i) / Float(rate)
            return [0.2 * sin(2 * .pi * 240 * t), 0.2 * sin(2 * .pi * 720 * t)]
        }
        let tones = scratch.file("tones.wav")
        try AudioFileWriter.write(stereo, channels: 2, sampleRate: rate, format: .wavFloat, to: tones)
        let (child, out, err) = try startDaemon(["--source", "jack:tone:*", "--output", "stdout:json", "--top-tags", "3"],
                                                environment: jack.environment)
        try waitForCapture(child, stderr: err)
        usleep(7_000_000)
        child.signal(SIGTERM)
        XCTAssertEqual(child.wait(timeout: 30), 0, contents(err))
        let live = try events(contents(out)).filter { $0.isFinal && $0.kind == "caption" }
        XCTAssertGreaterThanOrEqual(live.count, 1, contents(out) + contents(err))
        let fileTags = try fileWindows(tones).reduce(into: Set<String>()) { $0.formUnion($1) }
        for event in live { XCTAssertTrue(event.topTag.map(fileTags.contains) ?? false, "\(event.tags) vs \(fileTags)") }
    }

    // MARK: Signals, configuration and bad input

    func testSIGHUPReloadsAValidConfigAndKeepsRunningOnABrokenOne() throws {
        let config = scratch.file("muscapsd.toml")
        try "source = \"file:\(piano):realtime:loop\"\noutputs = [\"stdout:json\"]\ntop_tags = 2\n".write(toFile: config, atomically: true, encoding: .utf8)
        let (child, out, err) = try startDaemon(["--config", config])
        try waitForCapture(child, stderr: err)
        XCTAssertTrue(TestTools.waitFor(20) { contents(out).contains("\"caption\"") }, contents(err))
        try "source = \"file:\(piano):realtime:loop\"\noutputs = [\"stdout:json\"]\ntop_tags = 4\n".write(toFile: config, atomically: true, encoding: .utf8)
        child.signal(SIGHUP)
        XCTAssertTrue(TestTools.waitFor(20) { contents(out).contains("configuration reloaded") }, contents(err))
        XCTAssertTrue(TestTools.waitFor(20) { (try? events(contents(out)))?.last { $0.kind == "caption" && $0.isFinal }?.tags.count == 4 },
                      "the reloaded top_tags is used")
        try "source = \"file:\(piano)\"\nbogus = 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        child.signal(SIGHUP)
        XCTAssertTrue(TestTools.waitFor(10) { contents(err).contains("keeping the running configuration") }, contents(err))
        XCTAssertTrue(contents(err).contains("muscapsd.toml:2: unknown key 'bogus'"), contents(err))
        XCTAssertTrue(child.isRunning, "a bad config on SIGHUP does not stop the daemon")
        child.signal(SIGTERM)
        XCTAssertEqual(child.wait(timeout: 30), 0)
    }

    /// 4 s of the piano fixture then 4 s of digital silence, at 16 kHz: looped in real time it makes a
    /// new event (caption or silence) every few seconds even though identical windows merge.
    private func pianoAndSilence() throws -> String {
        let piano = try AudioFileDecoder.decode(self.piano).samples
        let clip = Array(piano.prefix(4 * 16_000)) + [Float](repeating: 0, count: 4 * 16_000)
        let path = scratch.file("piano-and-silence.wav")
        try AudioFileWriter.write(clip, channels: 1, sampleRate: 16_000, format: .wavFloat, to: path)
        return path
    }

    /// Caption and silence events in a JSON Lines file, in order.
    private func windowEvents(_ path: String) -> [Event] {
        ((try? events(contents(path))) ?? []).filter { $0.kind == "caption" || $0.kind == "silence" }
    }

    /// Waits until `path` holds more caption/silence events than `count`: the daemon is still captioning into it.
    private func eventsKeepArriving(_ path: String, after count: Int, _ message: String) {
        XCTAssertTrue(TestTools.waitFor(30) { windowEvents(path).count > count }, "no new events after \(message): \(contents(path).suffix(600))")
    }

    func testSIGHUPWithAPartThatCannotStartKeepsTheRunningSetup() throws {
        let clip = try pianoAndSilence()
        let log = scratch.file("live.jsonl"), config = scratch.file("muscapsd.toml")
        let good = "source = \"file:\(clip):realtime:loop\"\noutputs = [\"file:\(log)\"]\ncaptioner = \"none\"\n"
        try good.write(toFile: config, atomically: true, encoding: .utf8)
        let (child, _, err) = try startDaemon(["--config", config], environment: ["PULSE_SERVER": "unix:/nonexistent/native"])
        defer { if child.isRunning { child.signal(SIGKILL); _ = child.wait(timeout: 10) } }
        try waitForCapture(child, stderr: err)
        eventsKeepArriving(log, after: 0, "start")
        // Each config parses and validates, but names a part that cannot be built.
        let refusals: [(config: String, stderr: String)] = [
            (good.replacingOccurrences(of: "outputs = [\"file:\(log)\"]", with: "outputs = [\"file:\(log)\", \"nosuchplugin\"]"),
             "cannot start output 'nosuchplugin': no output plugin named 'nosuchplugin'"),
            (good + "model = \"/no/such/tagger.safetensors\"\n", "cannot use tagging model '/no/such/tagger.safetensors'"),
            (good.replacingOccurrences(of: "captioner = \"none\"", with: "captioner = \"/no/such/captioner.safetensors\""),
             "cannot use captioning model '/no/such/captioner.safetensors'"),
            (good.replacingOccurrences(of: "file:\(clip):realtime:loop", with: "file:/no/such/audio.wav"), "cannot use source 'file:/no/such/audio.wav'"),
            (good.replacingOccurrences(of: "file:\(clip):realtime:loop", with: "pulse"), "cannot use source 'pulse'"),
        ]
        for (index, refusal) in refusals.enumerated() {
            try refusal.config.write(toFile: config, atomically: true, encoding: .utf8)
            let before = windowEvents(log).count
            child.signal(SIGHUP)
            let said = TestTools.waitFor(30) { contents(err).components(separatedBy: "SIGHUP: keeping the running configuration").count > index + 1 }
            XCTAssertTrue(said && contents(err).contains(refusal.stderr), "stderr should say why: \(contents(err))")
            XCTAssertTrue(child.isRunning, "a part that cannot start on SIGHUP must not stop the daemon: \(contents(err))")
            // The status event reaches the file through the output's own thread: wait for it.
            XCTAssertTrue(TestTools.waitFor(10) { contents(log).components(separatedBy: "configuration refused, running setup kept").count > index + 1 },
                          "a status event says so: \(contents(log).suffix(600))")
            eventsKeepArriving(log, after: before, refusal.stderr)
        }
        child.signal(SIGTERM)
        XCTAssertEqual(child.wait(timeout: 30), 0, contents(err))
        XCTAssertFalse(contents(err).contains("Fatal error"), contents(err))
    }

    func testSIGHUPKeepsTheCommandLineOptionsAndLeavesUnchangedOutputsOpen() throws {
        let clip = try pianoAndSilence()
        let log = scratch.file("live.jsonl"), cues = scratch.file("live.vtt"), config = scratch.file("muscapsd.toml")
        let fileOutputs = "outputs = [\"stdout:json\"]\ncaptioner = \"none\"\n"
        try (fileOutputs + "top_tags = 2\n").write(toFile: config, atomically: true, encoding: .utf8)
        let (child, out, err) = try startDaemon(["--config", config, "--source", "file:\(clip):realtime:loop",
                                                 "--output", "file:\(log)", "--output", "file:\(cues)"])
        defer { if child.isRunning { child.signal(SIGKILL); _ = child.wait(timeout: 10) } }
        try waitForCapture(child, stderr: err)
        XCTAssertTrue(TestTools.waitFor(30) { windowEvents(log).contains { $0.kind == "caption" && $0.tags.count == 2 } }, contents(err))
        try (fileOutputs + "top_tags = 4\n").write(toFile: config, atomically: true, encoding: .utf8)
        child.signal(SIGHUP)
        XCTAssertTrue(TestTools.waitFor(30) { contents(log).contains("configuration reloaded") }, "the file output from the command line is still there: \(contents(err))")
        XCTAssertTrue(TestTools.waitFor(30) { windowEvents(log).contains { $0.kind == "caption" && $0.tags.count == 4 } },
                      "the reloaded top_tags is used, and events keep arriving in the command line's output: \(contents(err))")
        child.signal(SIGTERM)
        XCTAssertEqual(child.wait(timeout: 30), 0, contents(err))
        XCTAssertEqual(contents(out), "", "the file's outputs never replace the command line's")
        // Unchanged outputs were not re-opened: the file plugin rotates an existing WebVTT file away
        // when it opens it, so one file with cues from before and after the reload means one instance.
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("live.") }
        XCTAssertEqual(Set(files), ["live.jsonl", "live.vtt"])
        let finals = windowEvents(log).filter { $0.isFinal && $0.kind == "caption" }
        let reloadedAt = try XCTUnwrap(finals.first { $0.tags.count == 4 }?.t0)
        let vtt = contents(cues)
        XCTAssertEqual(vtt.components(separatedBy: "WEBVTT").count, 2, vtt)
        XCTAssertTrue(vtt.hasPrefix("WEBVTT\n\n00:00:0"), "cues from before the reload are kept: \(vtt)")
        let cueStarts = vtt.split(separator: "\n").filter { $0.contains(" --> ") }.map { line -> Double in
            let parts = line.prefix(12).split(separator: ":").compactMap { Double($0) }
            return parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : -1
        }
        XCTAssertTrue(cueStarts.contains { $0 >= reloadedAt }, "the same WebVTT output got cues after the reload (at \(reloadedAt) s): \(vtt)")
    }

    func testBadSourcesConfigsAndOutputsAreOneLineErrors() throws {
        let config = scratch.file("bad.toml")
        try "source = \"pulse\"\nhopp = 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--source", "wave:nothing"], "bad source spec 'wave:nothing'"),
            (["--source", "file:/no/such.wav"], "/no/such.wav"),
            (["--config", config], "bad.toml:2: unknown key 'hopp'"),
            (["--source", "file:\(piano)", "--output", "nosuchplugin"], "nosuchplugin"),
            (["--source", "file:\(piano)", "--hop", "0"], "hop must be between 0 and 60"),
            (["--source", "pulse"], "PulseAudio"),
        ]
        for (arguments, expected) in cases {
            let (child, _, err) = try startDaemon(arguments, environment: ["PULSE_SERVER": "unix:/nonexistent/native"], name: "bad")
            let status = child.wait(timeout: 60)
            XCTAssertNotNil(status, "\(arguments) hung")
            XCTAssertNotEqual(status, 0, "\(arguments)")
            let message = contents(err)
            XCTAssertTrue(message.contains(expected), "\(arguments): \(message)")
            XCTAssertFalse(message.contains("Fatal error"), message)
        }
    }

    func testListSourcesSaysWhenNoServerRuns() throws {
        let result = try CLI.run("muscapsd", ["--list-sources"], environment: ["PULSE_SERVER": "unix:/nonexistent/native", "JACK_DEFAULT_SERVER": "muscaps-none", "JACK_NO_START_SERVER": "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.lowercased().contains("pulse"), result.stdout)
        XCTAssertTrue(result.stdout.lowercased().contains("jack"), result.stdout)
    }
}
