import AudioIO
import TestServerSupport
import XCTest

/// Real files in every format we read, written at test time with libsndfile, each holding a known
/// sine: the decoded audio must be mono, 16 kHz, the right length, and keep the sine's frequency
/// and amplitude.
final class AudioFileDecoderFormatTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory = nil }

    /// Writes a `seconds`-long sine (same in every channel) and checks what the decoder makes of it.
    private func roundTrip(
        format: AudioFileWriter.Format, name: String, sampleRate: Int, channels: Int, seconds: Double = 2,
        frequency: Double = 440, amplitude: Double = 0.5,
        durationTolerance: Double, amplitudeTolerance: Double, file: StaticString = #filePath, line: UInt = #line
    ) throws -> DecodedAudio {
        let frames = Int(seconds * Double(sampleRate))
        let sine = TestSignals.sine(frequency: frequency, amplitude: amplitude, sampleRate: sampleRate, frames: frames)
        let path = directory.path(name)
        try AudioFileWriter.write(TestSignals.interleave(Array(repeating: sine, count: channels)),
                                  channels: channels, sampleRate: sampleRate, format: format, to: path)

        let decoded = try AudioFileDecoder.decode(path)
        XCTAssertEqual(decoded.sampleRate, 16_000, file: file, line: line)
        XCTAssertEqual(decoded.originalSampleRate, sampleRate, file: file, line: line)
        XCTAssertEqual(decoded.originalChannels, channels, file: file, line: line)
        XCTAssertEqual(decoded.duration, seconds, accuracy: durationTolerance, "duration", file: file, line: line)
        // Mono at 16 kHz: ceil(frames * 16000 / rate) samples, as librosa gives.
        let expectedCount = Int((Double(decoded.originalFrameCount) * 16_000 / Double(sampleRate)).rounded(.up))
        XCTAssertEqual(decoded.samples.count, expectedCount, "sample count", file: file, line: line)

        let middle = TestSignals.middle(decoded.samples)
        let measuredFrequency = TestSignals.zeroCrossingFrequency(middle, sampleRate: 16_000)
        XCTAssertEqual(measuredFrequency, frequency, accuracy: 0.5, "frequency", file: file, line: line)
        let measuredAmplitude = TestSignals.amplitude(at: frequency, in: middle, sampleRate: 16_000)
        XCTAssertEqual(measuredAmplitude, amplitude, accuracy: amplitudeTolerance, "amplitude", file: file, line: line)
        XCTAssertLessThanOrEqual(decoded.samples.map { abs($0) }.max() ?? 0, Float(amplitude) * 1.1, file: file, line: line)
        return decoded
    }

    func testDecodesWav16Stereo44k() throws {
        _ = try roundTrip(format: .wav16, name: "sine.wav", sampleRate: 44_100, channels: 2,
                          durationTolerance: 1e-9, amplitudeTolerance: 2e-3)
    }

    func testDecodesFloatWavMono48k() throws {
        _ = try roundTrip(format: .wavFloat, name: "sine-float.wav", sampleRate: 48_000, channels: 1,
                          durationTolerance: 1e-9, amplitudeTolerance: 2e-3)
    }

    func testDecodesFlac22k() throws {
        _ = try roundTrip(format: .flac16, name: "sine.flac", sampleRate: 22_050, channels: 2,
                          durationTolerance: 1e-9, amplitudeTolerance: 2e-3)
    }

    func testDecodesOggVorbis() throws {
        _ = try roundTrip(format: .oggVorbis, name: "sine.ogg", sampleRate: 44_100, channels: 2,
                          durationTolerance: 0.01, amplitudeTolerance: 0.02)
    }

    func testDecodesOggOpus() throws {
        // Opus runs at 48 kHz internally; libsndfile trims the pre-skip, so the length survives.
        _ = try roundTrip(format: .oggOpus, name: "sine.opus", sampleRate: 48_000, channels: 2,
                          durationTolerance: 0.03, amplitudeTolerance: 0.03)
    }

    func testDecodesMp3() throws {
        // LAME adds encoder delay and padding; libsndfile (mpg123) removes it using the LAME tag.
        _ = try roundTrip(format: .mp3, name: "sine.mp3", sampleRate: 44_100, channels: 2,
                          durationTolerance: 0.06, amplitudeTolerance: 0.03)
    }

    func testSixteenKilohertzMonoIsNotResampled() throws {
        // librosa skips the resampler when the rates match; so do we. libsndfile reads 16-bit PCM
        // as n / 32768, so every sample must be an exact multiple of 1/32768 within a quantisation
        // step of what was written (the clipping writer scales by 32768 and rounds down) — a
        // resampler would break both.
        let sine = TestSignals.sine(frequency: 1000, amplitude: 0.25, sampleRate: 16_000, frames: 16_000)
        let path = directory.path("16k.wav")
        try AudioFileWriter.write(sine, channels: 1, sampleRate: 16_000, format: .wav16, to: path)
        let decoded = try AudioFileDecoder.decode(path)
        XCTAssertEqual(decoded.samples.count, 16_000)
        for (index, (got, written)) in zip(decoded.samples, sine).enumerated() {
            let code = got * 32_768
            if code != code.rounded() || abs(got - written) > 1.01 / 32_768 {
                XCTFail("sample \(index): \(got) (\(code) / 32768) for written \(written)")
                break
            }
        }
    }

    func testStereoDownmixAveragesChannels() throws {
        // Different content per channel at 16 kHz (no resampling): mono must be exactly (L + R) / 2.
        let left = TestSignals.sine(frequency: 440, amplitude: 0.6, sampleRate: 16_000, frames: 32_000)
        let right = TestSignals.sine(frequency: 1_000, amplitude: 0.2, sampleRate: 16_000, frames: 32_000)
        let path = directory.path("lr.wav")
        try AudioFileWriter.write(TestSignals.interleave([left, right]), channels: 2, sampleRate: 16_000, format: .wavFloat, to: path)
        let decoded = try AudioFileDecoder.decode(path)
        XCTAssertEqual(decoded.originalChannels, 2)
        XCTAssertEqual(decoded.samples, zip(left, right).map { ($0 + $1) / 2 })

        // And through the resampler: each tone at half its channel's amplitude.
        let path44 = directory.path("lr44.wav")
        let left44 = TestSignals.sine(frequency: 440, amplitude: 0.6, sampleRate: 44_100, frames: 88_200)
        let right44 = TestSignals.sine(frequency: 1_000, amplitude: 0.2, sampleRate: 44_100, frames: 88_200)
        try AudioFileWriter.write(TestSignals.interleave([left44, right44]), channels: 2, sampleRate: 44_100, format: .wavFloat, to: path44)
        let resampled = try AudioFileDecoder.decode(path44)
        let middle = TestSignals.middle(resampled.samples)
        XCTAssertEqual(TestSignals.amplitude(at: 440, in: middle, sampleRate: 16_000), 0.3, accuracy: 2e-3)
        XCTAssertEqual(TestSignals.amplitude(at: 1_000, in: middle, sampleRate: 16_000), 0.1, accuracy: 2e-3)
    }

    func testFourChannelDownmix() throws {
        let tones = [220.0, 330.0, 550.0, 770.0].map {
            TestSignals.sine(frequency: $0, amplitude: 0.4, sampleRate: 16_000, frames: 16_000)
        }
        let path = directory.path("quad.wav")
        try AudioFileWriter.write(TestSignals.interleave(tones), channels: 4, sampleRate: 16_000, format: .wavFloat, to: path)
        let decoded = try AudioFileDecoder.decode(path)
        XCTAssertEqual(decoded.originalChannels, 4)
        for frequency in [220.0, 330.0, 550.0, 770.0] {
            XCTAssertEqual(TestSignals.amplitude(at: frequency, in: decoded.samples[...], sampleRate: 16_000), 0.1, accuracy: 1e-3)
        }
    }

    func testOtherTargetRate() throws {
        let sine = TestSignals.sine(frequency: 3_000, amplitude: 0.5, sampleRate: 44_100, frames: 44_100)
        let path = directory.path("to22k.wav")
        try AudioFileWriter.write(sine, channels: 1, sampleRate: 44_100, format: .wavFloat, to: path)
        let decoded = try AudioFileDecoder(targetSampleRate: 22_050).decode(path)
        XCTAssertEqual(decoded.sampleRate, 22_050)
        XCTAssertEqual(decoded.samples.count, 22_050)
        XCTAssertEqual(TestSignals.zeroCrossingFrequency(TestSignals.middle(decoded.samples), sampleRate: 22_050), 3_000, accuracy: 0.5)
    }

    func testWavTruncatedInsideTheDataDecodesWhatIsThere() throws {
        // A file cut inside its audio (not its header) is readable: the frames present are decoded.
        let sine = TestSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 16_000, frames: 16_000)
        let path = directory.path("cut.wav")
        try AudioFileWriter.write(sine, channels: 1, sampleRate: 16_000, format: .wav16, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(44 + 2 * 8_000).write(to: URL(fileURLWithPath: path))
        let decoded = try AudioFileDecoder.decode(path)
        XCTAssertEqual(decoded.samples.count, 8_000)
    }
}
