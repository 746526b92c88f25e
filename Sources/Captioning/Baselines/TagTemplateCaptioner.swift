import Foundation
import NeuralCore

/// Why a baseline cannot run, in one line.
public struct BaselineError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The tag-template baseline: no learning, a caption assembled from the tagger's most probable tags,
/// e.g. MTT's top five "guitar, classical, slow, strings, piano" → "slow classical music with guitar
/// strings and piano". It shows how much of a caption metric a tagger alone earns, so a captioning model
/// must beat it to claim it learnt more than tags.
///
/// The track's tag probabilities are the mean over its windows; the `tagCount` most probable tags are
/// sorted into the template's slots by `TagTemplateCaptioner.role(of:)` (a fixed table for the MTT and
/// MSD tag sets: instrument, genre, quality, voice), keeping the tagger's order inside each slot.
/// Template: `[quality…] [genre | "music"] [with instrument…] [and vocals]`.
public struct TagTemplateCaptioner: Sendable {
    public enum Role: Equatable, Sendable {
        /// An adjective before the genre ("slow", "loud", "instrumental").
        case quality(String)
        /// The noun phrase's head ("classical", "rock"); only the most probable one is used.
        case genre(String)
        /// An instrument after "with".
        case instrument(String)
        /// Singing of any kind: one "vocals" at the end.
        case voice
        /// Tags that say nothing a caption would (decades, "beautiful" …) are left out.
        case ignored
    }

    public let tags: [String]
    public let tagCount: Int

    public init(tags: [String], tagCount: Int = 5) throws {
        guard !tags.isEmpty else { throw BaselineError("tag-template baseline: the tagger has no tag names") }
        guard tagCount >= 1 else { throw BaselineError("tag-template baseline: the number of tags must be at least 1") }
        self.tags = tags
        self.tagCount = tagCount
    }

    /// The caption (lower-case words) for a track's `[windows, tags]` taggram.
    public func caption(taggram: Tensor) throws -> [String] {
        guard taggram.rank == 2, taggram.shape[1] == tags.count, taggram.shape[0] > 0 else {
            throw BaselineError("tag-template baseline: taggram must be [windows, \(tags.count)], got \(taggram.shape)")
        }
        let windows = taggram.shape[0]
        var mean = [Float](repeating: 0, count: tags.count)
        for w in 0..<windows { for t in tags.indices { mean[t] += taggram.scalars[w * tags.count + t] } }
        guard mean.allSatisfy(\.isFinite) else { throw BaselineError("tag-template baseline: the taggram has non-finite values") }
        let top = tags.indices.sorted { mean[$0] != mean[$1] ? mean[$0] > mean[$1] : $0 < $1 }.prefix(tagCount)
        return Self.compose(top.map { tags[$0] })
    }

    /// Fills the template from tags in order of probability.
    public static func compose(_ ranked: [String]) -> [String] {
        var qualities: [String] = [], genre: String?, instruments: [String] = [], voice = false
        for tag in ranked {
            switch role(of: tag) {
            case let .quality(word): if !qualities.contains(word) && qualities.count < 2 { qualities.append(word) }
            case let .genre(word): if genre == nil { genre = word }
            case let .instrument(word): if !instruments.contains(word) { instruments.append(word) }
            case .voice: voice = true
            case .ignored: break
            }
        }
        // "instrumental" and "vocals" contradict each other: the more probable tag (earlier) wins.
        if voice, qualities.contains("instrumental") {
            let instrumentalRank = ranked.firstIndex { role(of: $0) == .quality("instrumental") } ?? .max
            let voiceRank = ranked.firstIndex { role(of: $0) == .voice } ?? .max
            if instrumentalRank < voiceRank { voice = false } else { qualities.removeAll { $0 == "instrumental" } }
        }
        var words = qualities.flatMap { $0.split(separator: " ").map(String.init) }
        words += (genre ?? "music").split(separator: " ").map(String.init)
        if genre != nil { words.append("music") }
        var additions = instruments
        if voice { additions.append("vocals") }
        if !additions.isEmpty {
            words.append("with")
            for (i, item) in additions.enumerated() {
                if i > 0 { words.append(i == additions.count - 1 ? "and" : ",") }
                words += item.split(separator: " ").map(String.init)
            }
        }
        return words.filter { $0 != "," }
    }

    /// The template slot of a tag of the MTT or MSD tag sets (case-insensitive); unknown tags are genres.
    public static func role(of tag: String) -> Role {
        let key = tag.lowercased()
        if let role = table[key] { return role }
        if key.range(of: #"^\d0s$"#, options: .regularExpression) != nil { return .ignored }
        return .genre(key.replacingOccurrences(of: "-", with: " "))
    }

    private static let table: [String: Role] = {
        var table: [String: Role] = [:]
        for word in ["slow", "fast", "loud", "quiet", "soft", "weird", "solo", "mellow", "sad", "happy", "chill", "catchy", "sexy",
                     "beautiful", "acoustic", "instrumental", "experimental"] { table[word] = .quality(word) }
        for tag in ["no vocals", "no vocal", "no voice"] { table[tag] = .quality("instrumental") }
        table["chillout"] = .quality("chilled")
        table["easy listening"] = .quality("easy listening")
        table["party"] = .quality("upbeat")
        for word in ["guitar", "strings", "drums", "piano", "violin", "synth", "harpsichord", "flute", "sitar", "harp", "cello", "choir"] {
            table[word] = .instrument(word)
        }
        table["beat"] = .instrument("beat")
        table["beats"] = .instrument("beat")
        table["choral"] = .instrument("choir")
        for tag in ["vocal", "vocals", "female", "male", "singing", "woman", "man", "male vocal", "female vocal", "male voice",
                    "female voice", "voice", "female vocalists", "male vocalists", "female vocalist"] { table[tag] = .voice }
        table["classic"] = .genre("classical")
        table["hip-hop"] = .genre("hip hop")
        table["rnb"] = .genre("r&b")
        return table
    }()
}
