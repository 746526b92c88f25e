import AudioIO
import Foundation
import TestServerSupport
import XCTest

/// Bad input, one case per test: each must throw the right `AudioIOError`, whose one-line message
/// names the file — and none may crash or hang.
final class AudioFileDecoderErrorTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory = nil }

    /// Decodes `path`, expecting an error; checks it names the file on one line and returns it.
    private func expectError(_ path: String, targetSampleRate: Int = 16_000,
                             file: StaticString = #filePath, line: UInt = #line) -> AudioIOError? {
        do {
            let decoded = try AudioFileDecoder(targetSampleRate: targetSampleRate).decode(path)
            XCTFail("decoded \(decoded.samples.count) samples from \(path), expected an error", file: file, line: line)
            return nil
        } catch let error as AudioIOError {
            let message = error.description
            XCTAssertTrue(message.hasPrefix(path), "message does not start with the path: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "message is not one line: \(message)", file: file, line: line)
            XCTAssertEqual(error.path, path, file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
    }

    private func writeBytes(_ bytes: [UInt8], to name: String) throws -> String {
        let path = directory.path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A deterministic pseudo-random byte sequence (no magic of any audio container at its start).
    private func noise(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56) & 0x7F   // 7-bit: never an MPEG frame sync (0xFF)
        }
    }

    func testMissingFile() {
        let path = directory.path("does-not-exist.wav")
        XCTAssertEqual(expectError(path), .fileNotFound(path: path))
    }

    func testDirectory() throws {
        let path = directory.path("folder.wav")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        XCTAssertEqual(expectError(path), .isDirectory(path: path))
    }

    func testZeroLengthFile() throws {
        let path = try writeBytes([], to: "empty.wav")
        XCTAssertEqual(expectError(path), .emptyFile(path: path))
    }

    func testCorruptHeaderRandomBytes() throws {
        let path = try writeBytes(noise(count: 4096, seed: 42), to: "random.wav")
        guard case .unrecognisedFormat? = expectError(path) else { return XCTFail("expected unrecognisedFormat") }
    }

    func testTruncatedHeader() throws {
        // A valid WAV cut at byte 30, inside its 44-byte header (mid 'fmt ' chunk).
        let full = directory.path("full.wav")
        try AudioFileWriter.write(TestSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 16_000, frames: 1_600),
                                  channels: 1, sampleRate: 16_000, format: .wav16, to: full)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: full)).prefix(30))
        let path = try writeBytes(bytes, to: "truncated.wav")
        let error = expectError(path)
        guard case .malformedFile? = error else { return XCTFail("expected malformedFile, got \(String(describing: error))") }
        XCTAssertTrue(error!.description.contains("WAV"), error!.description)
    }

    func testUnsupportedFormatTextNamedMp3() throws {
        let path = try writeBytes(Array("This is a text file, not an MPEG stream.\n".utf8), to: "notes.mp3")
        let error = expectError(path)
        guard case .unrecognisedFormat? = error else { return XCTFail("expected unrecognisedFormat, got \(String(describing: error))") }
        // libsndfile says "File does not exist or is not a regular file" here; we must not repeat that.
        XCTAssertFalse(error!.description.contains("does not exist"), error!.description)
    }

    func testFileWithZeroFrames() throws {
        let path = directory.path("silent-header.wav")
        try AudioFileWriter.write([], channels: 1, sampleRate: 44_100, format: .wav16, to: path)
        XCTAssertEqual(expectError(path), .noFrames(path: path))
    }

    func testNaNSampleInFloatWav() throws {
        var samples = TestSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 44_100, frames: 44_100 * 2)
        samples[2 * 30_000 + 1] = .nan   // frame 30000, right channel
        let path = directory.path("nan.wav")
        try AudioFileWriter.write(samples, channels: 2, sampleRate: 44_100, format: .wavFloat, to: path)
        let error = expectError(path)
        guard case let .nonFiniteSample(_, frame, channel, value)? = error else {
            return XCTFail("expected nonFiniteSample, got \(String(describing: error))")
        }
        XCTAssertEqual(frame, 30_000)
        XCTAssertEqual(channel, 1)
        XCTAssertTrue(value.isNaN)
        XCTAssertTrue(error!.description.contains("sample 30000"), error!.description)
        XCTAssertTrue(error!.description.contains("NaN"), error!.description)
    }

    func testInfinitySampleInFloatWav() throws {
        var samples = TestSignals.sine(frequency: 440, amplitude: 0.5, sampleRate: 16_000, frames: 40_000)
        samples[20_000] = -.infinity   // beyond the first read chunk
        let path = directory.path("inf.wav")
        try AudioFileWriter.write(samples, channels: 1, sampleRate: 16_000, format: .wavFloat, to: path)
        let error = expectError(path)
        XCTAssertEqual(error, .nonFiniteSample(path: path, frame: 20_000, channel: 0, value: -.infinity))
        XCTAssertTrue(error?.description.contains("-infinity") ?? false)
    }

    func testUnsupportedTargetRate() throws {
        let path = directory.path("ok.wav")
        try AudioFileWriter.write([0, 0.1, 0.2], channels: 1, sampleRate: 16_000, format: .wav16, to: path)
        for rate in [0, -16_000, 10_000_000] {
            guard case .unsupportedSampleRate(path, _, _)? = expectError(path, targetSampleRate: rate) else {
                return XCTFail("rate \(rate) was not rejected as unsupportedSampleRate")
            }
        }
    }

    func testFileLongerThanTheLimit() throws {
        let path = directory.path("long.wav")
        try AudioFileWriter.write([Float](repeating: 0.1, count: 48_000), channels: 1, sampleRate: 16_000, format: .wav16, to: path)
        do {
            _ = try AudioFileDecoder(maximumDuration: 1).decode(path)
            XCTFail("a 3 s file passed a 1 s limit")
        } catch let error as AudioIOError {
            guard case .unsupportedStream(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.description.hasPrefix(path))
        }
    }

    func testFifoIsRefusedWithoutHanging() throws {
        let path = directory.path("pipe.wav")
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        XCTAssertEqual(expectError(path), .notRegularFile(path: path))
    }

    func testUnreadableFile() throws {
        let path = directory.path("secret.wav")
        try AudioFileWriter.write([0, 0.1], channels: 1, sampleRate: 16_000, format: .wav16, to: path)
        XCTAssertEqual(chmod(path, 0), 0)
        if geteuid() != 0 {
            XCTAssertEqual(expectError(path), .permissionDenied(path: path))
            return
        }
        // Root reads anything; switch this thread's filesystem uid to 'nobody', which also drops
        // CAP_DAC_OVERRIDE for file access (setfsuid(2)), then switch back.
        typealias SetFSUID = @convention(c) (UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid") else {
            throw XCTSkip("setfsuid is not available")
        }
        let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
        _ = setfsuid(65_534)
        defer { _ = setfsuid(0) }
        XCTAssertEqual(expectError(path), .permissionDenied(path: path))
    }

    func testAbsurdSampleRateInHeader() throws {
        // A hand-made WAV header claiming 1 Hz: libsndfile opens it, we refuse it.
        var header: [UInt8] = Array("RIFF".utf8) + le32(36 + 8) + Array("WAVEfmt ".utf8) + le32(16)
        header += le16(1) + le16(1) + le32(1) + le32(2) + le16(2) + le16(16)
        header += Array("data".utf8) + le32(8) + [UInt8](repeating: 0, count: 8)
        let path = try writeBytes(header, to: "one-hertz.wav")
        guard case .unsupportedSampleRate(path, 1, _)? = expectError(path) else { return XCTFail("1 Hz header accepted") }
    }

    func testMessageWithNewlineInPathStaysOneLine() throws {
        let path = directory.path("odd\nname.wav")
        let error = AudioIOError.fileNotFound(path: path)
        XCTAssertFalse(error.description.contains("\n"))
        XCTAssertTrue(error.description.contains("odd\\nname.wav"))
    }

    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func le16(_ value: UInt16) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}
