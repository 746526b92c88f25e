import AudioIO
import Captioning
import Foundation
import Logging
import MusicTagging
import XCTest
@testable import LiveCaptioning
@testable import OutputPluginHost

/// The live pipeline against the file path: same windows, same tags; silence gating; context selection.
final class LivePipelineTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private func model() throws -> Musicnn {
        try Musicnn(contentsOf: Self.root.appendingPathComponent("Models/musicnn/MTT_musicnn.safetensors"))
    }

    /// Records what the captioner was shown.
    final class RecordingCaptioner: ContextCaptioner {
        let identifier = "recording"
        var calls: [[Float]] = []
        func caption(features: UnsafeBufferPointer<Float>, chunks: Int, dimension: Int) -> String {
            calls.append(Array(features))
            return "caption \(calls.count % 2)"
        }
    }

    func testLiveTagsEqualTheFilePathsTagsWindowByWindow() throws {
        let path = Self.root.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/rock.wav").path
        let samples = try AudioFileDecoder.decode(path).samples
        let model = try model()
        var expected: [[String]] = []
        MusicnnTagger(model: model, hopFrames: MusicnnTagger.hopFrames(seconds: 1)).analyze(samples: samples) { _, output in
            expected.append(topTags(output.taggramBuffer, names: model.tags, count: 3).map(\.tag))
        }
        var events: [CaptionEvent] = []
        let pipeline = LivePipeline(model: model, captioner: nil, settings: .init(hopSeconds: 1, topTags: 3)) { events.append($0) }
        // Irregular chunks, as a capture source delivers them.
        samples.withUnsafeBufferPointer { all in
            var position = 0, size = 1_000
            while position < all.count {
                let count = min(size, all.count - position)
                pipeline.push(UnsafeBufferPointer(rebasing: all[position..<(position + count)]))
                position += count
                size = size == 1_000 ? 2_731 : 1_000
            }
        }
        pipeline.finish()
        XCTAssertEqual(pipeline.statistics.windows, expected.count)
        XCTAssertEqual(pipeline.statistics.silentWindows, 0)
        // Finals tile the timeline from 0 to the last window's end without gaps or overlaps.
        let finals = events.filter(\.isFinal)
        XCTAssertEqual(finals.first?.start, 0)
        for (a, b) in zip(finals, finals.dropFirst()) { XCTAssertEqual(a.end, b.start, accuracy: 1e-9) }
        XCTAssertEqual(finals.last!.end, Double((expected.count - 1) * 63 + 187) * MelWindower.frameSeconds, accuracy: 1e-9)
        // Every final's tags are the file path's tags for one of its windows.
        for event in finals {
            XCTAssertTrue(expected.contains(event.tags.map(\.name)), "\(event.tags.map(\.name)) not among the file path's windows")
        }
    }

    func testSilenceIsGatedIntoOneEventAndGetsNoCaption() throws {
        var samples = [Float](repeating: 0, count: 16_000 * 12)
        for i in 0..<(16_000 * 5) { samples[i] = 0.3 * sin(Float(i) * 0.07) * (1 + 0.5 * sin(Float(i) * 0.0003)) }
        let captioner = RecordingCaptioner()
        var events: [CaptionEvent] = []
        let pipeline = LivePipeline(model: try model(), captioner: captioner, settings: .init(hopSeconds: 1, silenceThreshold: -60)) { events.append($0) }
        samples.withUnsafeBufferPointer { pipeline.push($0) }
        pipeline.finish()
        let finals = events.filter(\.isFinal)
        let silences = finals.filter { $0.kind == .silence }
        XCTAssertEqual(silences.count, 1, "\(finals.map { "\($0.kind) \($0.start)-\($0.end)" })")
        XCTAssertTrue(silences[0].text.isEmpty && silences[0].tags.isEmpty)
        XCTAssertGreaterThan(pipeline.statistics.silentWindows, 3)
        XCTAssertEqual(captioner.calls.count, pipeline.statistics.windows - pipeline.statistics.silentWindows)
        XCTAssertTrue(finals.filter { $0.kind == .caption }.allSatisfy { $0.model == "recording" && $0.text.hasPrefix("caption") })
    }

    func testContextHoldsNonOverlappingWindowsOfTheLastContextSeconds() throws {
        let captioner = RecordingCaptioner()
        let samples = (0..<(16_000 * 20)).map { Float(0.2 * sin(Double($0) * 0.05)) }
        let pipeline = LivePipeline(model: try model(), captioner: captioner, settings: .init(hopSeconds: 1, contextSeconds: 10)) { _ in }
        samples.withUnsafeBufferPointer { pipeline.push($0) }
        pipeline.finish()
        // hop 63 frames, window 187: every 3rd window is non-overlapping; 10 s of context holds 3 of them.
        let chunkCounts = captioner.calls.map { $0.count / Musicnn.featureChannels }
        XCTAssertEqual(chunkCounts.prefix(7), [1, 1, 1, 2, 2, 2, 3])
        XCTAssertEqual(chunkCounts.max(), 3)
    }

    /// Collects log messages (a real swift-log handler, in memory).
    final class LogRecorder: LogHandler, @unchecked Sendable {
        // @unchecked: `records` is guarded by `lock`.
        private let lock = NSLock()
        private var records: [(Logger.Level, String, Logger.Metadata)] = []
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            lock.withLock { records.append((level, "\(message)", metadata ?? [:])) }
        }
        var messages: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.withLock { records.map { ($0.0, $0.1, $0.2) } } }
    }

    /// The shipped captioner, shown only the first half of each context row: the real decoder refuses
    /// such features, so every second window (the odd calls) gets the decoder's own error.
    final class TruncatingCaptioner: ContextCaptioner {
        let model: ModelCaptioner
        var calls = 0
        init(_ model: ModelCaptioner) { self.model = model }
        var identifier: String { model.identifier }
        func caption(features: UnsafeBufferPointer<Float>, chunks: Int, dimension: Int) throws -> String {
            calls += 1
            let shown = calls % 2 == 1 ? UnsafeBufferPointer(rebasing: features[0..<(features.count / 2)]) : features
            return try model.caption(features: shown, chunks: chunks, dimension: dimension)
        }
    }

    func testACaptionThatCannotBeDecodedIsCountedReportedInTheEventAndLoggedOnce() throws {
        let shipped = Self.root.appendingPathComponent("Models/captioning/default.safetensors")
        let captioner = TruncatingCaptioner(try ModelCaptioner(bundle: try CaptioningModelBundle.load(shipped), beamWidth: 1))
        let recorder = LogRecorder()
        let logger = Logger(label: "test") { _ in recorder }
        let samples = try AudioFileDecoder.decode(Self.root.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path).samples
        var events: [CaptionEvent] = []
        let started = Date()
        let pipeline = LivePipeline(model: try model(), captioner: captioner, settings: .init(hopSeconds: 1), logger: logger) { events.append($0) }
        samples.withUnsafeBufferPointer { pipeline.push($0) }
        pipeline.finish()
        let failures = (captioner.calls + 1) / 2
        XCTAssertGreaterThan(failures, 2)
        XCTAssertEqual(pipeline.statistics.captionFailures, failures, "every failed window is counted")
        let failed = events.filter { !$0.captionError.isEmpty }
        XCTAssertFalse(failed.isEmpty)
        for event in failed {
            XCTAssertEqual(event.text, "", "no made-up caption")
            XCTAssertFalse(event.tags.isEmpty, "the window keeps its tags")
            XCTAssertTrue(event.captionError.contains("features hold"), "the decoder's reason: \(event.captionError)")
            XCTAssertTrue(event.jsonLine.hasSuffix(", \"caption_error\": \(JSONFormat.string(event.captionError))}"), event.jsonLine)
        }
        XCTAssertTrue(events.contains { $0.kind == .caption && $0.captionError.isEmpty && !$0.text.isEmpty }, "the other windows are captioned")
        let logged = recorder.messages.filter { $0.message.contains("could not be decoded") }
        let seconds = Date().timeIntervalSince(started)
        XCTAssertTrue(logged.count >= 1 && logged.count <= 1 + Int(seconds / 10), "logged at the first failure, then at most every 10 s, not per window: \(logged.count) lines for \(failures) failures in \(seconds) s")
        XCTAssertEqual(logged.first?.level, .error)
        XCTAssertTrue("\(logged.first?.metadata["reason"] ?? "")".contains("features hold"))
    }
}
