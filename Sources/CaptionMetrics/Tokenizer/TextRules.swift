/// Java's `String.toLowerCase(Locale.ENGLISH)`, which the reference tokenizer applies to every token:
/// the Unicode lower-case mapping of each character (İ becomes i + U+0307), with Σ becoming final ς at the
/// end of a word (Unicode's Final_Sigma condition).
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

    /// Preceded by a cased letter and not followed by one (case-ignorable characters skipped both ways).
    private static func isFinalSigma(_ s: [Unicode.Scalar], at index: Int) -> Bool {
        var before = false
        var i = index - 1
        while i >= 0 {
            if s[i].properties.isCaseIgnorable { i -= 1; continue }
            before = s[i].properties.isCased
            break
        }
        guard before else { return false }
        var j = index + 1
        while j < s.count {
            if s[j].properties.isCaseIgnorable { j += 1; continue }
            return !s[j].properties.isCased
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
