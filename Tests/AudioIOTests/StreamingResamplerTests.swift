import AudioIO
import TestServerSupport
import XCTest

/// The live path's resampler: irregular chunks of interleaved 48 kHz stereo in, mono 16 kHz out,
/// agreeing with the one-shot decoder.
final class StreamingResamplerTests: XCTestCase {
    func testIrregularChunksMatchOneShotDecode() throws {
        let directory = try TemporaryDirectory()
        let frames = 48_000 * 3 + 123
        let left = TestSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 48_000, frames: frames)
        let right = TestSignals.sine(frequency: 440, amplitude: 0.3, sampleRate: 48_000, frames: frames, phase: 0.25)
        let interleaved = TestSignals.interleave([left, right])
        let path = directory.path("stereo48k.wav")
        try AudioFileWriter.write(interleaved, channels: 2, sampleRate: 48_000, format: .wavFloat, to: path)
        let oneShot = try AudioFileDecoder.decode(path)

        let resampler = try StreamingResampler(inputRate: 48_000, inputChannels: 2, outputRate: 16_000, maximumChunkFrames: 1_024)
        var streamed: [Float] = []
        var generator = SystemRandomNumberGenerator()
        var position = 0
        let chunkSizes = [1, 7, 480, 1_023, 1_024, 1_025, 4_000, 0, 333]   // frames; some exceed the buffer
        var chunkIndex = 0
        while position < frames {
            let size = min(chunkSizes[chunkIndex % chunkSizes.count] + Int.random(in: 0...50, using: &generator), frames - position)
            chunkIndex += 1
            try interleaved[(2 * position)..<(2 * (position + size))].withUnsafeBufferPointer { chunk in
                try resampler.process(interleaved: chunk) { streamed.append(contentsOf: $0) }
            }
            position += size
        }
        try resampler.flush { streamed.append(contentsOf: $0) }
        XCTAssertEqual(resampler.inputFramesConsumed, frames)

        // libsoxr's flushed output is ceil(n / 3) samples here; the decoder trims/pads to exactly that.
        let expected = Int((Double(frames) / 3).rounded(.up))
        XCTAssertEqual(oneShot.samples.count, expected)
        XCTAssertEqual(abs(streamed.count - expected), 0, "streamed \(streamed.count) samples, expected \(expected)")
        let common = min(streamed.count, oneShot.samples.count)
        let maxDifference = zip(streamed.prefix(common), oneShot.samples.prefix(common)).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(maxDifference, 1e-6, "streaming vs one-shot differ by \(maxDifference)")

        let middle = TestSignals.middle(streamed)
        XCTAssertEqual(TestSignals.zeroCrossingFrequency(middle, sampleRate: 16_000), 440, accuracy: 0.5)
        // Mono is the average of two 440 Hz sines of amplitude 0.5 and 0.3 a quarter radian apart.
        let expectedAmplitude = hypot(0.5 + 0.3 * cos(0.25), 0.3 * sin(0.25)) / 2
        XCTAssertEqual(TestSignals.amplitude(at: 440, in: middle, sampleRate: 16_000), expectedAmplitude, accuracy: 2e-3)
    }

    func testArrayConvenienceAndReset() throws {
        let resampler = try StreamingResampler(inputRate: 44_100, inputChannels: 1)
        let sine = TestSignals.sine(frequency: 1_000, amplitude: 0.5, sampleRate: 44_100, frames: 44_100)
        let first = try resampler.process(interleaved: sine) + resampler.flush()
        XCTAssertThrowsError(try resampler.process(interleaved: sine), "input after flush must be refused")
        try resampler.reset()
        let second = try resampler.process(interleaved: sine) + resampler.flush()
        XCTAssertEqual(first, second, "reset must give a fresh stream")
        XCTAssertEqual(TestSignals.zeroCrossingFrequency(TestSignals.middle(first), sampleRate: 16_000), 1_000, accuracy: 0.5)
    }

    func testEqualRatesPassThroughTheDownmix() throws {
        let resampler = try StreamingResampler(inputRate: 16_000, inputChannels: 2)
        let output = try resampler.process(interleaved: [0.5, 0.25, -1, 1, 0.1, 0.3])
        XCTAssertEqual(output, [0.375, 0, 0.2])
        XCTAssertEqual(try resampler.flush(), [])
    }

    func testRejectsUnsupportedRates() {
        for (input, output) in [(0.0, 16_000.0), (44_100, 0), (-1, 16_000), (.nan, 16_000), (44_100, .infinity), (10_000_000, 16_000)] {
            XCTAssertThrowsError(try StreamingResampler(inputRate: input, inputChannels: 1, outputRate: output)) { error in
                guard case .unsupportedSampleRate? = error as? AudioIOError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try StreamingResampler(inputRate: 44_100, inputChannels: 0))
    }

    func testSteadyStateProcessingDoesNotGrowOutputBuffers() throws {
        // The closure API hands out the same preallocated buffer every time.
        let resampler = try StreamingResampler(inputRate: 48_000, inputChannels: 2, maximumChunkFrames: 512)
        let chunk = [Float](repeating: 0.1, count: 2 * 480)
        var addresses = Set<UnsafePointer<Float>>()
        for _ in 0..<200 {
            try chunk.withUnsafeBufferPointer { buffer in
                try resampler.process(interleaved: buffer) { output in
                    if let base = output.baseAddress { addresses.insert(base) }
                }
            }
        }
        XCTAssertEqual(addresses.count, 1)
    }
}

/// `AudioFileDecoder.stream` hands out exactly what `decode` returns, in bounded chunks.
final class StreamingDecodeTests: XCTestCase {
    func testStreamedChunksConcatenateToTheDecodedSamples() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MusicTaggingTests/Fixtures/audio/stereo44k.wav").path
        let decoder = AudioFileDecoder(readChunkFrames: 5_000)
        let whole = try decoder.decode(path)
        var streamed: [Float] = [], largestChunk = 0
        let info = try decoder.stream(path) { chunk in
            largestChunk = max(largestChunk, chunk.count)
            streamed.append(contentsOf: chunk)
        }
        XCTAssertEqual(streamed, whole.samples)
        XCTAssertEqual(info.sampleCount, whole.samples.count)
        XCTAssertEqual(info.originalFrameCount, whole.originalFrameCount)
        XCTAssertLessThan(largestChunk, 5_000, "chunks stay bounded by the read size")
        XCTAssertEqual(decoder.estimatedSampleCount(path), whole.samples.count)
    }

    func testErrorsFromTheConsumerPropagateUnchanged() throws {
        struct Stop: Error {}
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MusicTaggingTests/Fixtures/audio/piano.wav").path
        XCTAssertThrowsError(try AudioFileDecoder().stream(path) { _ in throw Stop() }) { XCTAssertTrue($0 is Stop) }
    }
}
