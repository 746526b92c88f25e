import Dispatch
import Foundation
import Logging
import TestServerSupport
import XCTest
@testable import LiveCaptioning

/// `Daemon.apply` from another thread while the daemon runs (what the D-Bus setters do): only what
/// changed is rebuilt, unchanged outputs keep running, and a part that cannot start is refused with a
/// typed error while the running setup carries on.
final class DaemonApplyTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testApplyFromAnotherThreadChangesOnlyWhatChangedAndRefusesWhatCannotStart() throws {
        let scratch = try ScratchDirectory("daemon-apply")
        let first = scratch.file("first.jsonl"), second = scratch.file("second.jsonl")
        var configuration = DaemonConfiguration()
        configuration.source = "file:\(Self.root.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path):realtime:loop"
        configuration.outputs = ["file:\(first)"]
        configuration.captioner = "none"
        configuration.pluginPath = [Build.products.path]
        let daemon = Daemon(configuration: configuration, configurationPath: nil, logger: Logger(label: "test"))
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? daemon.run()
            finished.signal()
        }
        var stopped = false
        func stop() {
            guard !stopped else { return }
            stopped = true
            daemon.requestStop()
            XCTAssertEqual(finished.wait(timeout: .now() + 30), .success, "the daemon stops")
        }
        defer { stop() }
        XCTAssertTrue(TestTools.waitFor(30) { daemon.statistics.windows > 0 }, "the daemon captions")

        // An output added: started; the running one is kept (not re-opened).
        var twoOutputs = configuration
        twoOutputs.outputs.append("file:\(second)")
        let added = try daemon.apply(twoOutputs)
        XCTAssertEqual(added.outputsAdded, ["file#2"])
        XCTAssertEqual(added.outputsRemoved, [])
        XCTAssertFalse(added.source || added.model || added.pipelineSettings)
        XCTAssertEqual(daemon.configuration, twoOutputs)

        // Parts that cannot start are refused, each naming itself; nothing changes.
        var badOutput = twoOutputs
        badOutput.outputs.append("nosuchplugin")
        var badModel = twoOutputs
        badModel.model = "/no/such/tagger.safetensors"
        var badCaptioner = twoOutputs
        badCaptioner.captioner = "/no/such/captioner.safetensors"
        var badSource = twoOutputs
        badSource.source = "file:/no/such/audio.wav"
        var invalid = twoOutputs
        invalid.hop = 0
        let refusals: [(DaemonConfiguration, String, String)] = [
            (badOutput, "output", "nosuchplugin"), (badModel, "model", "/no/such/tagger.safetensors"),
            (badCaptioner, "captioner", "/no/such/captioner.safetensors"), (badSource, "source", "/no/such/audio.wav"),
            (invalid, "configuration", "hop must be between 0 and 60"),
        ]
        for (refused, part, named) in refusals {
            XCTAssertThrowsError(try daemon.apply(refused)) { error in
                guard let error = error as? ReconfigurationError else { return XCTFail("\(error) is not a ReconfigurationError") }
                XCTAssertEqual(error.part, part)
                XCTAssertTrue(error.description.contains(named), error.description)
            }
            XCTAssertEqual(daemon.configuration, twoOutputs)
        }

        // A setting changed: the pipeline is reconfigured, source and outputs stay.
        var fewerTags = twoOutputs
        fewerTags.topTags = 2
        let settings = try daemon.apply(fewerTags)
        XCTAssertTrue(settings.pipelineSettings)
        XCTAssertFalse(settings.source || settings.model)
        XCTAssertEqual(settings.outputsAdded + settings.outputsRemoved, [])

        // The first output removed: the second keeps its instance.
        var onlySecond = fewerTags
        onlySecond.outputs = ["file:\(second)"]
        let removed = try daemon.apply(onlySecond)
        XCTAssertEqual(removed.outputsRemoved, ["file"])
        XCTAssertEqual(removed.outputsAdded, [])
        let windowsBefore = daemon.statistics.windows
        XCTAssertTrue(TestTools.waitFor(30) { daemon.statistics.windows > windowsBefore + 1 }, "still captioning")

        // Stopping finalises the open caption, so each output has its final revision.
        stop()
        // What the outputs saw: the first, kept across the additions and refusals, got every status;
        // its file was never re-opened (one status line per change, in order).
        let firstLines = lines(first)
        XCTAssertTrue(firstLines.contains { $0.contains("configuration changed: outputs (+file#2)") }, "\(firstLines)")
        XCTAssertEqual(firstLines.filter { $0.contains("configuration refused, running setup kept") }.count, refusals.count)
        XCTAssertFalse(firstLines.contains { $0.contains("-file)") }, "the status after its removal went to the other output")
        let secondLines = lines(second)
        XCTAssertTrue(secondLines.contains { $0.contains("configuration changed: outputs (-file)") }, "\(secondLines)")
        XCTAssertTrue(secondLines.contains { $0.contains("\"kind\": \"caption\"") && $0.contains("\"final\": true") })
    }

    func testApplyAfterTheDaemonStoppedSaysSo() throws {
        var configuration = DaemonConfiguration()
        configuration.source = "file:\(Self.root.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path)"
        configuration.outputs = ["stdout:json,fd=2"]
        configuration.captioner = "none"
        configuration.pluginPath = [Build.products.path]
        let daemon = Daemon(configuration: configuration, configurationPath: nil, logger: Logger(label: "test"))
        var changed = configuration
        changed.topTags = 3
        XCTAssertEqual(try daemon.apply(changed), AppliedChanges(), "before run: stored, built by run")
        XCTAssertEqual(daemon.configuration, changed)
        XCTAssertEqual(try daemon.run().exitCode, 0)
        XCTAssertThrowsError(try daemon.apply(configuration)) { XCTAssertEqual($0 as? ReconfigurationError, .notRunning) }
    }
}
