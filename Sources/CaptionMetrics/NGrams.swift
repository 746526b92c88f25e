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

/// An n-gram of word ids (n = 1…4).
struct NGram: Hashable {
    let words: [Int]
    var order: Int { words.count }
}

/// Counts of every 1…`maxOrder`-gram of a sentence (pycocoevalcap's `precook`).
func ngramCounts(_ words: [Int], maxOrder: Int = 4) -> [NGram: Int] {
    var counts: [NGram: Int] = [:]
    for n in 1...maxOrder where words.count >= n {
        for i in 0...(words.count - n) {
            counts[NGram(words: Array(words[i..<(i + n)])), default: 0] += 1
        }
    }
    return counts
}
