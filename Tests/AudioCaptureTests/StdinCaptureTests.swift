import AudioCapture
import Foundation
import TestServerSupport
import XCTest
import ThreadSupport

/// Raw PCM on a pipe (`stdin:FORMAT:RATE:CHANNELS`), fed by a child process or by the test in odd pieces.
final class StdinCaptureTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory("muscaps-stdin") }
    override func tearDown() { scratch = nil }

    /// 48 kHz stereo s16le from `cat` through a pipe: length, frequency and level come out right.
    func testS16leStereoFromAChildProcess() throws {
        let cat = try TestTools.require("cat", package: "coreutils")
        let frames = 96_000   // 2 s
        let left = CaptureSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 48_000, frames: frames)
        let right = CaptureSignals.sine(frequency: 1_000, amplitude: 0.25, sampleRate: 48_000, frames: frames)
        var bytes = Data(capacity: frames * 4)
        for sample in CaptureSignals.interleave([left, right]) {
            let value = Int16(max(-32_768, min(32_767, (sample * 32_768).rounded())))
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        let rawPath = scratch.file("tone.s16")
        try bytes.write(to: URL(fileURLWithPath: rawPath))

        var descriptors: [Int32] = [0, 0]
        XCTAssertEqual(TestTools.closeOnExecPipe(&descriptors), 0)
        let child = try ChildProcess(cat, [rawPath], stdout: .descriptor(descriptors[1]))
        close(descriptors[1])   // our copy of the write end; the child holds its own
        defer { close(descriptors[0]) }

        let source = RawStreamCaptureSource(format: .s16le, sampleRate: 48_000, channels: 2, fileDescriptor: descriptors[0])
        defer { source.stop() }
        try source.start()
        let consumer = try CaptureConsumer(source: source)
        let captured = CapturedAudio()
        try captured.drain(consumer, limit: 10)
        XCTAssertEqual(child.wait(timeout: 5), 0)
        XCTAssertEqual(source.state, .finished)
        XCTAssertEqual(source.statistics.capturedFrames, UInt64(frames))
        XCTAssertEqual(captured.samples.count, 32_000, accuracy: 2)
        let middle = captured.samples[4_000..<28_000]
        // Mono = (L + R) / 2: 440 Hz at 0.25, 1 kHz at 0.125.
        XCTAssertEqual(CaptureSignals.amplitude(at: 440, in: middle, sampleRate: 16_000), 0.25, accuracy: 0.005)
        XCTAssertEqual(CaptureSignals.amplitude(at: 1_000, in: middle, sampleRate: 16_000), 0.125, accuracy: 0.005)
        XCTAssertLessThan(CaptureSignals.amplitude(at: 700, in: middle, sampleRate: 16_000), 0.002)
    }

    /// f32le mono written by the test in 7-byte pieces (frames split across reads), with a NaN
    /// that must become 0 and be counted; a trailing partial frame is dropped at EOF.
    func testF32leInOddPiecesWithInvalidValues() throws {
        var samples = CaptureSignals.sine(frequency: 300, amplitude: 0.8, sampleRate: 16_000, frames: 16_000)
        samples[100] = .nan
        samples[200] = .infinity
        var bytes = Data()
        for sample in samples { withUnsafeBytes(of: sample.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: [0x01, 0x02])   // half a sample at the end

        var descriptors: [Int32] = [0, 0]
        XCTAssertEqual(TestTools.closeOnExecPipe(&descriptors), 0)
        let source = RawStreamCaptureSource(format: .f32le, sampleRate: 16_000, channels: 1, fileDescriptor: descriptors[0])
        defer {
            source.stop()
            close(descriptors[0])
        }
        try source.start()
        let writer = descriptors[1]
        let payload = bytes
        Thread.detachNewThread {
            payload.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = min(7, raw.count - offset)
                    offset += max(0, write(writer, raw.baseAddress! + offset, n))
                }
            }
            close(writer)
        }
        let consumer = try CaptureConsumer(source: source)
        let captured = CapturedAudio()
        try captured.drain(consumer, limit: 10)
        XCTAssertEqual(source.state, .finished)
        XCTAssertEqual(source.invalidSamples, 2)
        // Equal rates: the samples pass through unchanged (with the bad ones zeroed).
        XCTAssertEqual(captured.samples.count, 16_000)
        var expected = samples
        expected[100] = 0
        expected[200] = 0
        XCTAssertEqual(captured.samples, expected)
    }

    /// A pipe whose writer stays silent: stop() returns promptly (the reader polls, it never blocks).
    func testStopOnASilentPipe() throws {
        var descriptors: [Int32] = [0, 0]
        XCTAssertEqual(TestTools.closeOnExecPipe(&descriptors), 0)
        defer {
            close(descriptors[0])
            close(descriptors[1])
        }
        let source = RawStreamCaptureSource(format: .s16le, sampleRate: 8_000, channels: 1, fileDescriptor: descriptors[0])
        try source.start()
        let consumer = try CaptureConsumer(source: source)
        XCTAssertEqual(try consumer.pull(timeout: 0.2) { _ in }, .timedOut)
        let begin = Monotonic.now()
        source.stop()
        XCTAssertLessThan(Monotonic.secondsSince(begin), 0.5)
        XCTAssertEqual(source.state, .stopped)
        XCTAssertEqual(try consumer.pull(timeout: 1) { _ in }, .ended, "stopping ends the consumer's stream")
    }
}
