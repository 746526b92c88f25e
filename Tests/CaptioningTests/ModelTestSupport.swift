import Foundation
import NeuralCore
import XCTest
@testable import Captioning

/// The PyTorch golden fixtures of the captioning models (Tools/torch_reference/make_fixtures.py).
enum ModelFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let vocabularySize = 50
    static let steps = 8

    static func file(_ variant: CaptioningConfiguration.Variant) throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: directory.appendingPathComponent("\(variant.rawValue).safetensors"))
    }

    /// The fixtures' sizes: k = 24, d = 12, H = 16, A = 10, V = 50, dropout 0.25.
    static func configuration(_ variant: CaptioningConfiguration.Variant) -> CaptioningConfiguration {
        CaptioningConfiguration(variant: variant, audioFeatureSize: 24, wordEmbeddingSize: 12, encoderHiddenSize: 16,
                                decoderHiddenSize: 16, attentionSize: 10, dropout: 0.25)
    }

    static func batch(_ file: SafetensorsFile) throws -> CaptionBatch {
        let features = try file.tensor("input.features"), tokens = try file.tensor("input.tokens")
        return CaptionBatch(batchSize: features.shape[0], maxChunks: features.shape[1], features: features.scalars,
                            chunkCounts: try file.tensor("input.chunk_counts").scalars.map { Int32($0) },
                            captionLength: tokens.shape[1], tokens: tokens.scalars.map { Int32($0) })
    }

    static func model(_ variant: CaptioningConfiguration.Variant) throws -> (MusCapsModel, SafetensorsFile) {
        let file = try file(variant)
        let model = try MusCapsModel(configuration: configuration(variant), vocabularySize: vocabularySize, seed: 1)
        try model.loadStateTensors(from: file)
        return (model, file)
    }
}

/// Worst deviation of `actual` from `expected` under |a − e| ≤ tolerance · max(|e|, floorFraction · max|E|),
/// as a multiple of the tolerance (≤ 1 passes), with the largest absolute and scale-relative errors.
struct Deviation: CustomStringConvertible {
    var ratio: Float = 0
    var maxAbsolute: Float = 0
    var maxRelativeToScale: Float = 0
    var description: String {
        String(format: "max|Δ| %.2e, max|Δ|/max|E| %.2e, %.3f of tolerance", maxAbsolute, maxRelativeToScale, ratio)
    }
}

@discardableResult
func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, floorFraction: Float = 0.1, mask: [Bool]? = nil,
                 _ label: String, file: StaticString = #filePath, line: UInt = #line) -> Deviation {
    XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
    let scale = expected.enumerated().reduce(Float(0)) { mask?[$1.offset] == false ? $0 : max($0, abs($1.element)) }
    var deviation = Deviation(), worstIndex = -1
    for i in 0..<min(actual.count, expected.count) where mask?[i] != false {
        let difference = abs(actual[i] - expected[i])
        deviation.maxAbsolute = max(deviation.maxAbsolute, difference)
        if difference == 0 { continue }
        let ratio = difference / (tolerance * max(abs(expected[i]), floorFraction * scale))
        if !(ratio <= deviation.ratio) { deviation.ratio = ratio; worstIndex = i }
    }
    deviation.maxRelativeToScale = scale > 0 ? deviation.maxAbsolute / scale : deviation.maxAbsolute
    if !(deviation.ratio <= 1) {
        XCTFail("\(label): element \(worstIndex) is \(actual[worstIndex]), reference \(expected[worstIndex]) (\(deviation.ratio)× the tolerance)",
                file: file, line: line)
    }
    if ProcessInfo.processInfo.environment["MUSCAPS_PRINT_PARITY"] != nil { print("parity \(label): \(deviation)") }
    return deviation
}

/// A small random batch (features ≥ 0, captions of random length with <sos>=2 … <eos>=3, <pad>=0).
func randomCaptionBatch(configuration c: CaptioningConfiguration, vocabularySize v: Int, batch b: Int, chunks l: Int,
                        captionLength t: Int, generator g: inout SeededGenerator, minimumChunks: Int = 1) -> CaptionBatch {
    var features = [Float](repeating: 0, count: b * l * c.audioFeatureSize)
    for i in features.indices { features[i] = abs(g.nextNormal()) }
    var counts = [Int32](repeating: 0, count: b), tokens = [Int32](repeating: 0, count: b * t)
    for row in 0..<b {
        counts[row] = Int32(row == 0 ? l : minimumChunks + Int(g.next() % UInt64(l - minimumChunks + 1)))
        let length = row == 0 ? t : 3 + Int(g.next() % UInt64(t - 2))
        tokens[row * t] = 2
        for j in 1..<(length - 1) { tokens[row * t + j] = Int32(4 + Int(g.next() % UInt64(v - 4))) }
        tokens[row * t + length - 1] = 3
    }
    return CaptionBatch(batchSize: b, maxChunks: l, features: features, chunkCounts: counts, captionLength: t, tokens: tokens)
}
