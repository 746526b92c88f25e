/// A small regular-expression engine for the tokenizer: patterns over Unicode scalars, compiled to a
/// Thompson NFA and run for the LONGEST match at a position (a lexer's rule, not a search's first match).
///
/// Syntax (a subset of the usual one; written in Swift raw strings):
/// - literals match case-insensitively (the lexer we reproduce is generated caseless);
///   character classes `[...]` do not (so `[A]bout` needs a capital A, as in the original);
/// - `[a-z\-]`, `[^...]`, `[^]` (any scalar), escapes `\t \n \r \f \\ \. \u{XXXX}`;
/// - named classes, inside or outside brackets: `\p{L}` letter, `\p{Nd}` digit, `\p{Lu}` upper case —
///   with the character tables of Unicode 6.x (see `ScalarClass.isLetter`);
/// - groups `( )`, alternation `|`, quantifiers `* + ? {n} {n,m}`.
indirect enum LexPattern: Sendable {
    case scalar(ScalarClass)
    case sequence([LexPattern])
    case choice([LexPattern])
    case repeated(LexPattern, min: Int, max: Int?)  // max nil: unbounded

    /// Parses `source`; a malformed pattern is a programming error in the rule table.
    init(_ source: String) {
        var parser = PatternParser(Array(source.unicodeScalars))
        self = parser.parseAll()
    }
}

/// A set of scalars: explicit ranges plus Unicode general-category tests, possibly negated.
struct ScalarClass: Sendable, Hashable {
    var ranges: [ClosedRange<UInt32>] = []
    var letters = false
    var digits = false
    var uppercase = false
    var negated = false

    static let any = ScalarClass(negated: true)

    init(ranges: [ClosedRange<UInt32>] = [], negated: Bool = false) {
        self.ranges = ranges
        self.negated = negated
    }

    /// One literal scalar, matching its simple lower- and upper-case forms too (caseless literals).
    static func caseless(_ scalar: Unicode.Scalar) -> ScalarClass {
        var values: Set<UInt32> = [scalar.value]
        for mapped in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping] {
            let scalars = Array(mapped.unicodeScalars)
            if scalars.count == 1 { values.insert(scalars[0].value) }
        }
        return ScalarClass(ranges: values.sorted().map { $0...$0 })
    }

    /// Sorts and merges the explicit ranges (for the binary search in `contains`).
    func normalized() -> ScalarClass {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        var copy = self
        copy.ranges = merged
        return copy
    }

    /// The category tests of one character, computed once per character rather than once per class.
    struct Categories {
        let letter: Bool, digit: Bool, uppercase: Bool

        init(_ value: UInt32) {
            if value <= 0xFFFF, let scalar = Unicode.Scalar(value) {
                letter = ScalarClass.isLetter(scalar)
                digit = ScalarClass.isDigit(scalar)
                uppercase = ScalarClass.isUppercase(scalar)
            } else {
                letter = false; digit = false; uppercase = false
            }
        }
    }

    /// Membership; `ranges` must be normalized. The reference lexer works on UTF-16 code units: a scalar
    /// beyond the BMP (emoji, math letters) is two surrogates that no positive class contains.
    func contains(_ value: UInt32, _ categories: Categories) -> Bool {
        var member = false
        if value <= 0xFFFF {
            var lo = 0, hi = ranges.count - 1
            while lo <= hi {
                let mid = (lo + hi) / 2
                if ranges[mid].upperBound < value { lo = mid + 1 }
                else if ranges[mid].lowerBound > value { hi = mid - 1 }
                else { member = true; break }
            }
            if !member {
                member = (letters && categories.letter) || (digits && categories.digit) || (uppercase && categories.uppercase)
            }
        }
        return member != negated
    }

    /// Java's Character.isLetter/isDigit/isUpperCase as baked into the 3.4.1 lexer: Unicode 6.x tables.
    /// Probed on the jar (Tools/metrics/make_golden.py, tokenizer.json): U+08A0 and U+A7AA (Unicode 6.1) are
    /// letters there, U+08A1 and U+037F (7.0) are not — they are deleted as untokenizable and split the word.
    static func isInLexerUnicode(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 6 || (age.major == 6 && age.minor <= 3)
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        // General categories that changed since Unicode 6.x, found by probing every BMP character through
        // the jar (the "bmp" probe in tokenizer.json): Mongolian ali gali letters became marks (9.0); New Tai
        // Lue vowel signs and tone marks, and two Vedic signs, became letters (8.0, 10.0).
        case 0x1885, 0x1886: return true
        case 0x19B0...0x19C0, 0x19C8, 0x19C9, 0x1CF2, 0x1CF3: return false
        default: break
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return isInLexerUnicode(scalar)
        default: return false
        }
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .decimalNumber && isInLexerUnicode(scalar)
    }

    static func isUppercase(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .uppercaseLetter && isInLexerUnicode(scalar)
    }
}

