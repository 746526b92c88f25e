import Foundation

/// The caption metrics, named as pycocoevalcap names them (CIDEr is CIDEr-D there and here).
public enum CaptionMetric: String, CaseIterable, Sendable, Comparable {
    case bleu1 = "Bleu_1", bleu2 = "Bleu_2", bleu3 = "Bleu_3", bleu4 = "Bleu_4"
    case meteor = "METEOR"
    case rougeL = "ROUGE_L"
    case cider = "CIDEr"
    case spice = "SPICE"
    case spider = "SPIDEr"

    public static func < (a: CaptionMetric, b: CaptionMetric) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The name shown to people: pycocoevalcap's key, except CIDEr, which it computes as CIDEr-D.
    public var displayName: String { self == .cider ? "CIDEr-D" : rawValue }
}

/// Scores of a set of predicted captions against reference captions, per track and for the corpus.
public struct CaptionScores: Sendable {
    /// Track ids in the order they were scored (sorted by code point).
    public let trackIDs: [String]
    /// Corpus-level scores of the metrics that could be computed.
    public let corpus: [CaptionMetric: Double]
    /// Per-track scores. CIDEr-D's idf comes from the whole corpus, so a track's CIDEr-D is relative to
    /// the set it was scored with. SPICE (and SPIDEr) can be NaN for a track SPICE found no tuples in.
    public let perTrack: [String: [CaptionMetric: Double]]
    /// Metrics that could not be computed, with the reason (METEOR/SPICE without Java or their jars).
    public let unavailable: [CaptionMetric: String]
    /// The PTB-tokenized captions the metrics saw.
    public let tokenizedCandidates: [String: String]
    public let tokenizedReferences: [String: [String]]
    /// Tracks whose predicted caption is empty or only whitespace, in `trackIDs` order. They are scored, as
    /// pycocoevalcap 1.2 scores them (0 on every metric against references that have words; their
    /// references still count in CIDEr-D's document frequencies) — callers should say so.
    public let blankCandidates: [String]
}

/// Bad input to `CaptionScorer` (one line each, naming the track).
public enum CaptionInputError: Error, CustomStringConvertible, Equatable, Sendable {
    case noTracks
    case emptyReference(track: String, index: Int)
    case noReferences(tracks: [String])
    case referencesWithoutCandidate(tracks: [String])

    public var description: String {
        switch self {
        case .noTracks:
            return "no predictions to score"
        case let .emptyReference(track, index):
            return "track \(track): reference \(index + 1) is empty"
        case let .noReferences(tracks):
            return "\(CaptionInputError.count(tracks)) no references: \(CaptionInputError.list(tracks))"
        case let .referencesWithoutCandidate(tracks):
            return "\(CaptionInputError.count(tracks)) references but no prediction: \(CaptionInputError.list(tracks))"
        }
    }

    private static func count(_ tracks: [String]) -> String {
        tracks.count == 1 ? "1 track has" : "\(tracks.count) tracks have"
    }

    static func list(_ tracks: [String]) -> String {
        tracks.prefix(5).joined(separator: ", ") + (tracks.count > 5 ? ", …" : "")
    }
}

