/// Turning caption text into the tokens the models see.
///
/// The MusCaps layout stores tokens already (`caption.tokens`); this is for entries that only have
/// `caption.raw`, for search queries, and for turning generated tokens back into a sentence.
public enum CaptionText {
    /// Lowercase words without punctuation: letters, digits and word-internal `'` and `-`
    /// ("hip-hop", "90's") stay; everything else separates tokens.
    public static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        func close() {
            let trimmed = current.trimmingCharacters(in: "'-")
            if !trimmed.isEmpty { tokens.append(trimmed) }
            current = ""
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber || character == "'" || character == "-" {
                current.append(character)
            } else if character == "’" {
                current.append("'")
            } else {
                close()
            }
        }
        close()
        return tokens
    }

    /// Tokens back to a sentence: words joined by spaces, first letter capitalised.
    public static func sentence(_ tokens: [String]) -> String {
        let text = tokens.joined(separator: " ")
        guard let first = text.first else { return "" }
        return first.uppercased() + text.dropFirst()
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
