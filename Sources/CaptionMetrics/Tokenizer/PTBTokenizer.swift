/// The caption tokenizer of pycocoevalcap 1.2, natively: Stanford's PTBTokenizer (CoreNLP 3.4.1, run as
/// `-preserveLines -lowerCase`), then pycocoevalcap's punctuation filter.
///
/// pycocoevalcap writes a batch of captions one per line (a newline inside a caption becomes a space) and
/// tokenizes the whole file in one pass, so a caption's last token can depend on the next line: "in the key
/// of a." keeps "a." unless the next caption starts with "A ", "The ", … (then it is "a" + "."). `tokenize`
/// takes a batch for that reason; pass captions in the order pycocoevalcap would see them (CaptionScorer uses
/// sorted track ids, references and candidates as two batches, as COCOEvalCap does).
///
/// One deliberate difference: characters the Java tokenizer treats as line breaks (CR, LS, PS, VT, FF) are
/// replaced by spaces first, as pycocoevalcap does only for "\n"; with the reference they would shift every
/// later caption onto the wrong line.
public struct PTBTokenizer: Sendable {
    /// Tokens pycocoevalcap removes after tokenization (exact matches only; brackets come out lower-cased as
    /// -lrb- etc. and are therefore kept).
    public static let removedPunctuation: Set<String> = [
        "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";",
    ]

    private static let removedKeys = Set(removedPunctuation.map(PythonText.key))

    public init() {}

    /// The tokenized captions, as pycocoevalcap hands them to the scorers: tokens joined by single spaces
    /// ("" when nothing is left).
    public func tokenize(_ captions: [String]) -> [String] {
        rawTokens(captions).map(PTBTokenizer.filterPunctuation)
    }

    /// One caption on its own (a batch of one).
    public func tokenize(_ caption: String) -> String { tokenize([caption])[0] }

    /// The Stanford tokenizer's own output per caption, lower-cased, before the punctuation filter.
    public func rawTokens(_ captions: [String]) -> [[String]] {
        var text: [UInt32] = []
        for (index, caption) in captions.enumerated() {
            if index > 0 { text.append(0x0A) }
            for scalar in caption.unicodeScalars {
                switch scalar.value {
                case 0x0A, 0x0D, 0x0B, 0x0C, 0x2028, 0x2029: text.append(0x20)
                default: text.append(scalar.value)
                }
            }
        }
        var lines = PTBLexer.shared.lex(text)
        // An empty batch is one empty line to the lexer; a batch of n captions is always n lines.
        while lines.count < captions.count { lines.append([]) }
        return Array(lines.prefix(captions.count)).map { $0.map(JavaCase.lowercased) }
    }

    /// pycocoevalcap: `' '.join(w for w in line.rstrip().split(' ') if w not in PUNCTUATIONS)`.
    static func filterPunctuation(_ tokens: [String]) -> String {
        let line = PythonText.rstrip(tokens.joined(separator: " "))
        return PythonText.splitSpace(line)
            .filter { !removedKeys.contains(PythonText.key($0)) }
            .joined(separator: " ")
    }
}

/// The longest-match scanner over the rules in `PTBLexerRules`.
final class PTBLexer: Sendable {
    static let shared = PTBLexer()

    private let rules = PTBLexerRules.rules
    private let main: LexMatcher
    private let lookaheads: [LexMatcher?]

    private init() {
        main = LexMatcher(rules.map(\.pattern))
        lookaheads = rules.map { $0.lookahead.map { LexMatcher([$0]) } }
    }

