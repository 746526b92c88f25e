import AudioIO
import Foundation
import XCTest
@testable import MusicTagging

/// The streaming windower must cut exactly the windows the whole-file path cuts, bit for bit.
final class MelWindowerTests: XCTestCase {
    private func signal(_ count: Int) -> [Float] {
        (0..<count).map { i in 0.3 * sin(Float(i) * 0.031) + 0.1 * sin(Float(i) * 0.0071 + Float(i % 113) * 0.01) }
    }

    /// Windows (first frame, frames) from pushing `samples` in chunks of the given sizes, cycling.
    private func stream(_ samples: [Float], hop: Int, chunks: [Int]) -> [(Int, [Float], Double)] {
        let windower = MelWindower(hopFrames: hop)
        var windows: [(Int, [Float], Double)] = []
        var position = 0, chunk = 0
        samples.withUnsafeBufferPointer { all in
            while position < all.count {
                let size = min(chunks[chunk % chunks.count], all.count - position)
                windower.push(UnsafeBufferPointer(rebasing: all[position..<(position + size)])) {
                    windows.append(($0.firstFrame, Array($0.frames), $0.levelDBFS))
                }
                position += size
                chunk += 1
            }
        }
        windower.finish { windows.append(($0.firstFrame, Array($0.frames), $0.levelDBFS)) }
        return windows
    }

    func testStreamedWindowsAreBitIdenticalToTheWholeSignal() {
        let samples = signal(16_000 * 9 + 1_234)
        let whole = MelSpectrogram().compute(samples)
        let frameCount = whole.count / 96
        for hop in [187, 62, 300] {
            let expectedStarts = Array(stride(from: 0, through: frameCount - 187, by: hop))
            for chunks in [[samples.count], [1], [255, 257, 4_000], [20_000, 3]] where !(chunks == [1] && hop != 62) {
                let windows = stream(samples, hop: hop, chunks: chunks)
                XCTAssertEqual(windows.map(\.0), expectedStarts, "hop \(hop) chunks \(chunks)")
                for (first, frames, _) in windows {
                    XCTAssertEqual(frames, Array(whole[(first * 96)..<((first + 187) * 96)]), "hop \(hop) chunks \(chunks) window at \(first)")
                }
            }
        }
    }

    func testWindowLevelIsTheRMSOfItsSamples() {
        var samples = [Float](repeating: 0, count: 16_000 * 7)
        for i in 0..<47_872 { samples[i] = i % 2 == 0 ? 0.5 : -0.5 }   // RMS 0.5 = −6.02 dBFS over window 0 exactly
        let windows = stream(samples, hop: 187, chunks: [3_000])
        XCTAssertEqual(windows.count, 2)
        XCTAssertEqual(windows[0].2, 20 * log10(0.5), accuracy: 1e-9)
        XCTAssertEqual(windows[1].2, -.infinity)
    }

    func testShortStreamIsPaddedToOneSilentTailWindow() {
        let samples = signal(16_000)  // 1 s: 63 frames
        let whole = MelSpectrogram().compute(samples)
        let windows = stream(samples, hop: 187, chunks: [700])
        XCTAssertEqual(windows.count, 1)
        XCTAssertEqual(Array(windows[0].1.prefix(whole.count)), whole)
        XCTAssertTrue(windows[0].1.dropFirst(whole.count).allSatisfy { $0 == 0 })
    }

    func testEmptyStreamGivesOneSilentWindow() {
        let windows = stream([], hop: 187, chunks: [1])
        XCTAssertEqual(windows.count, 1)
        XCTAssertEqual(windows[0].2, -.infinity)
    }

    func testStreamingFileAnalysisEqualsInMemoryAnalysis() throws {
        let model = try Musicnn(contentsOf: Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors"))
        let tagger = MusicnnTagger(model: model, hopFrames: 120, workers: 2)
        let path = Fixtures.audio.appendingPathComponent("stereo44k.wav").path
        let decoded = try AudioFileDecoder.decode(path)
        var inMemory: [[Float]] = [], streamed: [[Float]] = []
        tagger.analyze(samples: decoded.samples) { _, output in inMemory.append(output.taggram) }
        let info = try tagger.analyze(file: path) { _, output in streamed.append(output.taggram) }
        XCTAssertEqual(info.sampleCount, decoded.samples.count)
        XCTAssertEqual(info.peak, decoded.samples.map(abs).max())
        XCTAssertEqual(inMemory.count, tagger.windowCount(sampleCount: decoded.samples.count))
        XCTAssertEqual(inMemory, streamed)
    }
}
