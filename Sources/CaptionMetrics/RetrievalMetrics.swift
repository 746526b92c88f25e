/// Text-to-music (or music-to-text) retrieval quality from the rank of each query's correct item:
/// recall at 1, 5 and 10 (the fraction of queries whose correct item is within the top k) and the median
/// rank. Ranks are 1-based (1 = the correct item came first).
public struct RetrievalMetrics: Sendable, Equatable {
    public let recallAt1: Double
    public let recallAt5: Double
    public let recallAt10: Double
    public let medianRank: Double
    public let queries: Int

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noQueries
        case invalidRank(query: Int, rank: Int)
        case notSquare(rows: Int, row: Int, columns: Int)
        case notFinite(query: Int)

        public var description: String {
            switch self {
            case .noQueries: return "no queries to evaluate"
            case let .invalidRank(query, rank): return "query \(query): rank \(rank) is not a 1-based rank"
            case let .notSquare(rows, row, columns):
                return "similarity matrix must be square: \(rows) rows but row \(row) has \(columns) columns"
            case let .notFinite(query): return "query \(query): similarity row has NaN or infinite values"
            }
        }
    }

    public init(ranks: [Int]) throws {
        guard !ranks.isEmpty else { throw Failure.noQueries }
        if let bad = ranks.firstIndex(where: { $0 < 1 }) { throw Failure.invalidRank(query: bad, rank: ranks[bad]) }
        let n = Double(ranks.count)
        recallAt1 = Double(ranks.filter { $0 <= 1 }.count) / n
        recallAt5 = Double(ranks.filter { $0 <= 5 }.count) / n
        recallAt10 = Double(ranks.filter { $0 <= 10 }.count) / n
        let sorted = ranks.sorted()
        medianRank = sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2])
            : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        queries = ranks.count
    }

    /// The rank of the correct item for each query of a square similarity matrix whose correct items are on
    /// the diagonal (query i ↔ item i). Higher is more similar; ties are broken by item index, as a stable
    /// descending sort would order them.
    public static func ranks(similarity: [[Double]]) throws -> [Int] {
        guard !similarity.isEmpty else { throw Failure.noQueries }
        return try similarity.enumerated().map { i, row in
            guard row.count == similarity.count else {
                throw Failure.notSquare(rows: similarity.count, row: i, columns: row.count)
            }
            guard row.allSatisfy(\.isFinite) else { throw Failure.notFinite(query: i) }
            let correct = row[i]
            var rank = 1
            for (j, value) in row.enumerated() where value > correct || (value == correct && j < i) { rank += 1 }
            return rank
        }
    }
}
