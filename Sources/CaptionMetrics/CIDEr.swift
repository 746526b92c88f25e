import Foundation

/// CIDEr-D as pycocoevalcap 1.2 computes it (cider/cider_scorer.py, "CIDEr" there; Vedantam et al. 2015
/// with the clipping and length penalty of CIDEr-D), n = 4, σ = 6:
///
///   df(g) = number of cases whose REFERENCES contain g (candidates never count), N = number of cases;
///   w(g)  = tf(g) · (ln N − ln max(1, df(g))), one vector per n-gram order, |·| its Euclidean norm;
///   per reference: val_n = Σ_{g in candidate} min(w_c(g), w_r(g)) · w_r(g) / (|c|_n·|r|_n)
///                  (no division when a norm is 0) · exp(−(ℓ_c − ℓ_r)² / (2σ²)),
///   case score = 10 · mean_n(Σ_refs val_n) / #refs;  corpus score = mean of the case scores.
///
/// ℓ is the number of bigrams (words − 1) as in the reference code; the same differences as word counts
/// whenever both sides have a word. Because idf comes from the corpus, a case's score is only meaningful
/// inside the corpus it was computed with: a corpus of one case has ln N = 0 and scores 0.
public enum CIDEr {
    public static let maxOrder = 4
    public static let sigma = 6.0

    public static func score(candidates: [String], references: [[String]]) -> (corpus: Double, perCase: [Double]) {
        precondition(candidates.count == references.count && !candidates.isEmpty)
        var vocabulary = Vocabulary()
        let candidateCounts = candidates.map { ngramCounts(vocabulary.ids(PythonText.splitWhitespace($0)), maxOrder: maxOrder) }
        let referenceCounts = references.map { refs in
            refs.map { ngramCounts(vocabulary.ids(PythonText.splitWhitespace($0)), maxOrder: maxOrder) }
        }
        var documentFrequency: [NGram: Int] = [:]
        for refs in referenceCounts {
            var seen = Set<NGram>()
            for counts in refs { seen.formUnion(counts.keys) }
            for gram in seen { documentFrequency[gram, default: 0] += 1 }
        }
        let logN = log(Double(candidates.count))

        func vector(_ counts: [NGram: Int]) -> (weights: [[NGram: Double]], norms: [Double], length: Int) {
            var weights = [[NGram: Double]](repeating: [:], count: maxOrder)
            var norms = [Double](repeating: 0, count: maxOrder)
            var bigrams = 0
            for (gram, tf) in counts {
                let df = log(max(1.0, Double(documentFrequency[gram] ?? 0)))
                let w = Double(tf) * (logN - df)
                weights[gram.order - 1][gram] = w
                norms[gram.order - 1] += w * w
                if gram.order == 2 { bigrams += tf }
            }
            return (weights, norms.map { $0.squareRoot() }, bigrams)
        }

        var perCase: [Double] = []
        for (candidate, refs) in zip(candidateCounts, referenceCounts) {
            let c = vector(candidate)
            var sums = [Double](repeating: 0, count: maxOrder)
            for ref in refs {
                let r = vector(ref)
                let delta = Double(c.length - r.length)
                let penalty = exp(-(delta * delta) / (2 * sigma * sigma))
                for n in 0..<maxOrder {
                    var value = 0.0
                    for (gram, wc) in c.weights[n] {
                        let wr = r.weights[n][gram] ?? 0
                        value += min(wc, wr) * wr
                    }
                    if c.norms[n] != 0 && r.norms[n] != 0 { value /= c.norms[n] * r.norms[n] }
                    sums[n] += value * penalty
                }
            }
            perCase.append(10 * (sums.reduce(0, +) / Double(maxOrder)) / Double(refs.count))
        }
        return (perCase.reduce(0, +) / Double(perCase.count), perCase)
    }
}
