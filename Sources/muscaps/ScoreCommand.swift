import ArgumentParser
import CaptionMetrics
import Foundation

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score predicted captions against references: BLEU, METEOR, ROUGE-L, CIDEr-D, SPICE, SPIDEr.",
        discussion: """
        Both files are JSON lists of {"track_id": "...", "caption": "..."} (track_id a string or an integer). \
        PREDICTIONS has one entry per track; REFERENCES any number per track, and the same tracks. \
        An empty or whitespace-only prediction is scored as pycocoevalcap scores it (0 on every metric \
        against references with words) and named in a warning on stderr; an empty reference is an error. \
        Scores are computed as pycocoevalcap 1.2 computes them (COCOEvalCap: PTB tokenization, then each \
        metric; CIDEr is CIDEr-D): BLEU, ROUGE-L and CIDEr-D natively, METEOR with the official \
        meteor-1.5.jar (found via $MUSCAPS_METEOR_JAR, a pycocoevalcap install, or \
        ~/.local/share/muscaps/meteor — see Tools/metrics/fetch-meteor.sh), SPICE with a SPICE 1.0 install \
        given in $MUSCAPS_SPICE_JAR. A metric that cannot run is reported as unavailable, with the reason, \
        never as 0. Per-track CIDEr-D is relative to the set of tracks scored together.
        Examples:
          muscaps score predictions.json references.json
          muscaps score predictions.json references.json --out scores.json --per-track
        """)

    @Argument(help: ArgumentHelp("Predicted captions: a JSON list of {\"track_id\", \"caption\"}, one per track.", valueName: "PREDICTIONS.json"))
    var predictions: String

    @Argument(help: ArgumentHelp("Reference captions: a JSON list of {\"track_id\", \"caption\"}, one or more per track.", valueName: "REFERENCES.json"))
    var references: String

    @Option(name: .long, help: ArgumentHelp("Also write corpus and per-track scores as JSON to this file.", valueName: "scores.json"))
    var out: String?

    @Flag(name: .long, help: "Print a row of scores for every track, not only the corpus scores.")
    var perTrack = false

    @Flag(name: .long, help: "Do not run METEOR (it needs Java and ~5 s to load its tables).")
    var noMeteor = false

    @Flag(name: .long, help: "Do not run SPICE even if $MUSCAPS_SPICE_JAR is set.")
    var noSpice = false

    func run() throws {
        do {
            let predicted = try CaptionFile.read(predictions, role: "predictions")
            let referenced = try CaptionFile.read(references, role: "references")
            let candidates = try predicted.onePerTrack()
            let refs = referenced.grouped()
            try CaptionFile.checkSameTracks(predictions: predicted, references: referenced,
                                            candidates: candidates, refs: refs)
            var options = CaptionScorer.Options()
            options.meteor = !noMeteor
            options.spice = !noSpice
            let scores = try CaptionScorer(options: options).score(candidates: candidates, references: refs)
            printTable(scores)
            warnAboutBlankCandidates(scores)
            if let out {
                do {
                    try Data(ScoreReport.json(scores, predictions: predictions, references: references).utf8)
                        .write(to: URL(fileURLWithPath: out))
                } catch {
                    throw CaptionFileError("\(out): cannot write: \(error.localizedDescription)")
                }
                FileHandle.standardError.write(Data("muscaps: wrote scores for \(scores.trackIDs.count) tracks to \(out)\n".utf8))
            }
        } catch let error as CaptionFileError {
            FileHandle.standardError.write(Data("muscaps: error: \(error)\n".utf8))
            throw ExitCode.failure
        } catch let error as CaptionInputError {
            FileHandle.standardError.write(Data("muscaps: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func printTable(_ scores: CaptionScores) {
        let count = scores.trackIDs.count
        let refCount = scores.tokenizedReferences.values.reduce(0) { $0 + $1.count }
        print("\(count) tracks, \(refCount) references")
        printCorpusScores(scores, labelWidth: 8)
        guard perTrack else { return }
        let shown = CaptionMetric.allCases.filter { scores.corpus[$0] != nil }
        let width = max(8, scores.trackIDs.map(\.count).max() ?? 0)
        print("")
        print("track".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
              + shown.map { $0.displayName.padding(toLength: 8, withPad: " ", startingAt: 0) }.joined(separator: " "))
        for id in scores.trackIDs {
            let row = shown.map { metric -> String in
                let v = scores.perTrack[id]?[metric] ?? .nan
                return (v.isFinite ? String(format: "%.4f", v) : "n/a").padding(toLength: 8, withPad: " ", startingAt: 0)
            }
            print(id.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + row.joined(separator: " "))
        }
    }
}

/// A file problem: one line, starting with the file's path.
struct CaptionFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A predictions or references file: a JSON list of {"track_id", "caption"} entries.
struct CaptionFile {
    struct Entry {
        let trackID: String
        let caption: String
        let index: Int  // 1-based position in the file, for messages
    }

    let path: String
    let entries: [Entry]

    static func read(_ path: String, role: String) throws -> CaptionFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let exists = FileManager.default.fileExists(atPath: path)
            throw CaptionFileError("\(path): cannot read the \(role) file (\(exists ? "not readable or a directory" : "no such file"))")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String).map { ": \($0)" } ?? ""
            throw CaptionFileError("\(path): not valid JSON\(detail.replacingOccurrences(of: "\n", with: " "))")
        }
        guard let list = json as? [Any] else {
            throw CaptionFileError("\(path): expected a JSON list of {\"track_id\", \"caption\"} objects")
        }
        if list.isEmpty { throw CaptionFileError("\(path): the list is empty; nothing to score") }
        var entries: [Entry] = []
        for (i, item) in list.enumerated() {
            let n = i + 1
            guard let object = item as? [String: Any] else {
                throw CaptionFileError("\(path): entry \(n) is not an object with \"track_id\" and \"caption\"")
            }
            guard let rawID = object["track_id"] else { throw CaptionFileError("\(path): entry \(n) has no \"track_id\"") }
            let id: String
            if let s = rawID as? String, !s.isEmpty {
                id = s
            } else if let number = rawID as? NSNumber, "silqSILQ".contains(String(cString: number.objCType)) {
                id = String(number.int64Value)  // an integer; true/false ("c") and 1.5 ("d") are not ids
            } else {
                throw CaptionFileError("\(path): entry \(n): \"track_id\" must be a non-empty string or an integer")
            }
            guard let rawCaption = object["caption"] else {
                throw CaptionFileError("\(path): entry \(n) (track \(id)) has no \"caption\"")
            }
            guard let caption = rawCaption as? String else {
                throw CaptionFileError("\(path): entry \(n) (track \(id)): \"caption\" must be a string")
            }
            // A blank prediction is a result (scored 0, with a warning); a blank reference is an error.
            if role == "references" && caption.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
                throw CaptionFileError("\(path): entry \(n) (track \(id)): the caption is empty")
            }
            entries.append(Entry(trackID: id, caption: caption, index: n))
        }
        return CaptionFile(path: path, entries: entries)
    }

    func onePerTrack() throws -> [String: String] {
        var result: [String: String] = [:], firstIndex: [String: Int] = [:]
        for entry in entries {
            if let first = firstIndex[entry.trackID] {
                throw CaptionFileError("\(path): track \(entry.trackID) has two predictions (entries \(first) and \(entry.index)); "
                                       + "give one per track")
            }
            firstIndex[entry.trackID] = entry.index
            result[entry.trackID] = entry.caption
        }
        return result
    }

    func grouped() -> [String: [String]] {
        var result: [String: [String]] = [:]
        for entry in entries { result[entry.trackID, default: []].append(entry.caption) }
        return result
    }

    static func checkSameTracks(predictions: CaptionFile, references: CaptionFile,
                                candidates: [String: String], refs: [String: [String]]) throws {
        func sorted(_ ids: [String]) -> [String] { ids.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) } }
        func list(_ ids: [String]) -> String { ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? ", …" : "") }
        let noRefs = sorted(candidates.keys.filter { refs[$0] == nil })
        if !noRefs.isEmpty {
            throw CaptionFileError("\(references.path): no references for \(noRefs.count) predicted track(s) "
                                   + "(from \(predictions.path)): \(list(noRefs))")
        }
        let noPrediction = sorted(refs.keys.filter { candidates[$0] == nil })
        if !noPrediction.isEmpty {
            throw CaptionFileError("\(predictions.path): no prediction for \(noPrediction.count) track(s) that have "
                                   + "references in \(references.path): \(list(noPrediction))")
        }
    }
}

