import Foundation

/// Word ↔ id mapping built from the training captions, as the reference's `Vocabulary`
/// (`muscaps/utils/vocab.py`): `<pad> <unk> <sos> <eos>` first (ids 0–3), then every token seen at
/// least `minCount` times, in order of first appearance.
public struct Vocabulary: Sendable, Equatable, Codable {
    public static let pad = "<pad>", unknown = "<unk>", start = "<sos>", end = "<eos>"
    public static let padIndex = 0, unknownIndex = 1, startIndex = 2, endIndex = 3

    public let words: [String]
    private let indices: [String: Int]

    public var count: Int { words.count }

    public init(words: [String]) throws {
        guard words.count >= 4, Array(words.prefix(4)) == [Self.pad, Self.unknown, Self.start, Self.end] else {
            throw VocabularyError.malformed("a vocabulary must start with <pad> <unk> <sos> <eos>")
        }
        var indices: [String: Int] = [:]
        for (index, word) in words.enumerated() {
            guard indices[word] == nil else { throw VocabularyError.malformed("word '\(word)' appears twice") }
            indices[word] = index
        }
        self.words = words
        self.indices = indices
    }

    /// Builds the vocabulary from tokenised training captions.
    public init(captions: [[String]], minCount: Int = 2) {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for caption in captions {
            for token in caption {
                if counts[token] == nil { order.append(token) }
                counts[token, default: 0] += 1
            }
        }
        let specials = [Self.pad, Self.unknown, Self.start, Self.end]
        let kept = order.filter { counts[$0]! >= minCount && !specials.contains($0) }
        // Cannot fail: the specials lead and the kept tokens are unique.
        self = try! Vocabulary(words: specials + kept)
    }

    public func index(of word: String) -> Int { indices[word] ?? Self.unknownIndex }
    public func word(at index: Int) -> String { words.indices.contains(index) ? words[index] : Self.unknown }

    /// `<sos>` + tokens + `<eos>` as ids.
    public func encode(_ tokens: [String]) -> [Int] {
        [Self.startIndex] + tokens.map(index(of:)) + [Self.endIndex]
    }

    /// Ids to words, stopping at `<eos>` and leaving out `<sos>` and `<pad>`.
    public func decode(_ ids: [Int]) -> [String] {
        var words: [String] = []
        for id in ids {
            if id == Self.endIndex { break }
            if id == Self.startIndex || id == Self.padIndex { continue }
            words.append(word(at: id))
        }
        return words
    }

    // Codable as the word list alone.
    public init(from decoder: Decoder) throws { try self.init(words: try decoder.singleValueContainer().decode([String].self)) }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(words)
    }

    public static func == (lhs: Vocabulary, rhs: Vocabulary) -> Bool { lhs.words == rhs.words }
}

public enum VocabularyError: Error, CustomStringConvertible {
    case malformed(String)
    public var description: String {
        switch self { case let .malformed(reason): return "vocabulary: \(reason)" }
    }
}