private struct PatternParser {
    let s: [Unicode.Scalar]
    var i = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    var atEnd: Bool { i >= s.count }
    func peek() -> Unicode.Scalar? { i < s.count ? s[i] : nil }

    mutating func parseAll() -> LexPattern {
        let p = parseChoice()
        precondition(atEnd, "LexPattern: unexpected '\(s[i])' at \(i) in \(String(String.UnicodeScalarView(s)))")
        return p
    }

    mutating func parseChoice() -> LexPattern {
        var options = [parseSequence()]
        while peek() == "|" {
            i += 1
            options.append(parseSequence())
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    mutating func parseSequence() -> LexPattern {
        var items: [LexPattern] = []
        while let c = peek(), c != "|", c != ")" {
            var atom = parseAtom()
            while let q = peek() {
                if q == "*" { i += 1; atom = .repeated(atom, min: 0, max: nil) }
                else if q == "+" { i += 1; atom = .repeated(atom, min: 1, max: nil) }
                else if q == "?" { i += 1; atom = .repeated(atom, min: 0, max: 1) }
                else if q == "{", let (lo, hi) = parseBounds() { atom = .repeated(atom, min: lo, max: hi) }
                else { break }
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    /// `{n}` or `{n,m}` after an atom.
    mutating func parseBounds() -> (Int, Int?)? {
        var j = i + 1
        var numbers: [Int] = [], current = ""
        while j < s.count, s[j] != "}" {
            if s[j] == "," { numbers.append(Int(current)!); current = "" } else { current.unicodeScalars.append(s[j]) }
            j += 1
        }
        guard j < s.count, let last = Int(current) else { return nil }
        numbers.append(last)
        i = j + 1
        return numbers.count == 1 ? (numbers[0], numbers[0]) : (numbers[0], numbers[1])
    }

    mutating func parseAtom() -> LexPattern {
        let c = s[i]
        switch c {
        case "(":
            i += 1
            let inner = parseChoice()
            precondition(peek() == ")", "LexPattern: missing ')'")
            i += 1
            return inner
        case "[":
            return .scalar(parseClass())
        case "\\":
            if s[i + 1] == "p" { return .scalar(parseNamedClass()) }
            return .scalar(.caseless(parseEscape()))
        default:
            i += 1
            return .scalar(.caseless(c))
        }
    }

    /// After a backslash: the escaped scalar.
    mutating func parseEscape() -> Unicode.Scalar {
        i += 1  // the backslash
        let c = s[i]
        i += 1
        switch c {
        case "t": return "\t"
        case "n": return "\n"
        case "r": return "\r"
        case "f": return "\u{0C}"
        case "u":
            precondition(s[i] == "{")
            var hex = ""
            i += 1
            while s[i] != "}" { hex.unicodeScalars.append(s[i]); i += 1 }
            i += 1
            return Unicode.Scalar(UInt32(hex, radix: 16)!)!
        default: return c
        }
    }

    /// `\p{L}`, `\p{Nd}`, `\p{Lu}`.
    mutating func parseNamedClass() -> ScalarClass {
        i += 3  // \p{
        var name = ""
        while s[i] != "}" { name.unicodeScalars.append(s[i]); i += 1 }
        i += 1
        var cls = ScalarClass()
        switch name {
        case "L": cls.letters = true
        case "Nd": cls.digits = true
        case "Lu": cls.uppercase = true
        default: preconditionFailure("LexPattern: unknown class \\p{\(name)}")
        }
        return cls
    }

    mutating func parseClass() -> ScalarClass {
        i += 1  // [
        var cls = ScalarClass()
        if peek() == "^" { cls.negated = true; i += 1 }
        while s[i] != "]" {
            if s[i] == "\\", s[i + 1] == "p" {
                let named = parseNamedClass()
                cls.letters = cls.letters || named.letters
                cls.digits = cls.digits || named.digits
                cls.uppercase = cls.uppercase || named.uppercase
                continue
            }
            let lo = s[i] == "\\" ? parseEscape() : { defer { i += 1 }; return s[i] }()
            if s[i] == "-", s[i + 1] != "]" {
                i += 1
                let hi = s[i] == "\\" ? parseEscape() : { defer { i += 1 }; return s[i] }()
                cls.ranges.append(lo.value...hi.value)
            } else {
                cls.ranges.append(lo.value...lo.value)
            }
        }
        i += 1  // ]
        return cls
    }
}
