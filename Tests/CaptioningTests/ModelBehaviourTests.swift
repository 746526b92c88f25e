import CAllocationCounter
import Foundation
import NeuralCore
import XCTest
import ThreadSupport
@testable import Captioning

/// BatchNorm modes, decoding-state behaviour, allocation-freedom of a decoding step, saving and loading,
/// and a tiny overfit run per variant.
final class ModelBehaviourTests: XCTestCase {
    private func smallConfiguration(_ variant: CaptioningConfiguration.Variant, dropout: Float = 0.25) -> CaptioningConfiguration {
        CaptioningConfiguration(variant: variant, audioFeatureSize: 8, wordEmbeddingSize: 6, encoderHiddenSize: 10,
                                decoderHiddenSize: 10, attentionSize: 7, dropout: dropout)
    }

    func testBatchNormTrainingUsesBatchStatisticsAndEvaluationUsesRunningStatistics() throws {
        let c = smallConfiguration(.earlyFusion, dropout: 0)
        let model = try MusCapsModel(configuration: c, vocabularySize: 12, seed: 3)
        var g = SeededGenerator(seed: 4)
        let batch = randomCaptionBatch(configuration: c, vocabularySize: 12, batch: 4, chunks: 3, captionLength: 5, generator: &g)
        let mean0 = model.batchNorm.runningMean.tensor.scalars
        let evaluation = try model.forwardEvaluation(batch)
        XCTAssertEqual(model.batchNorm.runningMean.tensor.scalars, mean0, "evaluation leaves the running statistics alone")
        XCTAssertEqual(model.batchNorm.batchesTracked.value[0], 0)
        let training = try model.forwardTraining(batch)
        XCTAssertNotEqual(model.batchNorm.runningMean.tensor.scalars, mean0)
        XCTAssertEqual(model.batchNorm.batchesTracked.value[0], 1)
        XCTAssertNotEqual(training, evaluation, "batch statistics differ from the initial running statistics (0, 1)")
        // Running statistics equal to this batch's statistics make evaluation equal training (dropout 0),
        // up to the unbiased variance the running statistics keep.
        for _ in 0..<300 { try model.forwardTraining(batch) }
        let unbiasedToBiased = Float(3) / 4  // running_var holds B/(B−1)·σ²
        for j in 0..<c.encoderHiddenSize { model.batchNorm.runningVariance.value[j] *= unbiasedToBiased }
        model.batchNorm.runningVariance.markModified()
        XCTAssertEqual(try model.forwardEvaluation(batch), try model.forwardTraining(batch), accuracy: 1e-4)
        // BatchNorm in training mode needs two rows.
        var single = batch
        single.batchSize = 1; single.features = Array(batch.features.prefix(3 * 8)); single.chunkCounts = [batch.chunkCounts[0]]
        single.tokens = Array(batch.tokens.prefix(5))
        XCTAssertThrowsError(try model.forwardTraining(single))
        XCTAssertNoThrow(try model.forwardEvaluation(single))
    }

    func testInvalidBatchesAreRejected() throws {
        let c = smallConfiguration(.attention)
        let model = try MusCapsModel(configuration: c, vocabularySize: 12, seed: 3)
        var g = SeededGenerator(seed: 5)
        let good = randomCaptionBatch(configuration: c, vocabularySize: 12, batch: 3, chunks: 2, captionLength: 5, generator: &g)
        var bad = good; bad.chunkCounts[1] = 0
        XCTAssertThrowsError(try model.forwardTraining(bad))
        bad = good; bad.tokens[3] = 12
        XCTAssertThrowsError(try model.forwardTraining(bad))
        bad = good; bad.features.removeLast()
        XCTAssertThrowsError(try model.forwardTraining(bad))
        XCTAssertThrowsError(try model.forwardTraining(good, dropoutMask: [1, 1]))
        XCTAssertThrowsError(try MusCapsModel(configuration: CaptioningConfiguration(decoderHiddenSize: 128), vocabularySize: 10))
    }

