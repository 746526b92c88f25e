@testable import CaptionMetrics
import Foundation
import XCTest

/// BLEU-1…4, ROUGE-L and CIDEr-D against pycocoevalcap 1.2 on the golden set: corpus and every case, 1e-4.
final class MetricParityTests: XCTestCase {
    static let tolerance = 1e-4
    static let native: [CaptionMetric] = [.bleu1, .bleu2, .bleu3, .bleu4, .rougeL, .cider]

    /// The metrics alone, on pycocoevalcap's own tokenized text (isolates them from the tokenizer).
    func testNativeMetricsOnReferenceTokenizedText() throws {
        let golden = try Golden.load()
        let cands = golden.cases.map(\.tokenized.candidate)
        let refs = golden.cases.map(\.tokenized.references)
        let got = nativeScores(candidates: cands, references: refs)
        assertMatches(got, corpus: golden.corpus, cases: golden.cases.map { ($0.id, $0.scores) }, label: "golden")
    }

    /// Raw captions through CaptionScorer (tokenizer + metrics), as `muscaps score` runs them.
    func testCaptionScorerOnRawCaptionsMatchesPycocoevalcap() throws {
        let golden = try Golden.load()
        var options = CaptionScorer.Options()
        options.meteor = false
        options.spice = false
        let scores = try CaptionScorer(options: options).score(
            candidates: Dictionary(uniqueKeysWithValues: golden.cases.map { ($0.id, $0.candidate) }),
            references: Dictionary(uniqueKeysWithValues: golden.cases.map { ($0.id, $0.references) }))
        XCTAssertEqual(scores.trackIDs, golden.cases.map(\.id))
        let perCase = scores.trackIDs.map { scores.perTrack[$0]! }
        assertMatches((scores.corpus, perCase), corpus: golden.corpus, cases: golden.cases.map { ($0.id, $0.scores) },
                      label: "scorer")
        for c in golden.cases {
            XCTAssertEqual(scalars(scores.tokenizedCandidates[c.id]!), scalars(c.tokenized.candidate), c.id)
            XCTAssertEqual(scores.tokenizedReferences[c.id]!.map(scalars), c.tokenized.references.map(scalars), c.id)
        }
    }

    /// Smaller corpora (3 cases, 1 case): CIDEr-D's idf changes with N; with one case it is 0.
    func testSubCorporaMatchPycocoevalcap() throws {
        let golden = try Golden.load()
        let byID = Dictionary(uniqueKeysWithValues: golden.cases.map { ($0.id, $0) })
        var options = CaptionScorer.Options()
        options.meteor = false
        options.spice = false
        for subset in golden.subsets {
            let scores = try CaptionScorer(options: options).score(
                candidates: Dictionary(uniqueKeysWithValues: subset.ids.map { ($0, byID[$0]!.candidate) }),
                references: Dictionary(uniqueKeysWithValues: subset.ids.map { ($0, byID[$0]!.references) }))
            assertMatches((scores.corpus, scores.trackIDs.map { scores.perTrack[$0]! }), corpus: subset.corpus,
                          cases: subset.cases.map { ($0.id, $0.scores) }, label: "subset \(subset.ids)")
            if subset.ids.count == 1 { XCTAssertEqual(scores.corpus[.cider], 0) }
        }
    }

    /// The BLEU smoothing constants: "soft piano" against "soft piano music" has no trigram to guess, so
    /// p3 = 1e-15/1e-9 = 1e-6 and Bleu_3 = (1·1·1e-6)^(1/3)·exp(1 − 3/2) ≈ 0.006065, not 0.
    func testBleuConstantsOnAVeryShortCandidate() {
        let result = BLEU.score(candidates: ["soft piano"], references: [["soft piano music"]])
        let brevity = exp(1 - 3.0 / 2.0)
        XCTAssertEqual(result.perCase[0][0], 1 * brevity, accuracy: 1e-9)
        XCTAssertEqual(result.perCase[0][1], 1 * brevity, accuracy: 1e-9)
        XCTAssertEqual(result.perCase[0][2], pow(1e-6, 1.0 / 3) * brevity, accuracy: 1e-9)
        XCTAssertEqual(result.perCase[0][2], 0.006065, accuracy: 1e-6)
        XCTAssertEqual(result.perCase[0][3], pow(1e-6 * 1e-6, 1.0 / 4) * brevity, accuracy: 1e-9)
        // "closest" reference length, ties to the shorter one: 3 and 5 words around a 4-word candidate -> 3.
        XCTAssertEqual(BLEU.caseStats(candidate: [1, 2, 3, 4], references: [[1, 2, 3, 4, 5], [1, 2, 3]]).referenceLength, 3)
    }

    /// ROUGE-L splits on " ": an empty candidate is one empty word, so against an empty reference it scores 1.
    func testRougeOnEmptyCaptionsFollowsTheReference() {
        XCTAssertEqual(ROUGE.score(candidates: [""], references: [["", "a b"]]).corpus, 1)
        XCTAssertEqual(ROUGE.score(candidates: [""], references: [["a b"]]).corpus, 0)
    }

    // MARK: helpers

    func nativeScores(candidates: [String], references: [[String]]) -> ([CaptionMetric: Double], [[CaptionMetric: Double]]) {
        var corpus: [CaptionMetric: Double] = [:]
        var cases = [[CaptionMetric: Double]](repeating: [:], count: candidates.count)
        let bleu = BLEU.score(candidates: candidates, references: references)
        for (n, m) in [CaptionMetric.bleu1, .bleu2, .bleu3, .bleu4].enumerated() {
            corpus[m] = bleu.corpus[n]
            for i in cases.indices { cases[i][m] = bleu.perCase[i][n] }
        }
        let rouge = ROUGE.score(candidates: candidates, references: references)
        corpus[.rougeL] = rouge.corpus
        let cider = CIDEr.score(candidates: candidates, references: references)
        corpus[.cider] = cider.corpus
        for i in cases.indices {
            cases[i][.rougeL] = rouge.perCase[i]
            cases[i][.cider] = cider.perCase[i]
        }
        return (corpus, cases)
    }

    func assertMatches(_ got: ([CaptionMetric: Double], [[CaptionMetric: Double]]), corpus: [String: Double],
                       cases: [(String, [String: Double])], label: String,
                       metrics: [CaptionMetric] = MetricParityTests.native, file: StaticString = #filePath, line: UInt = #line) {
        var worst: [CaptionMetric: Double] = [:]
        for m in metrics {
            let want = corpus[m.rawValue]!, have = got.0[m] ?? .nan
            XCTAssertEqual(have, want, accuracy: Self.tolerance, "\(label) corpus \(m.rawValue)", file: file, line: line)
            worst[m] = abs(have - want)
            XCTAssertEqual(got.1.count, cases.count, file: file, line: line)
            for (i, (id, scores)) in cases.enumerated() where i < got.1.count {
                let want = scores[m.rawValue]!, have = got.1[i][m] ?? .nan
                XCTAssertEqual(have, want, accuracy: Self.tolerance, "\(label) \(id) \(m.rawValue)", file: file, line: line)
                worst[m] = max(worst[m]!, abs(have - want))
            }
        }
        print("\(label): max |deviation| " + metrics.map { "\($0.rawValue) \(String(format: "%.1e", worst[$0]!))" }.joined(separator: ", "))
    }
}
