@testable import CaptionMetrics
import XCTest

/// Bad input to CaptionScorer, and the retrieval metrics.
final class InputAndRetrievalTests: XCTestCase {
    private func scorer() -> CaptionScorer {
        var options = CaptionScorer.Options()
        options.meteor = false
        options.spice = false
        return CaptionScorer(options: options)
    }

    private func assertInputError(_ candidates: [String: String], _ references: [String: [String]],
                                  _ expected: CaptionInputError, mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try scorer().score(candidates: candidates, references: references), line: line) { error in
            XCTAssertEqual(error as? CaptionInputError, expected, line: line)
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", line: line)
            XCTAssertTrue(text.contains(mentions), "\(text) should mention \(mentions)", line: line)
        }
    }

    func testBadInputIsAClearError() {
        assertInputError([:], [:], .noTracks, mentions: "no predictions")
        assertInputError(["a": "piano", "b": "drums"], ["a": ["piano"]], .noReferences(tracks: ["b"]), mentions: "b")
        assertInputError(["a": "piano"], ["a": []], .noReferences(tracks: ["a"]), mentions: "no references")
        assertInputError(["a": "piano"], ["a": ["piano"], "z": ["x"], "y": ["x"]],
                         .referencesWithoutCandidate(tracks: ["y", "z"]), mentions: "y, z")
        assertInputError(["a": "piano"], ["a": ["piano", ""]], .emptyReference(track: "a", index: 1), mentions: "reference 2")
        let many = Dictionary(uniqueKeysWithValues: (1...8).map { ("t\($0)", "x") })
        assertInputError(many, [:], .noReferences(tracks: (1...8).map { "t\($0)" }), mentions: "8 tracks have no references: t1, t2, t3, t4, t5, …")
    }

    /// Empty and whitespace-only predictions are results, not errors: 0 on every metric, the rest scored as usual,
    /// and the tracks listed for the caller's warning. (The golden set checks the numbers against pycocoevalcap.)
    func testBlankCandidatesAreScoredAndListed() throws {
        let scores = try scorer().score(candidates: ["a": "", "b": "soft piano", "c": " \t\u{3000}"],
                                        references: ["a": ["happy tune"], "b": ["soft piano music"], "c": ["loud drums"]])
        XCTAssertEqual(scores.blankCandidates, ["a", "c"])
        for track in ["a", "c"] {
            XCTAssertEqual(scores.tokenizedCandidates[track], "")
            for metric in [CaptionMetric.bleu1, .bleu4, .rougeL, .cider] { XCTAssertEqual(scores.perTrack[track]![metric]!, 0, accuracy: 1e-12) }
        }
        XCTAssertGreaterThan(scores.perTrack["b"]![.bleu1]!, 0.5)
    }

    /// Captions that tokenize to nothing (emoji, punctuation) are valid input, scored as pycocoevalcap does.
    func testCaptionThatTokenizesToNothingIsScored() throws {
        let scores = try scorer().score(candidates: ["a": "🎵🎶", "b": "soft piano"], references: ["a": ["happy tune"], "b": ["soft piano music"]])
        XCTAssertEqual(scores.tokenizedCandidates["a"], "")
        XCTAssertEqual(scores.perTrack["a"]![.bleu1]!, 0, accuracy: 1e-12)
        XCTAssertEqual(scores.perTrack["a"]![.cider], 0)
    }

    func testRetrievalRecallAndMedianRank() throws {
        let m = try RetrievalMetrics(ranks: [1, 2, 6, 11, 1, 30])
        XCTAssertEqual(m.recallAt1, 2.0 / 6)
        XCTAssertEqual(m.recallAt5, 3.0 / 6)
        XCTAssertEqual(m.recallAt10, 4.0 / 6)
        XCTAssertEqual(m.medianRank, 4)  // (2 + 6) / 2
        XCTAssertEqual(try RetrievalMetrics(ranks: [3, 1, 2]).medianRank, 2)
        XCTAssertThrowsError(try RetrievalMetrics(ranks: [])) { XCTAssertEqual($0 as? RetrievalMetrics.Failure, .noQueries) }
        XCTAssertThrowsError(try RetrievalMetrics(ranks: [1, 0])) {
            XCTAssertEqual($0 as? RetrievalMetrics.Failure, .invalidRank(query: 1, rank: 0))
        }
    }

    func testRanksFromASimilarityMatrix() throws {
        let similarity: [[Double]] = [
            [0.9, 0.1, 0.3],   // correct item first
            [0.5, 0.2, 0.7],   // two items above -> rank 3
            [0.4, 0.8, 0.4],   // tie with item 0 (earlier index wins) and item 1 above -> rank 3
        ]
        XCTAssertEqual(try RetrievalMetrics.ranks(similarity: similarity), [1, 3, 3])
        XCTAssertThrowsError(try RetrievalMetrics.ranks(similarity: [[1, 2], [3]]))
        XCTAssertThrowsError(try RetrievalMetrics.ranks(similarity: [[.nan]]))
    }
}
