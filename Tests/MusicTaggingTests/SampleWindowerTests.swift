import XCTest
@testable import MusicTagging

/// The raw-sample windower of the Harmonic CNN: musicnn's window rule on samples, any chunking.
final class SampleWindowerTests: XCTestCase {
    /// (first sample, samples) of every window, pushing `signal` in chunks of `chunk`.
    func windows(_ signal: [Float], window: Int, hop: Int, chunk: Int) -> [(Int, [Float], Double)] {
        let windower = SampleWindower(windowSamples: window, hopSamples: hop)
        var result: [(Int, [Float], Double)] = []
        var offset = 0
        while offset < signal.count {
            let end = min(signal.count, offset + chunk)
            windower.push(Array(signal[offset..<end])) { result.append(($0.firstSample, Array($0.samples), $0.levelDBFS)) }
            offset = end
        }
        windower.finish { result.append(($0.firstSample, Array($0.samples), $0.levelDBFS)) }
        return result
    }

    func testWindowsStartEveryHopAndTheLastPartialOneIsDropped() {
        let signal = (0..<100_000).map { Float($0 % 1_000) / 1_000 }
        for (hop, chunk) in [(30_000, 7), (30_000, 70_001), (80_000, 16_384), (90_000, 5_000), (1_000, 99_999)] {
            let got = windows(signal, window: 20_000, hop: hop, chunk: chunk)
            let starts = Array(stride(from: 0, through: signal.count - 20_000, by: hop))
            XCTAssertEqual(got.map(\.0), starts, "hop \(hop), chunk \(chunk)")
            for (start, samples, _) in got {
                XCTAssertEqual(samples, Array(signal[start..<(start + 20_000)]), "hop \(hop), chunk \(chunk), window at \(start)")
            }
        }
    }

    func testShortStreamIsPaddedWithSilenceToOneWindow() {
        let got = windows([0.5, -0.5, 0.5], window: 8, hop: 8, chunk: 2)
        XCTAssertEqual(got.count, 1)
        XCTAssertEqual(got[0].1, [0.5, -0.5, 0.5, 0, 0, 0, 0, 0])
        XCTAssertEqual(got[0].2, 10 * log10(0.75 / 8), accuracy: 1e-9)
        XCTAssertEqual(windows([], window: 8, hop: 8, chunk: 1).first?.2, -.infinity)
    }

    func testTaggerWindowCountMatchesTheWindower() throws {
        for count in [0, 79_999, 80_000, 159_999, 160_000, 400_123] {
            let expected = count < 80_000 ? 1 : (count - 80_000) / 16_000 + 1
            let windower = SampleWindower(windowSamples: 80_000, hopSamples: 16_000)
            var seen = 0
            windower.push([Float](repeating: 0.1, count: count)) { _ in seen += 1 }
            windower.finish { _ in seen += 1 }
            XCTAssertEqual(seen, expected, "\(count) samples")
        }
    }
}
