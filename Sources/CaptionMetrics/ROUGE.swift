/// ROUGE-L as pycocoevalcap 1.2 computes it (rouge/rouge.py; Lin 2004 with β = 1.2):
///
///   P = max over references of LCS/|candidate|,  R = max over references of LCS/|reference|
///   (maximised independently), score = (1+β²)·P·R / (R + β²·P), 0 when P or R is 0.
///
/// Words come from `s.split(" ")`, so an empty caption is ONE empty word: an empty candidate against an
/// empty reference scores 1, as in the reference. The corpus score is the mean over cases.
public enum ROUGE {
    public static let beta = 1.2

    public static func score(candidates: [String], references: [[String]]) -> (corpus: Double, perCase: [Double]) {
        precondition(candidates.count == references.count && !candidates.isEmpty)
        var vocabulary = Vocabulary()
        let perCase = zip(candidates, references).map { candidate, refs in
            caseScore(candidate: vocabulary.ids(PythonText.splitSpace(candidate)),
                      references: refs.map { vocabulary.ids(PythonText.splitSpace($0)) })
        }
        return (perCase.reduce(0, +) / Double(perCase.count), perCase)
    }

    static func caseScore(candidate: [Int], references: [[Int]]) -> Double {
        var precision = 0.0, recall = 0.0
        for ref in references {
            let lcs = Double(longestCommonSubsequence(ref, candidate))
            precision = max(precision, lcs / Double(candidate.count))
            recall = max(recall, lcs / Double(ref.count))
        }
        guard precision != 0, recall != 0 else { return 0 }
        let b2 = beta * beta
        return ((1 + b2) * precision * recall) / (recall + b2 * precision)
    }

    /// Length of the longest common subsequence (dynamic programming, one row at a time).
    static func longestCommonSubsequence(_ a: [Int], _ b: [Int]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1)
        var current = previous
        for x in a {
            for j in 1...b.count {
                current[j] = x == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
