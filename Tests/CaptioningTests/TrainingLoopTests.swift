import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NeuralCore
import XCTest
@testable import Captioning

final class TrainingLoopTests: XCTestCase {
    func testEveryVariantOverfitsATinySetToNearZeroLossAndDecodesItsCaptions() throws {
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            let (model, vocabulary, state) = try TinyCaptioning.trained(variant)
            let losses = state.history.map(\.trainLoss)
            XCTAssertGreaterThan(losses.first!, 2.5, "\(variant): a fresh model should be near ln(V)")
            XCTAssertLessThan(losses.last!, 0.05, "\(variant): did not overfit: \(losses.suffix(3))")
            XCTAssertLessThan(state.history.last!.validationLoss, 0.05, "\(variant)")
            // The loss falls (allowing Adam's occasional bumps): every 50-epoch block below the previous one.
            let blocks = stride(from: 0, to: losses.count, by: 50).map { losses[$0..<min($0 + 50, losses.count)].reduce(0, +) }
            XCTAssertEqual(blocks, blocks.sorted(by: >), "\(variant): loss did not fall block by block")

            let greedy = try GreedyDecoder(model: model, maxTracks: 4).decode(corpus.features)
            XCTAssertEqual(greedy.map { $0.words(vocabulary) }, TinyCaptioning.captions, "\(variant) greedy")
            XCTAssertTrue(greedy.allSatisfy(\.finished))
            let beam = try BeamSearchDecoder(model: model, beamWidth: 3).decode(corpus.features)
            XCTAssertEqual(beam.map { $0.words(vocabulary) }, TinyCaptioning.captions, "\(variant) beam")
            for (g, b) in zip(greedy, beam) {
                XCTAssertGreaterThanOrEqual(b.logProbability, g.logProbability - 1e-6, "\(variant): beam search below greedy")
            }
        }
    }

    func testBeamSearchIsAtLeastAsLikelyAsGreedyOnAPartlyTrainedModel() throws {
        // A model trained only a little is unsure, so greedy and beam search can differ.
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        for variant in CaptioningConfiguration.Variant.allCases {
            let model = try MusCapsModel(configuration: TinyCaptioning.configuration(variant), vocabularySize: vocabulary.count, seed: 11)
            try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: TinyCaptioning.options(epochs: 40), directory: nil)
                .train(training: corpus, validation: corpus)
            let greedy = try GreedyDecoder(model: model, maxTracks: 4).decode(corpus.features)
            for width in [2, 5] {
                let beam = try BeamSearchDecoder(model: model, beamWidth: width).decode(corpus.features)
                for (g, b) in zip(greedy, beam) where g.finished {
                    XCTAssertTrue(b.finished)
                    XCTAssertGreaterThanOrEqual(b.logProbability, g.logProbability - 1e-6, "\(variant) beam \(width)")
                }
            }
        }
    }

    func testTheSameSeedGivesTheSameLossCurveAndAnotherSeedAnother() throws {
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        func run(seed: UInt64) throws -> [EpochRecord] {
            let model = try MusCapsModel(configuration: TinyCaptioning.configuration(.attention, dropout: 0.25), vocabularySize: vocabulary.count, seed: seed)
            var options = TinyCaptioning.options(epochs: 5, batchSize: 2, seed: seed)
            options.schedule = .linear
            return try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: options, directory: nil)
                .train(training: corpus, validation: corpus).history
        }
        let a = try run(seed: 7), b = try run(seed: 7), c = try run(seed: 8)
        XCTAssertEqual(a.map(\.trainLoss), b.map(\.trainLoss))
        XCTAssertEqual(a.map(\.validationLoss), b.map(\.validationLoss))
        XCTAssertNotEqual(a.map(\.trainLoss), c.map(\.trainLoss))
        for (rate, expected) in zip(a.map(\.learningRate), [0.01, 0.008, 0.006, 0.004, 0.002]) { XCTAssertEqual(rate, expected, accuracy: 1e-8) }
    }

    func testResumingFromTheLastCheckpointEqualsUninterruptedTraining() throws {
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        for variant in CaptioningConfiguration.Variant.allCases {
            let straight = try TinyCaptioning.temporaryDirectory(), interrupted = try TinyCaptioning.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: interrupted) }
            var options = TinyCaptioning.options(epochs: 6, batchSize: 2, seed: 5)
            options.schedule = variant == .lateFusion ? .plateau : .linear
            options.plateauPatience = 0
            // Random crops (pooled for early fusion, chunk sequences for attention) resume exactly too.
            options.randomCropMinChunks = variant == .lateFusion ? nil : 1
            func fresh(_ directory: URL) throws -> CaptionTrainer {
                let model = try MusCapsModel(configuration: TinyCaptioning.configuration(variant, dropout: 0.25), vocabularySize: vocabulary.count, seed: 5)
                return try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: options, directory: directory)
            }
            let full = try fresh(straight).train(training: corpus, validation: corpus)
            let firstHalf = try fresh(interrupted).train(training: corpus, validation: corpus, epochs: 3)
            XCTAssertEqual(firstHalf.completedEpochs, 3)
            XCTAssertNil(firstHalf.stopReason)
            let resumed = try CaptionTrainer.resume(directory: interrupted)
            XCTAssertEqual(resumed.optimizer.stepCount, 3 * 2)
            let rest = try resumed.train(training: corpus, validation: corpus)
            XCTAssertEqual(rest.history.map(\.trainLoss), full.history.map(\.trainLoss), "\(variant)")
            XCTAssertEqual(rest.history.map(\.validationLoss), full.history.map(\.validationLoss), "\(variant)")
            XCTAssertEqual(rest.history.map(\.learningRate), full.history.map(\.learningRate), "\(variant)")
            let a = try SafetensorsFile(contentsOf: straight.appendingPathComponent(CaptionTrainer.lastFile))
            let b = try SafetensorsFile(contentsOf: interrupted.appendingPathComponent(CaptionTrainer.lastFile))
            for name in a.tensorNames { XCTAssertEqual(try a.tensor(name), try b.tensor(name), "\(variant): \(name)") }
            // A finished run has nothing left to do.
            XCTAssertEqual(try CaptionTrainer.resume(directory: interrupted).train(training: corpus, validation: corpus).completedEpochs, 6)
        }
    }

    func testRandomCropsAreContiguousWithinBoundsSeededAndPooledOverTheCrop() throws {
        let corpus = TinyCaptioning.corpus(chunks: [6, 1, 4, 9])
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        let k = corpus.featureDimension
        for pooled in [false, true] {
            let data = EncodedCorpus(corpus, vocabulary: vocabulary, pooled: pooled, randomCropMinChunks: 2)
            var generator = SeededGenerator(seed: 3), again = SeededGenerator(seed: 3)
            var batch = CaptionBatch(batchSize: 1, maxChunks: 1, features: [], chunkCounts: [], captionLength: 2, tokens: [])
            var lengths = Set<Int>()
            for round in 0..<200 {
                let pair = round % 4, track = corpus.pairs[pair].track, n = corpus.features[track].shape[0]
                data.fill(&batch, pairs: [pair], crops: &generator)
                var copy = batch
                data.fill(&copy, pairs: [pair], crops: &again)
                XCTAssertEqual(copy.features, batch.features, "the same seed gives the same crops")
                let rows = corpus.features[track].scalars
                // Find the crop: the (first) contiguous range whose rows (or their mean) are the batch's.
                var found: Range<Int>?
                for length in 1...n {
                    for start in 0...(n - length) {
                        let chunk = Array(rows[(start * k)..<((start + length) * k)])
                        let expected = pooled ? PackedFeatures.mean(Tensor(shape: [length, k], scalars: chunk), dimension: k) : chunk
                        if expected == Array(batch.features.prefix(expected.count)), batch.features.count == expected.count { found = start..<(start + length) }
                    }
                }
                let crop = try XCTUnwrap(found, "batch features are not a contiguous crop of track \(track)")
                XCTAssertGreaterThanOrEqual(crop.count, min(2, n))
                XCTAssertEqual(Int(batch.chunkCounts[0]), pooled ? 1 : crop.count)
                if track == 3 { lengths.insert(crop.count) }
            }
            XCTAssertEqual(lengths, Set(2...9), "every crop length from the minimum to the whole track occurs")
        }
        var options = TrainingOptions()
        options.randomCropMinChunks = 0
        XCTAssertThrowsError(try options.validate()) { XCTAssertTrue("\($0)".contains("at least 1 chunk"), "\($0)") }
    }

    func testCheckpointsLogAndPlotAreWrittenAndBestModelLoadsAsABundle() throws {
        let corpus = TinyCaptioning.corpus()
        let validation = TinyCaptioning.corpus(captions: Array(TinyCaptioning.captions.reversed()))  // other captions: overfitting hurts
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        let directory = try TinyCaptioning.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try MusCapsModel(configuration: TinyCaptioning.configuration(.earlyFusion), vocabularySize: vocabulary.count, seed: 1)
        var options = TinyCaptioning.options(epochs: 200)
        options.earlyStoppingPatience = 3
        options.ciderEvery = 2
        let trainer = try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "musicnn-mtt", options: options, directory: directory)
        var scored = 0
        trainer.validationScorer = { candidates, references in
            scored += 1
            XCTAssertEqual(candidates.count, 4)
            XCTAssertEqual(references.map(\.count), [1, 1, 1, 1])
            return Double(candidates.count)
        }
        var epochs: [Int] = []
        trainer.onEpoch = { epochs.append($0.epoch) }
        let state = try trainer.train(training: corpus, validation: validation)
        XCTAssertTrue(state.stopReason?.hasPrefix("early stopping") == true, state.stopReason ?? "no stop reason")
        XCTAssertLessThan(state.completedEpochs, 200)
        XCTAssertEqual(state.completedEpochs - state.bestEpoch, 3)
        XCTAssertEqual(epochs, Array(1...state.completedEpochs))
        XCTAssertEqual(scored, state.completedEpochs / 2)

        let best = try CaptioningModelBundle.load(directory.appendingPathComponent(CaptionTrainer.bestFile))
        XCTAssertEqual(best.vocabulary, vocabulary)
        XCTAssertEqual(best.extractor, "musicnn-mtt")
        XCTAssertNil(best.metadata[CaptioningModelBundle.trainingStateKey])
        let provenance = try JSONSerialization.jsonObject(with: Data(best.metadata[CaptioningModelBundle.provenanceKey]!.utf8)) as! [String: String]
        XCTAssertEqual(provenance["epoch"], String(state.bestEpoch))
        let reloaded = try CaptionTrainer(model: best.model, vocabulary: vocabulary, extractor: "x", options: options, directory: nil)
        XCTAssertEqual(try reloaded.validationLoss(validation), state.bestValidationLoss!, accuracy: 1e-9)

        let csv = try String(contentsOf: directory.appendingPathComponent(CaptionTrainer.logFile), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "epoch,train_loss,val_loss,val_cider_d,lr,seconds")
        XCTAssertEqual(csv.count, state.completedEpochs + 1)
        XCTAssertTrue(csv[1].hasPrefix("1,") && csv[1].split(separator: ",", omittingEmptySubsequences: false)[3].isEmpty, String(csv[1]))
        XCTAssertEqual(csv[2].split(separator: ",", omittingEmptySubsequences: false)[3], "4.000000")
        let svg = try String(contentsOf: directory.appendingPathComponent(CaptionTrainer.plotFile), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 3)
        for label in ["train", "validation", "val CIDEr-D", "best (epoch \(state.bestEpoch))", "epoch"] {
            XCTAssertTrue(svg.contains(">\(label)<"), label)
        }
        XCTAssertNoThrow(try XMLDocument(xmlString: svg, options: []))
    }

    func testTooSmallOrEmptySplitsAndBadOptionsAreClearErrors() throws {
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        let model = try MusCapsModel(configuration: TinyCaptioning.configuration(.earlyFusion), vocabularySize: vocabulary.count)
        let trainer = try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: TinyCaptioning.options(epochs: 1, batchSize: 16), directory: nil)
        XCTAssertThrowsError(try trainer.train(training: corpus, validation: corpus)) { error in
            XCTAssertTrue("\(error)".contains("4 caption pairs, fewer than one batch of 16"), "\(error)")
        }
        let empty = CaptionCorpus(trackIds: [], features: [], pairs: [])
        let ok = try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: TinyCaptioning.options(epochs: 1), directory: nil)
        XCTAssertThrowsError(try ok.train(training: corpus, validation: empty)) { error in
            XCTAssertTrue("\(error)".contains("validation split has no caption pairs"), "\(error)")
        }
        XCTAssertThrowsError(try ok.train(training: empty, validation: corpus)) { error in
            XCTAssertTrue("\(error)".contains("0 caption pairs"), "\(error)")
        }
        XCTAssertThrowsError(try ok.train(training: TinyCaptioning.corpus(dimension: 10), validation: corpus)) { error in
            XCTAssertTrue("\(error)".contains("expected [chunks ≥ 1, 24]"), "\(error)")
        }
        XCTAssertThrowsError(try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "t", options: TinyCaptioning.options(epochs: 1, batchSize: 1), directory: nil)) { error in
            XCTAssertTrue("\(error)".contains("at least 2"), "\(error)")
        }
    }

    func testNaNLossStopsWithAClearErrorAndKeepsTheBestCheckpoint() throws {
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        let directory = try TinyCaptioning.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try MusCapsModel(configuration: TinyCaptioning.configuration(.lateFusion), vocabularySize: vocabulary.count)
        let trainer = try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: TinyCaptioning.options(epochs: 10), directory: directory)
        try trainer.train(training: corpus, validation: corpus, epochs: 2)
        let bestURL = directory.appendingPathComponent(CaptionTrainer.bestFile)
        let before = try Data(contentsOf: bestURL)
        // Features so large that the audio embedding overflows to inf/NaN.
        var poisoned = corpus
        poisoned.features = corpus.features.map { Tensor(shape: $0.shape, scalars: $0.scalars.map { $0 * 3e38 }) }
        XCTAssertThrowsError(try trainer.train(training: poisoned, validation: corpus)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("training diverged: the loss is nan at epoch 3, batch 1"), text)
            XCTAssertTrue(text.contains("best checkpoint (epoch 2"), text)
            XCTAssertTrue(text.contains(bestURL.path), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertEqual(try Data(contentsOf: bestURL), before)
        XCTAssertNoThrow(try CaptioningModelBundle.load(bestURL))
        XCTAssertEqual(try CaptionTrainer.resume(directory: directory).state.completedEpochs, 2)
    }

    func testCorruptOrMissingCheckpointsAreOneLineErrorsNamingTheFile() throws {
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        let directory = try TinyCaptioning.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try CaptionTrainer.resume(directory: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory.appendingPathComponent("last.safetensors").path): no checkpoint to resume from (the file does not exist)")
        }
        let model = try MusCapsModel(configuration: TinyCaptioning.configuration(.earlyFusion), vocabularySize: vocabulary.count)
        try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "test", options: TinyCaptioning.options(epochs: 3), directory: directory)
            .train(training: corpus, validation: corpus, epochs: 1)
        let last = directory.appendingPathComponent(CaptionTrainer.lastFile)
        let optimizer = directory.appendingPathComponent(CaptionTrainer.optimizerFile)
        let good = try Data(contentsOf: last), goodOptimizer = try Data(contentsOf: optimizer)

        try good.prefix(good.count / 2).write(to: last)
        XCTAssertThrowsError(try CaptionTrainer.resume(directory: directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix(last.path + ": "), "\(error)")
        }
        XCTAssertThrowsError(try CaptioningModelBundle.load(last)) { error in
            XCTAssertTrue("\(error)".hasPrefix(last.path + ": "), "\(error)")
        }
        try Data("not a checkpoint at all".utf8).write(to: last)
        XCTAssertThrowsError(try CaptionTrainer.resume(directory: directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix(last.path + ": "), "\(error)")
        }
        try good.write(to: last)
        try goodOptimizer.prefix(100).write(to: optimizer)
        XCTAssertThrowsError(try CaptionTrainer.resume(directory: directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix(optimizer.path + ": optimizer state"), "\(error)")
        }
        // The optimizer state of another save.
        try SafetensorsWriter.write(tensors: [], metadata: ["checkpoint_id": "other"], to: optimizer)
        XCTAssertThrowsError(try CaptionTrainer.resume(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("belongs to another checkpoint"), "\(error)")
        }
        try goodOptimizer.write(to: optimizer)
        XCTAssertNoThrow(try CaptionTrainer.resume(directory: directory))
        // best.safetensors is a model, not a resumable checkpoint.
        try FileManager.default.removeItem(at: last)
        try FileManager.default.copyItem(at: directory.appendingPathComponent(CaptionTrainer.bestFile), to: last)
        XCTAssertThrowsError(try CaptionTrainer.resume(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("no training state"), "\(error)")
        }
    }

    func testGloVeVectorsFollowTheReferenceRuleAndBadFilesAreErrors() throws {
        let directory = try TinyCaptioning.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let vocabulary = try Vocabulary(words: ["<pad>", "<unk>", "<sos>", "<eos>", "piano", "zzzz", "drums"])
        let url = directory.appendingPathComponent("glove.txt")
        try "the 0.5 0.5 0.5\npiano 1 2 3\ndrums -1 -2 -3.5\npiano 9 9 9\n".write(to: url, atomically: true, encoding: .utf8)
        let loaded = try WordVectors.load(url, vocabulary: vocabulary)
        XCTAssertEqual(loaded.dimension, 3)
        XCTAssertEqual(loaded.found, 2)
        XCTAssertEqual(loaded.missing, ["zzzz"])
        XCTAssertEqual(loaded.matrix, [0, 0, 0, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 1, 2, 3, 0.1, 0.1, 0.1, -1, -2, -3.5])
        // A word2vec-style header line is skipped.
        try "2 3\npiano 1 2 3\ndrums 4 5 6\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(try WordVectors.load(url, vocabulary: vocabulary).found, 2)
        try "piano 1 2 3\ndrums 4 5\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WordVectors.load(url, vocabulary: vocabulary)) { error in
            XCTAssertEqual("\(error)", "\(url.path): line 2: 2 values, expected 3 as on the first line")
        }
        try "piano 1 x 3\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WordVectors.load(url, vocabulary: vocabulary)) { error in
            XCTAssertTrue("\(error)".contains("'x' is not a finite number"), "\(error)")
        }
        XCTAssertThrowsError(try WordVectors.load(directory.appendingPathComponent("none.txt"), vocabulary: vocabulary)) { error in
            XCTAssertTrue("\(error)".hasSuffix("none.txt: no such file"), "\(error)")
        }
    }

    func testFrozenPretrainedEmbeddingsStayFixedDuringTraining() throws {
        let corpus = TinyCaptioning.corpus()
        let vocabulary = TinyCaptioning.vocabulary(corpus)
        var configuration = TinyCaptioning.configuration(.earlyFusion)
        configuration.freezeWordEmbeddings = true
        let model = try MusCapsModel(configuration: configuration, vocabularySize: vocabulary.count)
        let vectors = (0..<(vocabulary.count * 12)).map { Float($0 % 7) * 0.1 }
        model.wordEmbedding.weight.load(Tensor(shape: [vocabulary.count, 12], scalars: vectors))
        try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "t", options: TinyCaptioning.options(epochs: 3), directory: nil)
            .train(training: corpus, validation: corpus)
        XCTAssertEqual(Array(model.wordEmbedding.weight.values), vectors)
    }
}
