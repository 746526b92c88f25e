import Foundation
import XCTest

/// The fixtures written by Tools/metrics/make_golden.py from pycocoevalcap 1.2 (see Tools/README.md).
struct Golden: Decodable {
    struct Tokenized: Decodable {
        let candidate: String
        let references: [String]
    }
    struct Case: Decodable {
        let id: String
        let candidate: String
        let references: [String]
        let tokenized: Tokenized
        let ptb: Tokenized
        let scores: [String: Double]
    }
    struct SubsetCase: Decodable {
        let id: String
        let scores: [String: Double]
    }
    struct Subset: Decodable {
        let ids: [String]
        let corpus: [String: Double]
        let cases: [SubsetCase]
    }
    let corpus: [String: Double]
    let cases: [Case]
    let subsets: [Subset]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: directory.appendingPathComponent("golden.json")))
    }
}

/// Extra tokenizer lines (hand-picked traps and seeded fuzz) through the real Stanford PTBTokenizer.
struct TokenizerFixture: Decodable {
    struct Line: Decodable {
        let text: String
        let ptb: String
        let tokenized: String
    }
    /// Every BMP character from `first` to `last` but `excluded`, as "a?b" and as "?" alone: the ranges
    /// where the jar made "a?b" ONE token, and where it kept "?" (did not delete it as untokenizable).
    struct BMPProbe: Decodable {
        let first: UInt32
        let last: UInt32
        let excluded: [UInt32]
        let in_word: [[UInt32]]
        let kept_alone: [[UInt32]]
    }
    let lines: [Line]
    let bmp: BMPProbe

    static func load() throws -> TokenizerFixture {
        try JSONDecoder().decode(TokenizerFixture.self,
                                 from: Data(contentsOf: Golden.directory.appendingPathComponent("tokenizer.json")))
    }
}

/// Exact code points, for messages and comparisons (Swift's == merges canonically equivalent strings).
func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

func debugText(_ s: String) -> String {
    s.unicodeScalars.map { $0.value < 0x20 || ($0.value >= 0x7F && $0.value <= 0xA0) || $0.value > 0x2000
        ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
}