    /// Tokens per line (newline tokens separate lines, as `-preserveLines` prints them).
    func lex(_ text: [UInt32]) -> [[String]] {
        var lines: [[String]] = [[]]
        let mainCache = main.makeCache()
        var lookaheadCaches = [LexMatcher.DFA?](repeating: nil, count: rules.count)
        var ends = Array(repeating: [Int](), count: rules.count)
        var touched: [Int] = []  // rules with a match at this position, in rule order
        var pos = 0
        while pos < text.count {
            for k in touched { ends[k].removeAll(keepingCapacity: true) }
            touched.removeAll(keepingCapacity: true)
            main.run(text, from: pos, cache: mainCache) { tag, end in
                if ends[tag].isEmpty { touched.append(tag) }
                ends[tag].append(end)
            }
            touched.sort()
            // Longest total match (pattern + lookahead) wins; the earlier rule wins a tie.
            var best = -1, bestTotal = 0, bestEnd = 0
            for k in touched {
                if let look = lookaheads[k] {
                    let cache = lookaheadCaches[k] ?? look.makeCache()
                    lookaheadCaches[k] = cache
                    // Trailing context: the longest pattern+lookahead; among equals, the longest pattern.
                    for end in ends[k].reversed() {
                        guard let after = look.longestEnd(text, from: end, cache: cache) else { continue }
                        if after - pos > bestTotal { best = k; bestTotal = after - pos; bestEnd = end }
                    }
                } else if let end = ends[k].last, end - pos > bestTotal {
                    best = k; bestTotal = end - pos; bestEnd = end
                }
            }
            guard best >= 0 else {
                pos += 1  // untokenizable (emoji, controls): deleted, as the reference does by default
                continue
            }
            let matched = Array(text[pos..<bestEnd])
            switch rules[best].action {
            case let .token(transform):
                lines[lines.count - 1].append(PTBLexer.apply(transform, to: matched))
                pos = bestEnd
            case let .keepHead(dropped):
                lines[lines.count - 1].append(PTBLexer.string(matched.dropLast(dropped)))
                pos = bestEnd - dropped
            case .acronymAtSentenceEnd:
                if matched.count == 2 {
                    lines[lines.count - 1].append(PTBLexer.string(matched.prefix(1)))
                } else {
                    lines[lines.count - 1].append(PTBLexer.string(matched))
                }
                pos = bestEnd - 1
            case .abbreviationAtSentenceEnd:
                lines[lines.count - 1].append(PTBLexer.string(matched))
                pos = bestEnd - 1
            case .skip:
                pos = bestEnd
            case .newline:
                lines.append([])
                pos = bestEnd
            }
        }
        return lines
    }

    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == UInt32 {
        var s = String.UnicodeScalarView()
        for v in scalars { s.append(Unicode.Scalar(v)!) }
        return String(s)
    }

    static func apply(_ transform: PTBLexerRules.Transform, to matched: [UInt32]) -> String {
        let text = string(matched)
        switch transform {
        case .none:
            return text
        case .removeSoftHyphens:
            let kept = matched.filter { $0 != 0xAD }
            return kept.isEmpty ? "-" : string(kept)
        case .spacesToNoBreak:
            return string(matched.map { $0 == 0x20 ? 0xA0 : $0 })
        case .phone:
            return string(matched.map { $0 == 0x20 ? 0xA0 : $0 })
                .replacingAll("(", with: "-LRB-").replacingAll(")", with: "-RRB-")
        case .parentheses:
            return text.replacingAll("(", with: "-LRB-").replacingAll(")", with: "-RRB-")
        case let .quotes(opening):
            var s = opening
                ? text.replacingAll("&apos;", with: "`").replacingAll("'", with: "`")
                    .replacingAll("\"", with: "``").replacingAll("&quot;", with: "``")
                : text.replacingAll("&apos;", with: "'")
                    .replacingAll("\"", with: "''").replacingAll("&quot;", with: "''")
            s = string(s.unicodeScalars.map(\.value).flatMap { v -> [UInt32] in
                switch v {
                case 0x91, 0x2018, 0x201B, 0x2039: return [0x60]
                case 0x92, 0x2019, 0x203A: return [0x27]
                case 0x93, 0x201C, 0xAB: return [0x60, 0x60]
                case 0x94, 0x201D, 0xBB: return [0x27, 0x27]
                default: return [v]
                }
            })
            return s
        case .ampersand:
            return text.replacingCaseInsensitive("&amp;", with: "&")
        case .fraction:
            return text.replacingAll("\u{BC}", with: "1/4").replacingAll("\u{BD}", with: "1/2")
                .replacingAll("\u{BE}", with: "3/4").replacingAll("\u{2153}", with: "1/3")
                .replacingAll("\u{2154}", with: "2/3")
        case .currency:
            return string(matched.flatMap { v -> [UInt32] in
                switch v {
                case 0xA2: return Array("cents".unicodeScalars.map(\.value))
                case 0xA3: return [0x23]
                case 0x80, 0xA4, 0x20A0, 0x20AC: return [0x24]
                default: return [v]
                }
            })
        case .dashes:
            return (3...4).contains(matched.count) ? "--" : text
        case let .replace(replacement):
            return replacement
        }
    }
}

extension String {
    /// Literal, scalar-exact replacement (Foundation's version compares canonically equivalent text).
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.unicodeScalars), s = Array(unicodeScalars)
        guard !t.isEmpty, s.count >= t.count else { return self }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if i + t.count <= s.count, Array(s[i..<(i + t.count)]) == t {
                out.append(contentsOf: replacement.unicodeScalars)
                i += t.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }

    /// ASCII-case-insensitive literal replacement.
    func replacingCaseInsensitive(_ target: String, with replacement: String) -> String {
        let t = Array(target.lowercased().unicodeScalars), s = Array(unicodeScalars)
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            (c.value >= 0x41 && c.value <= 0x5A) ? Unicode.Scalar(c.value + 0x20)! : c
        }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if i + t.count <= s.count, (0..<t.count).allSatisfy({ lower(s[i + $0]) == t[$0] }) {
                out.append(contentsOf: replacement.unicodeScalars)
                i += t.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }
}
