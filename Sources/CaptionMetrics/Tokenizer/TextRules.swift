/// Java's `String.toLowerCase(Locale.ENGLISH)`, which the reference tokenizer applies to every token:
/// the Unicode lower-case mapping of each character (İ becomes i + U+0307), and Σ becomes final ς when a
/// cased letter precedes it in the same word and none follows it in that word. Java decides "word" with its
/// BreakIterator: letters, digits and "_" run together, a dash, apostrophe, quote or period joins only two
/// letters ("ΠΡΟ-Σ" ends in ς, "ΣΤΑΣ-ON" keeps σ, "1-Σ2" keeps σ), an ideograph is a word of its own;
/// "cased" is Java's own short list (ConditionalSpecialCasing). Checked on the fuzz lines of tokenizer.json.
enum JavaCase {
    static func lowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { $0.properties.changesWhenLowercased }) else { return text }
        var out = String.UnicodeScalarView()
        for (i, scalar) in scalars.enumerated() {
            if scalar == "\u{3A3}" {
                out.append(isFinalSigma(scalars, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    private static func isCased(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter: return true
        default: break
        }
        switch s.value {
        case 0x2B0...0x2B8, 0x2C0...0x2C1, 0x2E0...0x2E4, 0x345, 0x37A, 0x1D2C...0x1D61, 0x2160...0x217F,
             0x24B6...0x24E9:
            return true
        default:
            return false
        }
    }

    private static func isIgnorable(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return false
        }
    }

    /// Letters that continue a word (ideographs are words of their own), spacing marks, and "_".
    private static func isLetterLike(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return !s.properties.isIdeographic
        case .spacingMark, .connectorPunctuation:
            return true
        default: return false
        }
    }

    private static func isMidWord(_ s: Unicode.Scalar) -> Bool {
        s.properties.generalCategory == .dashPunctuation || [0xAD, 0x2027, 0x22, 0x27, 0x2E].contains(s.value)
    }

    /// Whether position `i` belongs to the same word as its neighbours (see the type's comment).
    private static func joins(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        if isLetterLike(s[i]) || isIgnorable(s[i]) || s[i].properties.generalCategory == .decimalNumber { return true }
        guard isMidWord(s[i]) else { return false }
        var before = i - 1
        while before >= 0, isIgnorable(s[before]) { before -= 1 }
        var after = i + 1
        while after < s.count, isIgnorable(s[after]) { after += 1 }
        return before >= 0 && after < s.count && isLetterLike(s[before]) && isLetterLike(s[after])
    }

    private static func isFinalSigma(_ s: [Unicode.Scalar], at index: Int) -> Bool {
        var before = false
        var i = index - 1
        while i >= 0, joins(s, i) {
            if isCased(s[i]) { before = true; break }
            i -= 1
        }
        guard before else { return false }
        var j = index + 1
        while j < s.count, joins(s, j) {
            if isCased(s[j]) { return false }
            j += 1
        }
        return true
    }
}

/// The bits of Python's string semantics that pycocoevalcap's scorers depend on.
enum PythonText {
    /// Python's `str.isspace()` characters: what `str.split()` (BLEU, CIDEr) splits on and `rstrip()` strips.
    static func isWhitespace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `s.split()`: runs of whitespace separate words, no empty words.
    static func splitWhitespace(_ s: String) -> [String] {
        var words: [String] = [], current = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if isWhitespace(scalar.value) {
                if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// `s.split(" ")`: exactly on U+0020, keeping empty pieces ("" gives [""]).
    /// (Scalar by scalar: Swift's own String.split works on grapheme clusters, and a space followed by a
    /// combining mark is one cluster.)
    static func splitSpace(_ s: String) -> [String] {
        var pieces: [String] = [], current = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if scalar == " " { pieces.append(String(current)); current = String.UnicodeScalarView() }
            else { current.append(scalar) }
        }
        pieces.append(String(current))
        return pieces
    }

    /// Python string identity: the exact code points (Swift's == treats canonically equivalent strings as
    /// equal, e.g. U+037E GREEK QUESTION MARK and ";").
    static func key(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    /// `s.rstrip()`.
    static func rstrip(_ s: String) -> String {
        var scalars = Array(s.unicodeScalars)
        while let last = scalars.last, isWhitespace(last.value) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
