import Foundation

/// Minimal JSON text with a fixed key order (JSONSerialization sorts or scrambles keys; tags must stay
/// ranked by probability and `start` must come first for readers skimming a JSON Lines file).
enum JSONText {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A finite number with enough digits to round-trip a Float; non-finite values become null.
    static func number(_ value: Double, digits: Int = 6) -> String {
        guard value.isFinite else { return "null" }
        var text = String(format: "%.\(digits)g", value)
        if text == "-0" { text = "0" }
        return text
    }

    /// Media time in seconds with millisecond resolution (a frame is 16 ms).
    static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return String(format: "%.3f", value)
    }

    static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