    func testDecodingRowsAreIndependentAndSelectable() throws {
        for variant in CaptioningConfiguration.Variant.allCases {
            let c = smallConfiguration(variant)
            let model = try MusCapsModel(configuration: c, vocabularySize: 15, seed: 8)
            var g = SeededGenerator(seed: 9)
            let batch = randomCaptionBatch(configuration: c, vocabularySize: 15, batch: 3, chunks: 4, captionLength: 6, generator: &g)
            let k = c.audioFeatureSize, l = 4
            // Three tracks at once vs each track alone.
            let state = model.makeDecoderState(maxRows: 6, maxChunks: l)
            try batch.features.withUnsafeBufferPointer { f in
                try batch.chunkCounts.withUnsafeBufferPointer { try model.start(state, features: f, sources: 3, chunkStride: l, chunkCounts: $0) }
            }
            let tokens: [[Int32]] = [[2, 2, 2], [5, 7, 9], [11, 4, 6]]
            var together: [[Float]] = []
            for step in tokens { let logits = model.step(tokens: step, state: state); together.append(Array(UnsafeBufferPointer(start: logits, count: 3 * 15))) }
            for track in 0..<3 {
                let single = model.makeDecoderState(maxRows: 1, maxChunks: l)
                let n = Int(batch.chunkCounts[track])
                try model.start(single, features: Array(batch.features[(track * l * k)..<((track * l + n) * k)]), chunkCount: n)
                for (s, step) in tokens.enumerated() {
                    let logits = Array(UnsafeBufferPointer(start: model.step(tokens: [step[track]], state: single), count: 15))
                    assertClose(logits, Array(together[s][(track * 15)..<((track + 1) * 15)]), tolerance: 1e-5, "\(variant) track \(track) step \(s)")
                }
            }
            // Beams: identical rows start identical; selectRows continues the chosen parents.
            let beams = model.makeDecoderState(maxRows: 4, maxChunks: l)
            let n = Int(batch.chunkCounts[0])
            try model.start(beams, features: Array(batch.features[0..<(n * k)]), chunkCount: n, rows: 3)
            model.step(tokens: [2, 2, 2], state: beams)
            XCTAssertEqual(Array(beams.logits(row: 0)), Array(beams.logits(row: 2)))
            model.step(tokens: [4, 8, 12], state: beams)
            let row2 = Array(beams.logits(row: 2))
            beams.selectRows([2, 2, 0])
            XCTAssertEqual(beams.rows, 3)
            model.step(tokens: [5, 5, 5], state: beams)
            XCTAssertEqual(Array(beams.logits(row: 0)), Array(beams.logits(row: 1)))
            // Row 2 (parent 0, history 2 4) differs from rows 0, 1 (history 2 12).
            XCTAssertNotEqual(Array(beams.logits(row: 0)), Array(beams.logits(row: 2)))
            _ = row2
            beams.selectRows([1])
            XCTAssertEqual(beams.rows, 1)
        }
    }

    func testDecodingStepAllocatesNothing() throws {
        BLAS.threadCount = 1
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        for variant in CaptioningConfiguration.Variant.allCases {
            let model = try MusCapsModel(configuration: CaptioningConfiguration(variant: variant), vocabularySize: 1000, seed: 1)
            var features = [Float](repeating: 0, count: 10 * 753)
            for i in features.indices { features[i] = Float(i % 13) / 13 }
            let state = model.makeDecoderState(maxRows: 5, maxChunks: 10)
            // Heap arrays written once before counting (a literal's storage may be static: its first write copies).
            var tokens = [Int32](repeating: 2, count: 5)
            tokens[0] = 2
            let parents: [Int32] = [1, 0, 0, 3, 4]
            let counts: [Int32] = [10]
            try model.start(state, features: features, chunkCount: 10, rows: 5)
            model.step(tokens: tokens, state: state)  // warm-up
            CAllocationCounter_start()
            try features.withUnsafeBufferPointer { f in
                try counts.withUnsafeBufferPointer { c in
                    try model.start(state, features: f, sources: 1, chunkStride: 10, chunkCounts: c, rowsPerSource: 5)
                }
            }
            for step in 0..<20 {
                let logits = model.step(tokens: tokens, state: state)
                tokens[step % 5] = Int32(4 + Int(logits[0] * 0) + step)
                state.selectRows(parents)
            }
            let allocations = CAllocationCounter_stop()
            XCTAssertEqual(allocations, 0, "\(variant): start + 20 steps (5 rows) allocated \(allocations) times")

            // One row (greedy) too.
            let single = model.makeDecoderState(maxRows: 1, maxChunks: 10)
            try model.start(single, features: features, chunkCount: 10)
            model.step(tokens: [2], state: single)
            var token: Int32 = 2
            CAllocationCounter_start()
            for _ in 0..<22 { _ = withUnsafePointer(to: &token) { model.step(tokens: $0, state: single) } }
            let singleAllocations = CAllocationCounter_stop()
            XCTAssertEqual(singleAllocations, 0, "\(variant): 22 greedy steps allocated \(singleAllocations) times")
        }
    }

    /// Workspaces are sized by the largest batch seen: afterwards a whole training step (forward, backward,
    /// clipping, Adam) and a validation forward pass touch no heap.
    func testTrainingStepAllocatesNothingOnceWarm() throws {
        BLAS.threadCount = 1
        defer { BLAS.threadCount = ProcessInfo.processInfo.activeProcessorCount }
        for variant in CaptioningConfiguration.Variant.allCases {
            let c = smallConfiguration(variant)
            let model = try MusCapsModel(configuration: c, vocabularySize: 30, seed: 1)
            var g = SeededGenerator(seed: 2)
            let large = randomCaptionBatch(configuration: c, vocabularySize: 30, batch: 6, chunks: 4, captionLength: 9, generator: &g)
            let small = randomCaptionBatch(configuration: c, vocabularySize: 30, batch: 4, chunks: 3, captionLength: 7, generator: &g)
            let adam = Adam(parameters: model.parameters, learningRate: 1e-3)
            func trainingStep(_ batch: CaptionBatch) throws {
                try model.forwardTraining(batch)
                model.backward()
                GradientClipping.clipNorm(model.parameters, maxNorm: 1)
                adam.step()
                try model.forwardEvaluation(batch)
            }
            try trainingStep(large)
            try trainingStep(small)
            CAllocationCounter_start()
            try trainingStep(small)
            try trainingStep(large)
            try trainingStep(small)
            let allocations = CAllocationCounter_stop()
            XCTAssertEqual(allocations, 0, "\(variant): three training steps allocated \(allocations) times")
        }
    }

