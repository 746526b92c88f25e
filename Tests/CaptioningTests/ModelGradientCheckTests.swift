import Foundation
import NeuralCore
import XCTest
@testable import Captioning

/// Every variant's hand-written backward pass against central finite differences of its own loss, at
/// small sizes, for every parameter tensor (trainable embeddings included) — PyTorch-independent.
///
/// Float32 forward passes, so: step 5e-3, the loss taken as Σ(per-target losses)/N in double, and per
/// element |fd − g| ≤ 2e-2 · max(|g|, 0.1 · max|G|) + 2e-5. Checked elements per tensor: the three
/// largest gradients and up to nine others spread over the tensor.
final class ModelGradientCheckTests: XCTestCase {
    private func check(_ variant: CaptioningConfiguration.Variant) throws {
        let configuration = CaptioningConfiguration(variant: variant, audioFeatureSize: 5, wordEmbeddingSize: 4, encoderHiddenSize: 3,
                                                    decoderHiddenSize: 3, attentionSize: 4, dropout: 0.25, freezeWordEmbeddings: false)
        let v = 9
        let model = try MusCapsModel(configuration: configuration, vocabularySize: v, seed: 11)
        // Larger weights than the default initialisation so every non-linearity is exercised.
        for p in model.parameters where p.name.contains("lstm") || p.name.hasPrefix("encoder") || p.name.hasPrefix("attention") {
            for i in 0..<p.count { p.value[i] *= 2.5 }
        }
        var g = SeededGenerator(seed: 12)
        let batch = randomCaptionBatch(configuration: configuration, vocabularySize: v, batch: 3, chunks: 3, captionLength: 6,
                                       generator: &g, minimumChunks: 1)
        var mask = [Float](repeating: 0, count: 3 * batch.steps * 3)
        Dropout.fillMask(&mask, count: mask.count, probability: 0.25, generator: &g)
        func loss() -> Double {
            _ = try! model.forwardTraining(batch, dropoutMask: mask)
            return model.lastLossSum / Double(model.lastTargetCount)
        }
        _ = loss()
        model.backward()
        var worst = 0.0
        for p in model.parameters {
            let analytic = p.gradientTensor.scalars
            let order = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }
            let spread = stride(from: 0, to: p.count, by: max(1, p.count / 9)).map { $0 }
            let indices = Array(Set(order.prefix(3) + spread)).sorted()
            let ratio = checkModelFiniteDifferences("\(variant.rawValue) \(p.name)", values: p.value, analytic: analytic, indices: indices, loss: loss)
            worst = max(worst, ratio)
        }
        if ProcessInfo.processInfo.environment["MUSCAPS_PRINT_FD"] != nil { print("FD \(variant.rawValue): worst \(worst) of tolerance") }
        // The <pad> row of a trainable embedding never gets a gradient (padding_idx).
        XCTAssertTrue(model.wordEmbedding.weight.gradients[0..<4].allSatisfy { $0 == 0 })
    }

    private func checkModelFiniteDifferences(_ label: String, values: UnsafeMutablePointer<Float>, analytic: [Float], indices: [Int],
                                             loss: () -> Double) -> Double {
        let step: Float = 5e-3
        let scale = analytic.reduce(0) { max($0, Double(abs($1))) }
        var worst = 0.0
        for i in indices {
            let original = values[i]
            values[i] = original + step
            let plus = loss()
            values[i] = original - step
            let minus = loss()
            values[i] = original
            let numeric = (plus - minus) / Double(2 * step)
            let g = Double(analytic[i])
            let ratio = abs(numeric - g) / (2e-2 * max(abs(g), 0.1 * scale) + 2e-5)
            worst = max(worst, ratio)
            if !(ratio <= 1) { XCTFail("\(label)[\(i)]: finite difference \(numeric), analytic \(g) (\(ratio)× the tolerance)") }
        }
        return worst
    }

    func testEarlyFusionGradientsMatchFiniteDifferences() throws { try check(.earlyFusion) }
    func testLateFusionGradientsMatchFiniteDifferences() throws { try check(.lateFusion) }
    func testAttentionGradientsMatchFiniteDifferences() throws { try check(.attention) }
}
