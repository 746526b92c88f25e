import AudioIO
import CAllocationCounter
import Foundation
import NeuralCore
import TestServerSupport
import XCTest
@testable import MusicTagging

/// The Swift Harmonic CNN against the PyTorch reference (`Tools/hcnn/make_fixtures.py`): seeded random
/// weights, two 5 s windows of two clips, every layer.
final class HarmonicCNNParityTests: XCTestCase {
    static let fixtures = Fixtures.directory.appendingPathComponent("hcnn")
    /// Built once for the suite from the regenerated converted checkpoint.
    nonisolated(unsafe) static var cachedModel: HarmonicCNN?

    static func model() throws -> HarmonicCNN {
        if let cachedModel { return cachedModel }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hcnn-parity-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try HarmonicCNNTestWeights.write(to: url)
        let model = try HarmonicCNN(contentsOf: url)
        cachedModel = model
        return model
    }

    func testFilterbankCentresAreTheReferenceOnes() {
        let centres = HarmonicSpectrogram.centreFrequencies
        XCTAssertEqual(centres.count, 768)
        XCTAssertEqual(centres[0], 32.703_197, accuracy: 1e-4)            // C1
        XCTAssertEqual(centres[127], 1_280.975, accuracy: 0.01)            // MIDI 87.5
        XCTAssertEqual(centres[128], 2 * centres[0], accuracy: 1e-4)       // second harmonic of C1
        XCTAssertEqual(centres[767], 6 * centres[127], accuracy: 0.05)
        // Each band is a triangle of height ≤ 1 around its centre; with Q = 1 the top band is non-empty.
        let bank = HarmonicSpectrogram.filterbank(q: 1)
        XCTAssertTrue(bank.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertGreaterThan((0..<257).map { bank[$0 * 768 + 767] }.reduce(0, +), 0)
    }

    func testEveryLayerMatchesThePyTorchReference() throws {
        let model = try Self.model()
        let output = HarmonicCNNOutput(tagCount: model.tags.count)
        for clip in ["piano", "rock"] {
            let reference = try SafetensorsFile(contentsOf: Self.fixtures.appendingPathComponent("\(clip).safetensors"))
            let stride = Int(reference.metadata["stride"] ?? "") ?? 0
            let subsampled = try JSONDecoder().decode([String].self, from: Data(reference.metadata["subsampled"]!.utf8))
            let starts = try JSONDecoder().decode([Int].self, from: Data(reference.metadata["window_starts"]!.utf8))
            let hashes = try JSONDecoder().decode([String].self, from: Data(reference.metadata["window_fnv1a64"]!.utf8))
            let audio = try AudioFileDecoder().decode(Fixtures.audio.appendingPathComponent("\(clip).wav").path)
            for (index, start) in starts.enumerated() {
                let window = Array(audio.samples[start..<(start + HarmonicCNN.windowSamples)])
                let hash = window.withUnsafeBytes { HarmonicCNNTestWeights.fnv1a64($0) }
                XCTAssertEqual(String(format: "%016llx", hash), hashes[index], "\(clip) window \(index): decoded samples differ from the reference's")
                window.withUnsafeBufferPointer { model.forward(samples: $0.baseAddress!, into: output) }
                for layer in HarmonicCNNOutput.Layer.allCases {
                    let expected = try reference.tensor("window\(index).\(layer.rawValue)").scalars
                    var actual = output.values(layer)
                    if subsampled.contains(layer.rawValue) {
                        actual = Swift.stride(from: 0, to: actual.count, by: stride).map { actual[$0] }
                    }
                    // Output (taggram) within 1e-4 absolute; every layer within 1e-4 relative to its scale.
                    if layer == .taggram {
                        XCTAssertEqual(actual.count, expected.count)
                        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
                        XCTAssertLessThanOrEqual(worst, 1e-4, "\(clip) window \(index): taggram")
                    } else {
                        assertClose(actual, expected, relative: 1e-4, "\(clip) window \(index): \(layer.rawValue)")
                    }
                }
            }
        }
    }

    func testLayersAreNotDegenerate() throws {
        // A parity test on all-zero activations would prove little: the seeded weights must keep every
        // layer alive on real music.
        let reference = try SafetensorsFile(contentsOf: Self.fixtures.appendingPathComponent("piano.safetensors"))
        for layer in HarmonicCNNOutput.Layer.allCases {
            let values = try reference.tensor("window0.\(layer.rawValue)").scalars
            let nonzero = values.filter { $0 != 0 }.count
            XCTAssertGreaterThan(Double(nonzero) / Double(values.count), 0.1, "\(layer.rawValue) is mostly zero")
            XCTAssertGreaterThan((values.max() ?? 0) - (values.min() ?? 0), 1e-3, "\(layer.rawValue) is constant")
        }
    }

    func testForwardPassAllocatesNothingInSteadyState() throws {
        BLAS.threadCount = 1
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        let model = try Self.model().replica()
        let output = HarmonicCNNOutput(tagCount: model.tags.count)
        var window = [Float](repeating: 0, count: HarmonicCNN.windowSamples)
        for i in window.indices { window[i] = 0.3 * sin(Float(i) * 0.031) + 0.1 * sin(Float(i) * 0.2) }
        window.withUnsafeBufferPointer { model.forward(samples: $0.baseAddress!, into: output) }
        let first = output.taggram
        CAllocationCounter_start()
        for _ in 0..<2 { window.withUnsafeBufferPointer { model.forward(samples: $0.baseAddress!, into: output) } }
        let allocations = CAllocationCounter_stop()
        XCTAssertEqual(allocations, 0, "the Harmonic CNN forward pass allocated \(allocations) times in 2 warm windows")
        XCTAssertEqual(output.taggram, first, "the same window gave another result")
    }

    func testRefusesBrokenWeights() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hcnn-broken-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A musicnn file is not a Harmonic CNN: a missing tensor, named.
        XCTAssertThrowsError(try HarmonicCNN(contentsOf: Fixtures.models.appendingPathComponent("musicnn/MTT_musicnn.safetensors"))) {
            XCTAssertTrue("\($0)".contains("'hstft.bw_Q' is missing"), "\($0)")
        }
        let wrongKind = directory.appendingPathComponent("wrong.safetensors")
        try HarmonicCNNTestWeights.write(to: wrongKind, metadataOverrides: ["extractor": "musicnn"])
        XCTAssertThrowsError(try HarmonicCNN(contentsOf: wrongKind)) { XCTAssertTrue("\($0)".contains("not a Harmonic CNN"), "\($0)") }
        let noTags = directory.appendingPathComponent("notags.safetensors")
        try HarmonicCNNTestWeights.write(to: noTags, metadataOverrides: ["tags": "[]"])
        XCTAssertThrowsError(try HarmonicCNN(contentsOf: noTags)) { XCTAssertTrue("\($0)".contains("no 'tags'"), "\($0)") }
        XCTAssertThrowsError(try HarmonicCNN(contentsOf: directory.appendingPathComponent("absent.safetensors"))) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
    }
}