/// Scores captions the way pycocoevalcap's COCOEvalCap does: tokenize references and candidates (two PTB
/// batches, tracks in sorted order), then Bleu_1–4, METEOR, ROUGE_L and CIDEr-D on the tokenized text — plus
/// SPICE and SPIDEr = (CIDEr-D + SPICE)/2 when a SPICE install is supplied.
///
/// BLEU, ROUGE-L and CIDEr-D are computed here (reproducing pycocoevalcap 1.2 to 1e-4 on the golden set);
/// METEOR and SPICE run their official jars (see `METEORScorer`, `SPICEScorer`). A metric that cannot run is
/// listed in `unavailable` with the reason and is absent from the scores — never reported as 0.
public struct CaptionScorer: Sendable {
    public struct Options: Sendable {
        public var meteor = true
        public var spice = true
        /// Where MUSCAPS_METEOR_JAR, MUSCAPS_SPICE_JAR, MUSCAPS_JAVA, JAVA_HOME, PATH, HOME are read from.
        public var environment: [String: String] = ProcessInfo.processInfo.environment
        public init() {}
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// - Parameters:
    ///   - candidates: one predicted caption per track id.
    ///   - references: one or more reference captions per track id; the ids must be the same.
    public func score(candidates: [String: String], references: [String: [String]]) throws -> CaptionScores {
        let ids = candidates.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        try CaptionScorer.validate(ids: ids, candidates: candidates, references: references)

        let tokenizer = PTBTokenizer()
        let refBatch = tokenizer.tokenize(ids.flatMap { references[$0]! })
        var tokenizedRefs: [[String]] = [], k = 0
        for id in ids {
            let n = references[id]!.count
            tokenizedRefs.append(Array(refBatch[k..<(k + n)]))
            k += n
        }
        let tokenizedCands = tokenizer.tokenize(ids.map { candidates[$0]! })

        var corpus: [CaptionMetric: Double] = [:]
        var perCase = [[CaptionMetric: Double]](repeating: [:], count: ids.count)
        var unavailable: [CaptionMetric: String] = [:]
        func record(_ metric: CaptionMetric, _ value: Double, _ values: [Double]) {
            corpus[metric] = value
            for (i, v) in values.enumerated() { perCase[i][metric] = v }
        }

        let bleu = BLEU.score(candidates: tokenizedCands, references: tokenizedRefs)
        for (n, metric) in [CaptionMetric.bleu1, .bleu2, .bleu3, .bleu4].enumerated() {
            record(metric, bleu.corpus[n], bleu.perCase.map { $0[n] })
        }
        let rouge = ROUGE.score(candidates: tokenizedCands, references: tokenizedRefs)
        record(.rougeL, rouge.corpus, rouge.perCase)
        let cider = CIDEr.score(candidates: tokenizedCands, references: tokenizedRefs)
        record(.cider, cider.corpus, cider.perCase)

        if options.meteor {
            do {
                let meteor = try METEORScorer.locate(environment: options.environment).get()
                let result = try meteor.score(candidates: tokenizedCands, references: tokenizedRefs)
                record(.meteor, result.corpus, result.perCase)
            } catch {
                unavailable[.meteor] = "\(error)"
            }
        } else {
            unavailable[.meteor] = "not requested"
        }

        if options.spice {
            do {
                let spice = try SPICEScorer.locate(environment: options.environment).get()
                let result = try spice.score(ids: ids, candidates: tokenizedCands, references: tokenizedRefs)
                guard result.corpus.isFinite else {
                    let undefined = zip(ids, result.perCase).filter { !$0.1.isFinite }.map(\.0)
                    throw MetricUnavailable("SPICE is undefined (NaN) for \(undefined.count) track(s), so its corpus mean is too: "
                                            + CaptionInputError.list(undefined))
                }
                record(.spice, result.corpus, result.perCase)
                record(.spider, (cider.corpus + result.corpus) / 2, zip(cider.perCase, result.perCase).map { ($0 + $1) / 2 })
            } catch {
                unavailable[.spice] = "\(error)"
            }
        } else {
            unavailable[.spice] = "not requested"
        }
        if unavailable[.spice] != nil {
            unavailable[.spider] = "SPIDEr = (CIDEr-D + SPICE)/2 needs SPICE, which is unavailable"
        }

        return CaptionScores(
            trackIDs: ids, corpus: corpus,
            perTrack: Dictionary(uniqueKeysWithValues: zip(ids, perCase)),
            unavailable: unavailable,
            tokenizedCandidates: Dictionary(uniqueKeysWithValues: zip(ids, tokenizedCands)),
            tokenizedReferences: Dictionary(uniqueKeysWithValues: zip(ids, tokenizedRefs)),
            blankCandidates: ids.filter { CaptionScorer.isBlank(candidates[$0]!) })
    }

    static func validate(ids: [String], candidates: [String: String], references: [String: [String]]) throws {
        guard !ids.isEmpty else { throw CaptionInputError.noTracks }
        let missing = ids.filter { (references[$0] ?? []).isEmpty }
        if !missing.isEmpty { throw CaptionInputError.noReferences(tracks: missing) }
        let extra = references.keys.filter { candidates[$0] == nil }
            .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        if !extra.isEmpty { throw CaptionInputError.referencesWithoutCandidate(tracks: extra) }
        for id in ids {
            for (i, ref) in references[id]!.enumerated() where isBlank(ref) {
                throw CaptionInputError.emptyReference(track: id, index: i)
            }
        }
    }

    /// Empty or only whitespace. A blank prediction is scored (and listed in `blankCandidates`); a blank
    /// reference is refused. (A caption of emoji or punctuation only is not blank: it tokenizes to nothing.)
    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { PythonText.isWhitespace($0.value) || $0.properties.isWhitespace }
    }
}