    func testSaveAndLoadRoundTrip() throws {
        let c = smallConfiguration(.attention)
        let model = try MusCapsModel(configuration: c, vocabularySize: 13, seed: 21)
        var g = SeededGenerator(seed: 22)
        let batch = randomCaptionBatch(configuration: c, vocabularySize: 13, batch: 3, chunks: 3, captionLength: 5, generator: &g)
        try model.forwardTraining(batch)  // moves the running statistics
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muscaps-model-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.save(to: url, extraMetadata: ["vocabulary": "[\"<pad>\"]"])
        let loaded = try MusCapsModel(contentsOf: url)
        XCTAssertEqual(loaded.configuration, c)
        XCTAssertEqual(loaded.vocabularySize, 13)
        XCTAssertEqual(try SafetensorsFile(contentsOf: url).metadata["vocabulary"], "[\"<pad>\"]")
        for (a, b) in zip(model.stateTensors, loaded.stateTensors) { XCTAssertEqual(a.tensor, b.tensor, a.name) }
        XCTAssertEqual(try model.forwardEvaluation(batch), try loaded.forwardEvaluation(batch))
        // Configuration JSON with missing keys takes the defaults.
        let partial = try JSONDecoder().decode(CaptioningConfiguration.self, from: Data("{\"variant\":\"late\"}".utf8))
        XCTAssertEqual(partial, CaptioningConfiguration(variant: .lateFusion))
    }

    /// Each variant learns four captions by heart with Adam (near-zero loss), and greedy decoding with the
    /// step API then reproduces them.
    func testEachVariantOverfitsFourCaptions() throws {
        let captions: [[Int32]] = [[2, 5, 6, 7, 8, 3, 0, 0], [2, 9, 10, 3, 0, 0, 0, 0], [2, 11, 6, 12, 13, 14, 15, 3], [2, 16, 17, 18, 3, 0, 0, 0]]
        for variant in CaptioningConfiguration.Variant.allCases {
            let c = CaptioningConfiguration(variant: variant, audioFeatureSize: 12, wordEmbeddingSize: 8, encoderHiddenSize: 32,
                                            decoderHiddenSize: 32, attentionSize: 16, dropout: 0)
            let model = try MusCapsModel(configuration: c, vocabularySize: 20, seed: 5)
            var g = SeededGenerator(seed: 6)
            var batch = randomCaptionBatch(configuration: c, vocabularySize: 20, batch: 4, chunks: 3, captionLength: 8, generator: &g)
            batch.tokens = captions.flatMap { $0 }
            batch.chunkCounts = [3, 2, 3, 1]
            let adam = Adam(parameters: model.parameters, learningRate: 1e-2)
            var loss: Float = .infinity
            let start = Monotonic.now()
            var steps = 0
            while loss > 0.01 && steps < 600 {
                loss = try model.forwardTraining(batch)
                model.backward()
                GradientClipping.clipNorm(model.parameters, maxNorm: 12)
                adam.step()
                steps += 1
            }
            let seconds = Monotonic.secondsSince(start)
            XCTAssertLessThan(loss, 0.01, "\(variant) after \(steps) steps")
            if ProcessInfo.processInfo.environment["MUSCAPS_PRINT_PARITY"] != nil {
                print("overfit \(variant.rawValue): loss \(loss) after \(steps) steps, \(String(format: "%.2f", seconds)) s")
            }
            // Greedy decoding (evaluation mode: running statistics) reproduces the captions.
            let state = model.makeDecoderState(maxRows: 4, maxChunks: 3)
            try batch.features.withUnsafeBufferPointer { f in
                try batch.chunkCounts.withUnsafeBufferPointer { try model.start(state, features: f, sources: 4, chunkStride: 3, chunkCounts: $0) }
            }
            var tokens: [Int32] = [2, 2, 2, 2]
            var decoded = [[Int32]](repeating: [2], count: 4)
            for _ in 0..<7 {
                let logits = model.step(tokens: tokens, state: state)
                for row in 0..<4 {
                    var best = 0
                    for j in 1..<20 where logits[row * 20 + j] > logits[row * 20 + best] { best = j }
                    tokens[row] = Int32(best)
                    if decoded[row].last != 3 { decoded[row].append(Int32(best)) }
                }
            }
            for row in 0..<4 {
                XCTAssertEqual(decoded[row], captions[row].filter { $0 != 0 }, "\(variant) caption \(row)")
            }
        }
    }
}
