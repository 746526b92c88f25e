import Foundation

/// What the daemon says about a span of audio: a caption (text and/or tags), silence, or a status
/// message. The Swift mirror of `muscaps_event` in `muscaps_plugin.h` (read its comment for `id` and
/// `isFinal`: revisions of one caption share an id, the last one is final).
public struct CaptionEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case caption, silence, status
    }

    /// One tag and its probability.
    public struct Tag: Sendable, Equatable, Hashable {
        public var name: String
        public var score: Float
        public init(_ name: String, _ score: Float) {
            self.name = name
            self.score = score
        }
    }

    /// Caption identity (> 0); revisions of one caption share it. Assigned by `CaptionMerger`.
    public var id: UInt64
    public var kind: Kind
    /// Media time, seconds since the capture (or file) started.
    public var start: Double
    public var end: Double
    /// Wall-clock time of `start`, nanoseconds since the Unix epoch.
    public var wallClockStart: Int64
    /// The description; empty when the daemon only tags (and for silence). For status events, the message.
    public var text: String
    /// Top tags, highest score first.
    public var tags: [Tag]
    /// Id of the model that produced it, e.g. "musicnn-mtt".
    public var model: String
    /// From the end of the audio span to the event's creation, milliseconds (0 when unknown).
    public var latencyMilliseconds: Double
    /// The last revision of this `id`.
    public var isFinal: Bool
    /// Why the captioner could not describe this span ("" when it did, and for silence and status):
    /// the event then has tags only. JSON: `caption_error`, present only when not empty.
    public var captionError: String

    public init(id: UInt64 = 0, kind: Kind = .caption, start: Double, end: Double, wallClockStart: Int64 = 0,
                text: String = "", tags: [Tag] = [], model: String = "", latencyMilliseconds: Double = 0,
                isFinal: Bool = true, captionError: String = "") {
        self.id = id
        self.kind = kind
        self.start = start
        self.end = end
        self.wallClockStart = wallClockStart
        self.text = text
        self.tags = tags
        self.model = model
        self.latencyMilliseconds = latencyMilliseconds
        self.isFinal = isFinal
        self.captionError = captionError
    }

    public var duration: Double { end - start }

    /// Wall-clock time now, in the unit of `wallClockStart`.
    public static func wallClockNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

// MARK: - JSON

extension CaptionEvent {
    /// The event as one JSON Lines record (no trailing newline), byte for byte what the bundled
    /// `stdout:json` and `file:*.jsonl` plugins write:
    ///
    ///     {"t0": 12.000, "t1": 15.000, "kind": "caption", "text": "gentle piano", "tags": {"piano": 0.83},
    ///      "final": true, "id": 3, "wall": "2026-11-26T15:30:00.123Z", "model": "musicnn-mtt", "latency_ms": 85.2}
    ///
    /// Times have millisecond resolution; tags stay in rank order (their scores also give it); `wall` is
    /// ISO 8601 UTC with milliseconds (an integer of nanoseconds would not survive JavaScript's doubles).
    /// A caption that could not be decoded adds `"caption_error": "…"` at the end.
    public var jsonLine: String {
        var out = "{\"t0\": \(JSONFormat.fixed(start, 3)), \"t1\": \(JSONFormat.fixed(end, 3)), \"kind\": \"\(kind.rawValue)\", "
        out += "\"text\": \(JSONFormat.string(text)), \"tags\": {"
        out += tags.map { "\(JSONFormat.string($0.name)): \(JSONFormat.general(Double($0.score)))" }.joined(separator: ", ")
        out += "}, \"final\": \(isFinal), \"id\": \(id), \"wall\": \"\(ISO8601Milliseconds.format(wallClockStart))\", "
        out += "\"model\": \(JSONFormat.string(model)), \"latency_ms\": \(JSONFormat.fixed(latencyMilliseconds, 1))"
        if !captionError.isEmpty { out += ", \"caption_error\": \(JSONFormat.string(captionError))" }
        return out + "}"
    }
}

extension CaptionEvent: Codable {
    enum CodingKeys: String, CodingKey {
        case start = "t0", end = "t1", kind, text, tags, isFinal = "final", id, wall, model, latency = "latency_ms", captionError = "caption_error"
    }

    struct TagKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        start = try c.decode(Double.self, forKey: .start)
        end = try c.decode(Double.self, forKey: .end)
        kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .caption
        text = try c.decodeIfPresent(String.self, forKey: .text) ?? ""
        let scores = try c.decodeIfPresent([String: Float].self, forKey: .tags) ?? [:]
        // A JSON object has no order: the scores give it back (ties by name, for determinism).
        tags = scores.map { Tag($0.key, $0.value) }.sorted { $0.score != $1.score ? $0.score > $1.score : $0.name < $1.name }
        isFinal = try c.decodeIfPresent(Bool.self, forKey: .isFinal) ?? true
        id = try c.decodeIfPresent(UInt64.self, forKey: .id) ?? 0
        if let wall = try c.decodeIfPresent(String.self, forKey: .wall) {
            guard let ns = ISO8601Milliseconds.parse(wall) else {
                throw DecodingError.dataCorruptedError(forKey: .wall, in: c, debugDescription: "not an ISO 8601 UTC time: \(wall)")
            }
            wallClockStart = ns
        } else {
            wallClockStart = 0
        }
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ""
        latencyMilliseconds = try c.decodeIfPresent(Double.self, forKey: .latency) ?? 0
        captionError = try c.decodeIfPresent(String.self, forKey: .captionError) ?? ""
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(kind, forKey: .kind)
        try c.encode(text, forKey: .text)
        var tagContainer = c.nestedContainer(keyedBy: TagKey.self, forKey: .tags)
        for tag in tags { try tagContainer.encode(tag.score, forKey: TagKey(stringValue: tag.name)) }
        try c.encode(isFinal, forKey: .isFinal)
        try c.encode(id, forKey: .id)
        try c.encode(ISO8601Milliseconds.format(wallClockStart), forKey: .wall)
        try c.encode(model, forKey: .model)
        try c.encode(latencyMilliseconds, forKey: .latency)
        if !captionError.isEmpty { try c.encode(captionError, forKey: .captionError) }
    }
}

/// JSON text pieces with the number formats of the plugins' C encoder (locale-independent).
enum JSONFormat {
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

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        value.isFinite ? String(format: "%.\(decimals)f", value) : "null"
    }

    /// Six significant digits, as printf's %.6g (scores).
    static func general(_ value: Double) -> String {
        value.isFinite ? String(format: "%.6g", value) : "null"
    }
}

/// `2026-11-26T15:30:00.123Z` <-> nanoseconds since the epoch (millisecond resolution).
public enum ISO8601Milliseconds {
    public static func format(_ unixNanoseconds: Int64) -> String {
        var seconds = unixNanoseconds / 1_000_000_000
        var rest = unixNanoseconds % 1_000_000_000
        if rest < 0 {
            rest += 1_000_000_000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "1970-01-01T00:00:00.000Z" }
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(rest / 1_000_000))
    }

    public static func parse(_ text: String) -> Int64? {
        // YYYY-MM-DDTHH:MM:SS[.fff]Z
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for b in bytes[from..<from + count] {
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes.last == UInt8(ascii: "Z"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var nanoseconds: Int64 = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count - 21 <= 9, let fraction = number(20, bytes.count - 21) else { return nil }
            nanoseconds = Int64(fraction) * Int64(pow(10.0, Double(9 - (bytes.count - 21))))
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int64(timegm(&parts)) * 1_000_000_000 + nanoseconds
    }
}
