import Foundation
import NeuralCore
import XCTest
@testable import Captioning

final class TagConsistencyTests: XCTestCase {
    private let tags = ["guitar", "rock", "classical", "electronic", "slow", "metal"]

    func testOnlyConfidentGenreTagsCountAndTheirFamiliesArePooled() {
        let consistency = TagConsistency(threshold: 0.2, bonus: 2)
        // guitar is confident but no genre; classical is below the threshold.
        XCTAssertEqual(consistency.confidentGenres(tags: tags, probabilities: [0.9, 0.3, 0.19, 0.0, 0.5, 0.0]), ["rock", "metal"])
        XCTAssertEqual(consistency.confidentGenres(tags: tags, probabilities: [0.9, 0.0, 0.2, 0.25, 0.5, 0.0]), ["classical", "electronic"])
        XCTAssertEqual(consistency.confidentGenres(tags: tags, probabilities: [0.9, 0.1, 0.1, 0.1, 0.9, 0.1]), [])
        XCTAssertEqual(TagConsistency(threshold: 0.05, bonus: 2).confidentGenres(tags: tags, probabilities: [0, 0.1, 0, 0, 0, 0]), ["rock", "metal"])
    }

    func testWordBiasBansContradictingGenresAndRewardsSupportedOnes() throws {
        let vocabulary = try Vocabulary(words: [Vocabulary.pad, Vocabulary.unknown, Vocabulary.start, Vocabulary.end,
                                                "celtic", "rock", "band", "metal", "chorale", "bold", "game"])
        let consistency = TagConsistency(threshold: 0.2, bonus: 3)
        XCTAssertNil(consistency.wordBias(vocabulary: vocabulary, confidentGenres: []))
        let bias = try XCTUnwrap(consistency.wordBias(vocabulary: vocabulary, confidentGenres: ["rock", "metal"]))
        XCTAssertEqual(bias.count, vocabulary.count)
        func b(_ word: String) -> Float { bias[vocabulary.index(of: word)] }
        XCTAssertEqual(b("rock"), 3)
        XCTAssertEqual(b("metal"), 3)
        XCTAssertEqual(b("celtic"), -.infinity)
        XCTAssertEqual(b("chorale"), -.infinity)
        // words that name no genre, and "game" (every track of the real set is game music), are untouched
        XCTAssertEqual(b("band"), 0)
        XCTAssertEqual(b("bold"), 0)
        XCTAssertEqual(b("game"), 0)
        XCTAssertEqual(b(Vocabulary.end), 0)
    }

    func testMeanProbabilitiesAverageEachTagOverWindows() {
        let taggram: [Float] = [0.1, 0.5, 0.3, 0.7]   // 2 windows × 2 tags
        let mean = taggram.withUnsafeBufferPointer { TagConsistency.meanProbabilities($0, windows: 2) }
        XCTAssertEqual(mean[0], 0.2, accuracy: 1e-6)
        XCTAssertEqual(mean[1], 0.6, accuracy: 1e-6)
    }

    /// The words the untrained tiny model's beam search picks, then the same search with a bias.
    func testBannedWordsNeverAppearAndTheBonusDrawsTheSearchToOneSupportedWord() throws {
        let corpus = TinyCaptioning.corpus()
        for variant in CaptioningConfiguration.Variant.allCases {
            let model = try MusCapsModel(configuration: TinyCaptioning.configuration(variant), vocabularySize: 30, seed: 2)
            let decoder = BeamSearchDecoder(model: model, beamWidth: 3)
            let plain = try decoder.decode(corpus.features[0])
            let used = Set(plain.tokenIds)
            XCTAssertFalse(used.isEmpty, "\(variant): the plain caption is empty")

            // Ban every word the plain caption used: none of them may come back.
            var bias = [Float](repeating: 0, count: 30)
            for id in used { bias[id] = -.infinity }
            decoder.wordBias = bias
            let banned = try decoder.decode(corpus.features[0])
            XCTAssertTrue(Set(banned.tokenIds).isDisjoint(with: used), "\(variant): \(banned.tokenIds) uses a banned word of \(used)")
            XCTAssertFalse(zip(banned.tokenIds, banned.tokenIds.dropFirst()).contains { $0 == $1 }, "\(variant): a word follows itself")

            // A large bonus on one unused word: the caption names it, once.
            let target = (4..<30).first { !used.contains($0) }!
            bias = [Float](repeating: 0, count: 30)
            bias[target] = 50
            decoder.wordBias = bias
            let steered = try decoder.decode(corpus.features[0])
            XCTAssertEqual(steered.tokenIds.filter { $0 == target }.count, 1, "\(variant): \(steered.tokenIds)")

            // No bias: the plain search again.
            decoder.wordBias = nil
            XCTAssertEqual(try decoder.decode(corpus.features[0]).tokenIds, plain.tokenIds)
        }
    }
}