/// The `--out` JSON: corpus scores, per-track scores, unavailable metrics with reasons.
enum ScoreReport {
    static func json(_ scores: CaptionScores, predictions: String, references: String) -> String {
        func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
        func metrics(_ values: [CaptionMetric: Double]) -> String {
            JSONText.object(CaptionMetric.allCases.compactMap { m in values[m].map { (m.rawValue, number($0)) } })
        }
        let unavailable = JSONText.object(CaptionMetric.allCases.compactMap { m in
            scores.unavailable[m].map { (m.rawValue, JSONText.string($0)) }
        })
        let tracks = scores.trackIDs.map { id in
            "    " + JSONText.object([("track_id", JSONText.string(id)), ("scores", metrics(scores.perTrack[id] ?? [:]))])
        }
        return """
        {
          "predictions": \(JSONText.string(predictions)),
          "references": \(JSONText.string(references)),
          "reference_implementation": "pycocoevalcap 1.2 (COCOEvalCap; CIDEr is CIDEr-D)",
          "tracks_scored": \(scores.trackIDs.count),
          "blank_predictions": [\(scores.blankCandidates.map(JSONText.string).joined(separator: ", "))],
          "corpus": \(metrics(scores.corpus)),
          "unavailable": \(unavailable),
          "per_track": [
        \(tracks.joined(separator: ",\n"))
          ]
        }

        """
    }
}
