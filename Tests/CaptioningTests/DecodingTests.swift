import Foundation
import NeuralCore
import XCTest
@testable import Captioning

final class DecodingTests: XCTestCase {
    private func untrained(_ variant: CaptioningConfiguration.Variant, vocabularySize: Int = 30, seed: UInt64 = 2) throws -> MusCapsModel {
        try MusCapsModel(configuration: TinyCaptioning.configuration(variant), vocabularySize: vocabularySize, seed: seed)
    }

    /// A model that never wants to stop: <eos> gets a hopeless bias.
    private func neverEnding(_ variant: CaptioningConfiguration.Variant) throws -> MusCapsModel {
        let model = try untrained(variant)
        model.output.bias.value[Vocabulary.endIndex] = -1e4
        model.output.bias.markModified()
        return model
    }

    func testBeamWidthOneIsGreedyAndBatchedGreedyEqualsOneAtATime() throws {
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            let model = try untrained(variant)
            let batched = try GreedyDecoder(model: model, maxTracks: 3).decode(corpus.features)
            let single = GreedyDecoder(model: model)
            let beam = BeamSearchDecoder(model: model, beamWidth: 1)
            for (i, track) in corpus.features.enumerated() {
                let one = try single.decode(track)
                XCTAssertEqual(one.tokenIds, batched[i].tokenIds, "\(variant) track \(i)")
                XCTAssertEqual(one.logProbability, batched[i].logProbability, accuracy: 1e-4)
                let b = try beam.decode(track)
                XCTAssertEqual(b.tokenIds, one.tokenIds, "\(variant) track \(i)")
                XCTAssertEqual(b.finished, one.finished)
                XCTAssertEqual(b.logProbability, one.logProbability, accuracy: 1e-4)
            }
        }
    }

    func testCaptionDecoderPicksGreedyForWidthOneBeamSearchOtherwiseAndChecksTheWidth() throws {
        let corpus = TinyCaptioning.corpus()
        let model = try untrained(.attention)
        let greedy = try CaptionDecoder(model: model, beamWidth: 1, maxTracks: 3)
        guard case .greedy = greedy else { return XCTFail("width 1 decodes greedily") }
        XCTAssertEqual(greedy.description, "greedy")
        XCTAssertEqual(try greedy.decode(corpus.features).map(\.tokenIds), try GreedyDecoder(model: model).decode(corpus.features).map(\.tokenIds))
        let beam = try CaptionDecoder(model: model, beamWidth: 3)
        guard case .beam = beam else { return XCTFail("width 3 runs beam search") }
        XCTAssertEqual(beam.description, "beam 3")
        let track = corpus.features[0]
        let viaPointer = try track.scalars.withUnsafeBufferPointer { try beam.decode(features: $0, chunkCount: track.shape[0]) }
        XCTAssertEqual(viaPointer.tokenIds, try BeamSearchDecoder(model: model, beamWidth: 3).decode(track).tokenIds)
        XCTAssertNoThrow(try CaptionDecoder(model: model, beamWidth: CaptionDecoder.beamWidths.upperBound))
        for width in [0, -1, CaptionDecoder.beamWidths.upperBound + 1] {
            XCTAssertThrowsError(try CaptionDecoder(model: model, beamWidth: width)) { error in
                XCTAssertEqual("\(error)", "beam must be between 1 and 16, got \(width)")
            }
        }
        XCTAssertThrowsError(try CaptionDecoder(model: model, beamWidth: 2, maxLength: 0))
    }

    func testWhenNoBeamEndsWithinTheLimitTheBestUnfinishedCaptionIsReturned() throws {
        // The reference returns an empty caption here; we return the best hypothesis cut at the limit.
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            let model = try neverEnding(variant)
            let greedy = try GreedyDecoder(model: model).decode(corpus.features[0])
            XCTAssertFalse(greedy.finished)
            XCTAssertEqual(greedy.tokenIds.count, 22)
            let decoder = BeamSearchDecoder(model: model, beamWidth: 4)
            let beam = try decoder.decode(corpus.features[0])
            XCTAssertFalse(decoder.foundFinished)
            XCTAssertFalse(beam.finished)
            XCTAssertEqual(beam.tokenIds.count, 22)
            XCTAssertTrue(beam.logProbability.isFinite)
            XCTAssertGreaterThanOrEqual(beam.logProbability, greedy.logProbability - 1e-6, "\(variant)")
            XCTAssertFalse(beam.tokenIds.contains(Vocabulary.endIndex))
            XCTAssertEqual(try BeamSearchDecoder(model: model, beamWidth: 2, maxLength: 5).decode(corpus.features[1]).tokenIds.count, 5)
        }
    }

    func testCaptionLogProbabilityAgreesWithTeacherForcingAndTheRetrievalScorer() throws {
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            let (model, _, _) = try TinyCaptioning.trained(variant)
            let scorer = CaptionLikelihoodScorer(model: model, batchSize: 3)
            let captions = try BeamSearchDecoder(model: model, beamWidth: 2).decode(corpus.features)
            let scores = try scorer.logLikelihoods(of: captions.map(\.tokenIds), tracks: corpus.features)
            for (i, caption) in captions.enumerated() {
                XCTAssertTrue(caption.finished)
                XCTAssertEqual(scores[i][i], caption.logProbability, accuracy: 1e-3, "\(variant) track \(i)")
                // The training path (evaluation mode) gives the same sum of log-probabilities.
                let tokens = ([Vocabulary.startIndex] + caption.tokenIds + [Vocabulary.endIndex]).map(Int32.init)
                let f = corpus.features[i]
                let batch = CaptionBatch(batchSize: 1, maxChunks: f.shape[0], features: f.scalars, chunkCounts: [Int32(f.shape[0])],
                                         captionLength: tokens.count, tokens: tokens)
                try model.forwardEvaluation(batch)
                XCTAssertEqual(-model.lastLossSum, caption.logProbability, accuracy: 1e-3, "\(variant) track \(i)")
            }
        }
    }

    func testRetrievalRanksTheRightTrackFirstAndBatchingDoesNotChangeScores() throws {
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            let (model, vocabulary, _) = try TinyCaptioning.trained(variant)
            let ranks = try Retrieval.ranks(model: model, vocabulary: vocabulary, corpus: corpus, queryPairs: Array(corpus.pairs.indices), batchSize: 3)
            XCTAssertEqual(ranks, [1, 1, 1, 1], "\(variant)")
            let query = "soft piano with gentle strings".split(separator: " ").map { vocabulary.index(of: String($0)) }
            let one = try CaptionLikelihoodScorer(model: model, batchSize: 1).logLikelihoods(of: query, tracks: corpus.features)
            let many = try CaptionLikelihoodScorer(model: model, batchSize: 64).logLikelihoods(of: query, tracks: corpus.features)
            for (a, b) in zip(one, many) { XCTAssertEqual(a, b, accuracy: 1e-3) }
            XCTAssertEqual(Retrieval.ranking(one).first, 0)
        }
        XCTAssertEqual(Retrieval.rank(of: 1, scores: [0, 0, 0]), 3, "ties count against the target")
        XCTAssertEqual(Retrieval.ranking([1, 3, 3, 2]), [1, 2, 3, 0])
        XCTAssertThrowsError(try CaptionLikelihoodScorer(model: try untrained(.earlyFusion)).logLikelihoods(of: [99], tracks: corpus.features))
    }

    func testCaptionStatisticsCountUnknownWordsAndThePapersRepetitions() {
        XCTAssertEqual(CaptionStatistics.repetitions(in: "and strings and strings".split(separator: " ")), 1)
        XCTAssertEqual(CaptionStatistics.repetitions(in: "rock rock".split(separator: " ")), 1)
        XCTAssertEqual(CaptionStatistics.repetitions(in: "bass bass and bass".split(separator: " ")), 1)
        XCTAssertEqual(CaptionStatistics.repetitions(in: "epic epic theme featuring choir and choir and".split(separator: " ")), 2)
        XCTAssertEqual(CaptionStatistics.repetitions(in: "upbeat acoustic guitar tune".split(separator: " ")), 0)
        var stats = CaptionStatistics()
        stats.add(DecodedCaption(tokenIds: [4, 1, 1, 5], logProbability: -3, finished: true))
        stats.add(DecodedCaption(tokenIds: [4, 5, 6, 7], logProbability: -3, finished: false))
        XCTAssertEqual(stats.unknownRate, 2.0 / 8)
        XCTAssertEqual(stats.repetitionRate, 0.5)
        XCTAssertEqual(stats.repetitionsPerCaption, 0.5)
        XCTAssertEqual(stats.unfinished, 1)
        XCTAssertEqual(stats.meanLength, 4)
    }

    func testRollingSpansCoverTheLastContextSecondsOfWindows() {
        let w = 187 * 256.0 / 16_000  // 2.992 s
        let windows = (0..<10).map { i in AnalysisWindowFactory.make(index: i, start: Double(i) * w, end: Double(i + 1) * w, silent: i >= 8) }
        let spans = RollingCaptions.spans(windows, duration: 30.5, every: 6, context: 10)
        XCTAssertEqual(spans.map(\.time), [6, 12, 18, 24, 30])  // at 30.5 s: the same windows as at 30 s, not repeated
        XCTAssertEqual(spans.map(\.windows), [0..<2, 1..<4, 3..<6, 5..<8, 7..<10])
        XCTAssertEqual(spans.map(\.silent), [false, false, false, false, false])
        XCTAssertEqual(RollingCaptions.spans(windows, duration: 30.5, every: 30, context: 5).map(\.windows), [9..<10])
        XCTAssertTrue(RollingCaptions.spans(windows, duration: 30.5, every: 30, context: 5).last!.silent)
    }
}

extension DecodingTests {
    func testContextSecondsBecomeAWholeNumberOfWindows() {
        XCTAssertEqual(RollingCaptions.windowCount(context: 10), 3)
        XCTAssertEqual(RollingCaptions.windowCount(context: 2.992), 1)
        XCTAssertEqual(RollingCaptions.windowCount(context: 5.984), 2)
        XCTAssertEqual(RollingCaptions.windowCount(context: 1), 1)
    }
}
