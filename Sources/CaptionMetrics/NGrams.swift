/// Words as integer ids, compared by exact code points as Python compares strings (Swift's String equality
/// would merge canonically equivalent spellings such as "café" and "cafe\u{301}").
struct Vocabulary {
    private var ids: [[UInt32]: Int] = [:]

    mutating func id(_ word: String) -> Int {
        let key = PythonText.key(word)
        if let id = ids[key] { return id }
        let id = ids.count
        ids[key] = id
        return id
    }

    mutating func ids(_ words: [String]) -> [Int] { words.map { id($0) } }
}

/// An n-gram of word ids (n = 1…4), stored inline (no allocation per n-gram).
struct NGram: Hashable {
    private let w0: Int32, w1: Int32, w2: Int32, w3: Int32
    let order: Int

    init(_ words: ArraySlice<Int>) {
        precondition((1...4).contains(words.count))
        let base = words.startIndex
        order = words.count
        w0 = Int32(words[base])
        w1 = order > 1 ? Int32(words[base + 1]) : -1
        w2 = order > 2 ? Int32(words[base + 2]) : -1
        w3 = order > 3 ? Int32(words[base + 3]) : -1
    }
}

/// Counts of every 1…`maxOrder`-gram of a sentence (pycocoevalcap's `precook`).
func ngramCounts(_ words: [Int], maxOrder: Int = 4) -> [NGram: Int] {
    var counts: [NGram: Int] = [:]
    counts.reserveCapacity(words.count * maxOrder)
    for n in 1...maxOrder where words.count >= n {
        for i in 0...(words.count - n) {
            counts[NGram(words[i..<(i + n)]), default: 0] += 1
        }
    }
    return counts
}
