import AudioCapture
import AudioIO
import Foundation
import TestServerSupport
import XCTest
import ThreadSupport

/// The file source: fast and real-time pacing, end of file, looping, bad files, stopping.
final class FileCaptureTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var sources: [any CaptureSource] = []

    override func setUpWithError() throws { scratch = try ScratchDirectory("muscaps-file") }
    override func tearDown() {
        for source in sources { source.stop() }
        sources = []
        scratch = nil
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MusicTaggingTests/Fixtures/audio")

    private func started(_ spec: String) throws -> (any CaptureSource, CaptureConsumer) {
        let source = try CaptureSpec(parsing: spec).makeSource()
        sources.append(source)
        try source.start()
        return (source, try CaptureConsumer(source: source))
    }

    /// 44.1 kHz stereo through the live path equals the one-shot decoder (same resampler, any chunking).
    func testFastFileMatchesTheDecoder() throws {
        let path = Self.fixtures.appendingPathComponent("stereo44k.wav").path
        let begin = Monotonic.now()
        let (source, consumer) = try started("file:\(path)")
        XCTAssertEqual(source.format, CaptureFormat(sampleRate: 44_100, channels: 2))
        let captured = CapturedAudio()
        try captured.drain(consumer)
        let elapsed = Monotonic.secondsSince(begin)
        XCTAssertEqual(source.state, .finished)
        let decoded = try AudioFileDecoder.decode(path).samples
        // The decoder trims libsoxr's flushed output to ceil(n·16000/44100) = 80 000 samples.
        XCTAssertEqual(decoded.count, 80_000)
        XCTAssertGreaterThanOrEqual(captured.samples.count, decoded.count)
        XCTAssertLessThanOrEqual(captured.samples.count, decoded.count + 2)
        let difference = zip(captured.samples, decoded).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThanOrEqual(difference, 1e-6, "live path differs from the decoder by \(difference)")
        XCTAssertLessThan(elapsed, 5, "5 s of audio should take well under real time")
        XCTAssertEqual(source.statistics.capturedFrames, 220_500)
        XCTAssertEqual(source.statistics.droppedFrames, 0)
        XCTAssertEqual(try consumer.pull(timeout: 0) { _ in }, .ended, "ended stays ended")
        print("file fast: 5.0 s of 44.1 kHz stereo in \(String(format: "%.3f", elapsed)) s")
    }

    /// `:realtime` delivers at the file's pace: 1.5 s of audio takes 1.5 s of wall time, and half
    /// way through about half has arrived.
    func testRealtimePacing() throws {
        let path = scratch.file("tone48k.wav")
        let frames = 72_000   // 1.5 s at 48 kHz
        let tone = CaptureSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 48_000, frames: frames)
        try AudioFileWriter.write(CaptureSignals.interleave([tone, tone]), channels: 2, sampleRate: 48_000, format: .wav16, to: path)
        let begin = ProcessInfo.processInfo.systemUptime
        let (source, consumer) = try started("file:\(path):realtime")
        let captured = CapturedAudio()
        try captured.pull(from: consumer, for: 0.75)
        let atHalf = captured.samples.count
        try captured.drain(consumer, limit: 5)
        let elapsed = ProcessInfo.processInfo.systemUptime - begin
        XCTAssertEqual(source.state, .finished)
        XCTAssertEqual(elapsed, 1.5, accuracy: 0.25, "1.5 s of audio should take 1.5 s")
        // 0.75 s in: about 12 000 of 24 000 samples (minus the resampler's delay and poll granularity).
        XCTAssertEqual(Double(atHalf), 12_000, accuracy: 2_400, "samples delivered half way")
        XCTAssertEqual(captured.samples.count, 24_000, accuracy: 2)
        // Each 10 ms step arrives on time: no gap between deliveries much longer than the step.
        let gaps = zip(captured.arrivals.dropFirst(), captured.arrivals).map { $0.time - $1.time }
        XCTAssertLessThan(gaps.max() ?? 0, 0.2, "longest gap between deliveries")
        print("file realtime: 1.5 s of audio in \(String(format: "%.3f", elapsed)) s; \(atHalf) samples at 0.75 s; longest gap \(String(format: "%.3f", gaps.max() ?? 0)) s")
    }

    /// `:loop` starts again at the end with no gap; stopping ends the stream.
    func testLoopRepeatsWithoutGapUntilStopped() throws {
        let path = scratch.file("ramp16k.wav")
        let length = 1_600   // 0.1 s at 16 kHz: no resampling, so the output is the file verbatim
        let ramp = (0..<length).map { Float($0 % 800) / 1_000 - 0.4 }
        try AudioFileWriter.write(ramp, channels: 1, sampleRate: 16_000, format: .wavFloat, to: path)
        let (source, consumer) = try started("file:\(path):loop")
        let captured = CapturedAudio()
        try captured.pull(from: consumer, for: 10) { captured.samples.count >= 5 * length }
        XCTAssertEqual(source.state, .running, "a looping file does not finish")
        source.stop()
        try captured.drain(consumer, limit: 2)
        XCTAssertEqual(source.state, .stopped)
        XCTAssertGreaterThanOrEqual(captured.samples.count, 5 * length)
        for index in 0..<(5 * length) where captured.samples[index] != ramp[index % length] {
            XCTFail("sample \(index) is \(captured.samples[index]), expected \(ramp[index % length])")
            break
        }
    }

    func testMissingAndBadFilesThrowOneLineErrors() throws {
        let missing = scratch.file("nope.wav")
        let source = FileCaptureSource(path: missing)
        XCTAssertThrowsError(try source.start()) { error in
            XCTAssertEqual(error as? AudioIOError, .fileNotFound(path: missing))
            XCTAssertFalse("\(error)".contains("\n"))
        }
        if case .failed = source.state {} else { XCTFail("state after a failed start: \(source.state)") }
        XCTAssertThrowsError(try CaptureConsumer(source: source), "no consumer for a source that never started")

        let text = scratch.file("notes.wav")
        try "not audio".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FileCaptureSource(path: text).start()) { error in
            XCTAssertTrue("\(error)".contains("unrecognised or unsupported audio format"), "\(error)")
        }
        let once = FileCaptureSource(path: Self.fixtures.appendingPathComponent("piano.wav").path)
        sources.append(once)
        try once.start()
        XCTAssertThrowsError(try once.start()) { error in
            XCTAssertTrue("\(error)".contains("already started"), "\(error)")
        }
    }

    /// A fast source whose consumer never reads fills the ring and waits; stop() still returns at once.
    func testStopWhileTheRingIsFull() throws {
        let path = Self.fixtures.appendingPathComponent("piano.wav").path
        var options = CaptureOptions()
        options.ringSizing = RingSizing(windowSeconds: 0.5, hopSeconds: 0, slackSeconds: 0)
        let source = FileCaptureSource(path: path, options: options)
        try source.start()
        XCTAssertTrue(TestTools.waitFor(5) { source.ring!.writable == 0 }, "ring should fill")
        XCTAssertEqual(source.state, .running)
        let begin = Monotonic.now()
        source.stop()
        XCTAssertLessThan(Monotonic.secondsSince(begin), 0.5, "stop must not hang on a full ring")
        XCTAssertEqual(source.state, .stopped)
        XCTAssertEqual(source.statistics.droppedFrames, 0, "the file source waits, it never drops")
        source.stop()   // idempotent
    }
}
