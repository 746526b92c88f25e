import Foundation

/// BLEU-1…4 exactly as pycocoevalcap 1.2 computes it (bleu/bleu_scorer.py, option "closest"):
///
///   per case: guess_k = max(0, L−k+1); correct_k = Σ_g min(count_cand(g), max_ref count_ref(g));
///             r = the reference length closest to L (ties go to the shorter reference);
///   Bleu_n = Π_{k≤n} ((correct_k + 1e-15) / (guess_k + 1e-9))^(1/n) · BP,
///   BP = exp(1 − 1/ratio) when ratio = (L + 1e-15)/(r + 1e-9) < 1, else 1.
///
/// The corpus score applies the same formula to the SUMS of correct_k, guess_k, L and r over all cases (it is
/// not the mean of the per-case scores). The 1e-15/1e-9 constants are part of the reference: a two-word
/// candidate like "soft piano" gets Bleu_3 ≈ 0.006 from them, not 0.
public enum BLEU {
    public static let maxOrder = 4
    static let tiny = 1e-15
    static let small = 1e-9

    /// Sufficient statistics of one case.
    struct Stats {
        var testLength = 0
        var referenceLength = 0
        var guess = [Int](repeating: 0, count: BLEU.maxOrder)
        var correct = [Int](repeating: 0, count: BLEU.maxOrder)
    }

    /// Scores tokenized captions (words split on whitespace, as Python's `str.split()`).
    /// - Returns: corpus Bleu_1…4 and, per case, Bleu_1…4.
    public static func score(candidates: [String], references: [[String]]) -> (corpus: [Double], perCase: [[Double]]) {
        precondition(candidates.count == references.count)
        var vocabulary = Vocabulary()
        var total = Stats()
        var perCase: [[Double]] = []
        for (candidate, refs) in zip(candidates, references) {
            let stats = caseStats(candidate: vocabulary.ids(PythonText.splitWhitespace(candidate)),
                                  references: refs.map { vocabulary.ids(PythonText.splitWhitespace($0)) })
            total.testLength += stats.testLength
            total.referenceLength += stats.referenceLength
            for k in 0..<maxOrder {
                total.guess[k] += stats.guess[k]
                total.correct[k] += stats.correct[k]
            }
            perCase.append(bleu(stats))
        }
        return (bleu(total), perCase)
    }

    static func caseStats(candidate: [Int], references: [[Int]]) -> Stats {
        var maxRefCounts: [NGram: Int] = [:]
        for ref in references {
            for (gram, count) in ngramCounts(ref, maxOrder: maxOrder) {
                maxRefCounts[gram] = max(maxRefCounts[gram] ?? 0, count)
            }
        }
        var stats = Stats()
        let length = candidate.count
        stats.testLength = length
        // Closest reference length; a tie goes to the shorter one: min over (|len_r − L|, len_r).
        stats.referenceLength = references.map(\.count).min { a, b in
            (abs(a - length), a) < (abs(b - length), b)
        } ?? 0
        for k in 0..<maxOrder { stats.guess[k] = max(0, length - k) }
        for (gram, count) in ngramCounts(candidate, maxOrder: maxOrder) {
            stats.correct[gram.order - 1] += min(maxRefCounts[gram] ?? 0, count)
        }
        return stats
    }

    static func bleu(_ stats: Stats) -> [Double] {
        var scores: [Double] = []
        var product = 1.0
        for k in 0..<maxOrder {
            product *= (Double(stats.correct[k]) + tiny) / (Double(stats.guess[k]) + small)
            scores.append(pow(product, 1.0 / Double(k + 1)))
        }
        let ratio = (Double(stats.testLength) + tiny) / (Double(stats.referenceLength) + small)
        if ratio < 1 {
            let brevity = exp(1 - 1 / ratio)
            scores = scores.map { $0 * brevity }
        }
        return scores
    }
}
