import Foundation
import LiveCaptioning
import TestServerSupport
import XCTest

/// Where SwiftPM put the test bundle, the plugins (`lib*.so`) and `muscaps-plugin-probe`: one directory.
enum Build {
    static let products = BuildProducts.directory

    static func plugin(_ product: String) -> String { products.appendingPathComponent("lib\(product).so").path }

    /// The search path a checkout's executables get: only the build directory (no environment, no home).
    static let searchPath = PluginSearchPath(directories: [products.path])

    static func temporaryDirectory(_ function: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("muscaps-plugins-\(function.prefix { $0 != "(" })-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        chmod(url.path, 0o755)
        return url
    }
}

/// Caption events for the tests.
enum Events {
    static func caption(_ text: String, _ start: Double, _ end: Double, id: UInt64 = 0, final: Bool = true,
                        tags: [CaptionEvent.Tag] = [.init("piano", 0.83), .init("classical", 0.62)]) -> CaptionEvent {
        CaptionEvent(id: id, kind: .caption, start: start, end: end, wallClockStart: 1_764_170_000_123_000_000 + Int64(start * 1e9),
                     text: text, tags: tags, model: "musicnn-mtt", latencyMilliseconds: 85.2, isFinal: final)
    }

    static func tagsOnly(_ start: Double, _ end: Double, _ names: [String], id: UInt64 = 0) -> CaptionEvent {
        let scores: [Float] = [0.9, 0.8, 0.7, 0.6, 0.5]
        return caption("", start, end, id: id, tags: names.enumerated().map { .init($0.element, scores[$0.offset]) })
    }
}

/// Runs `body` with one output of `plugin` (a name on the build directory's search path or a path),
/// then shuts it down and returns it for its statistics.
@discardableResult
func withOutput(_ spec: String, queueCapacity: Int = 256, _ body: (OutputHost) throws -> Void) throws -> OutputHost {
    let host = try OutputHost.start([try OutputSpec(parsing: spec)], searchPath: Build.searchPath, hostVersion: "tests",
                                    queueCapacity: queueCapacity, installCrashReporter: false)
    try body(host)
    XCTAssertEqual(host.shutdown(timeout: 5), [.finished])
    return host
}

// MARK: - Subtitle parsers (strict enough to catch what players reject)

struct Cue: Equatable {
    var start: Double
    var end: Double
    var lines: [String]
    var text: String { lines.joined(separator: " ") }
}

enum SubtitleParseError: Error, CustomStringConvertible {
    case invalid(String)
    var description: String { if case let .invalid(m) = self { return m }; return "" }
}

enum Subtitles {
    /// `HH:MM:SS<sep>mmm` (hours two digits or more) → seconds.
    static func time(_ text: Substring, separator: Character) throws -> Double {
        let parts = text.split(separator: ":")
        guard parts.count == 3, parts[0].count >= 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
              minutes < 60 else { throw SubtitleParseError.invalid("bad timestamp '\(text)'") }
        let secondsPart = parts[2].split(separator: separator)
        guard secondsPart.count == 2, secondsPart[0].count == 2, secondsPart[1].count == 3,
              let seconds = Int(secondsPart[0]), seconds < 60, let millis = Int(secondsPart[1]) else {
            throw SubtitleParseError.invalid("bad timestamp '\(text)'")
        }
        return Double(hours * 3600 + minutes * 60 + seconds) + Double(millis) / 1000
    }

    static func timing(_ line: Substring, separator: Character) throws -> (Double, Double) {
        let sides = line.components(separatedBy: " --> ")
        guard sides.count == 2 else { throw SubtitleParseError.invalid("bad timing line '\(line)'") }
        return (try time(Substring(sides[0]), separator: separator), try time(Substring(sides[1]), separator: separator))
    }

    static func blocks(_ body: Substring) -> [[Substring]] {
        body.components(separatedBy: "\n\n").map { $0.split(separator: "\n", omittingEmptySubsequences: false) }
            .filter { !($0.count == 1 && $0[0].isEmpty) && !$0.isEmpty }
    }

    /// A WebVTT file: "WEBVTT" header, blank line, cues with `-->` timings, text unescaped.
    static func parseVTT(_ text: String) throws -> [Cue] {
        guard text.hasPrefix("WEBVTT\n\n") else { throw SubtitleParseError.invalid("no WEBVTT header") }
        guard text.hasSuffix("\n\n") || text == "WEBVTT\n\n" else { throw SubtitleParseError.invalid("does not end with a blank line") }
        return try blocks(text.dropFirst(8)).map { block in
            guard block.count >= 2 else { throw SubtitleParseError.invalid("cue without text: \(block)") }
            let (start, end) = try timing(block[0], separator: ".")
            let lines = block.dropFirst().map {
                String($0).replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                    .replacingOccurrences(of: "&amp;", with: "&")
            }
            for line in block.dropFirst() where line.contains("-->") || line.contains("<") {
                throw SubtitleParseError.invalid("unescaped markup in cue text '\(line)'")
            }
            return Cue(start: start, end: end, lines: lines)
        }
    }

    /// An SRT file: numbered from 1 without gaps, `,` milliseconds.
    static func parseSRT(_ text: String) throws -> [Cue] {
        guard text.isEmpty || text.hasSuffix("\n\n") else { throw SubtitleParseError.invalid("does not end with a blank line") }
        return try blocks(Substring(text)).enumerated().map { index, block in
            guard block.count >= 3 else { throw SubtitleParseError.invalid("short SRT block \(block)") }
            guard Int(block[0]) == index + 1 else { throw SubtitleParseError.invalid("SRT cue \(index + 1) is numbered '\(block[0])'") }
            let (start, end) = try timing(block[1], separator: ",")
            return Cue(start: start, end: end, lines: block.dropFirst(2).map(String.init))
        }
    }

    /// The readability rules the file plugin promises, checked on parsed cues.
    static func assertReadable(_ cues: [Cue], lineChars: Int = 42, maxLines: Int = 2, minimum: Double = 1, maximum: Double = 7,
                               file: StaticString = #filePath, line: UInt = #line) {
        var previousEnd = -Double.infinity
        for cue in cues {
            XCTAssertLessThan(cue.start, cue.end, "cue \(cue) is empty", file: file, line: line)
            XCTAssertGreaterThanOrEqual(cue.start, previousEnd - 1e-9, "cue \(cue) overlaps the previous one", file: file, line: line)
            XCTAssertGreaterThanOrEqual(cue.end - cue.start, minimum - 1e-3, "cue \(cue) is shorter than \(minimum) s", file: file, line: line)
            XCTAssertLessThanOrEqual(cue.end - cue.start, maximum + 1e-3, "cue \(cue) is longer than \(maximum) s", file: file, line: line)
            XCTAssertLessThanOrEqual(cue.lines.count, maxLines, "cue \(cue) has too many lines", file: file, line: line)
            for text in cue.lines {
                XCTAssertLessThanOrEqual(text.count, lineChars, "line '\(text)' is too long", file: file, line: line)
            }
            previousEnd = cue.end
        }
    }
}

/// Decodes JSON Lines into events, failing on any invalid line.
func decodeJSONLines(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [CaptionEvent] {
    XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"), "JSON Lines must end with a newline", file: file, line: line)
    return try text.split(separator: "\n").map { try JSONDecoder().decode(CaptionEvent.self, from: Data($0.utf8)) }
}
