import AudioIO
import Foundation
import XCTest

/// The decoder against `librosa.load(stereo44k.wav, sr=16000, mono=True)` (librosa 0.11, soxr_hq),
/// the golden fixture written by Tools/musicnn/make_fixtures.py.
final class LibrosaParityTests: XCTestCase {
    private static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    private static let audio = testsDirectory.deletingLastPathComponent()
        .appendingPathComponent("MusicTaggingTests/Fixtures/audio/stereo44k.wav")
    private static let fixture = testsDirectory.appendingPathComponent("Fixtures/stereo44k.librosa16k.safetensors")

    func testDecodeMatchesLibrosaLoad() throws {
        guard FileManager.default.fileExists(atPath: Self.audio.path) else {
            return XCTFail("missing test audio \(Self.audio.path) (rendered by Tools/make_test_clips.py)")
        }
        guard FileManager.default.fileExists(atPath: Self.fixture.path) else {
            return XCTFail("missing fixture \(Self.fixture.path) (written by Tools/musicnn/make_fixtures.py)")
        }
        let reference = try FixtureSafetensors(path: Self.fixture.path).tensor("samples")
        let decoded = try AudioFileDecoder.decode(Self.audio.path)
        XCTAssertEqual(decoded.originalSampleRate, 44_100)
        XCTAssertEqual(decoded.originalChannels, 2)
        XCTAssertEqual(decoded.sampleRate, 16_000)
        XCTAssertEqual(reference.shape, [decoded.samples.count], "sample count vs librosa")

        var maxError: Float = 0, worst = 0
        for (i, (a, b)) in zip(decoded.samples, reference.values).enumerated() where abs(a - b) > maxError {
            maxError = abs(a - b)
            worst = i
        }
        let peak = reference.values.map(abs).max() ?? 0
        print("[librosa parity] stereo44k: \(decoded.samples.count) samples, max |Δ| = \(maxError) at \(worst) (signal peak \(peak))")
        // Same downmix arithmetic and the same libsoxr HQ configuration; what remains is the libsoxr
        // build (Debian 0.1.3 vs python-soxr's bundled copy): float32 rounding in the filter.
        XCTAssertLessThanOrEqual(maxError, 1e-4, "max |Δ| vs librosa = \(maxError) at sample \(worst)")
    }
}
