import Foundation
import TestServerSupport
import XCTest

/// `muscaps score` as a user runs it: the golden set end to end, and every kind of bad input file.
final class ScoreCommandTests: XCTestCase {
    /// METEOR is off here (its parity is CaptionMetricsTests' job; the JVM takes seconds to start) and SPICE is
    /// not configured, so both are reported unavailable.
    let environment = ["MUSCAPS_SPICE_JAR": ""]

    struct GoldenCase: Decodable {
        let id: String
        let candidate: String
        let references: [String]
        let scores: [String: Double]
    }
    struct Golden: Decodable {
        let corpus: [String: Double]
        let cases: [GoldenCase]
    }

    func write(_ object: Any, to url: URL) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    func testScoresTheGoldenSetAsPycocoevalcapAndWritesJSON() throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: CLI.repositoryRoot
            .appendingPathComponent("Tests/CaptionMetricsTests/Fixtures/golden.json")))
        let dir = try CLI.temporaryDirectory()
        let predictions = dir.appendingPathComponent("predictions.json"), references = dir.appendingPathComponent("references.json")
        let out = dir.appendingPathComponent("scores.json")
        try write(golden.cases.map { ["track_id": $0.id, "caption": $0.candidate] }, to: predictions)
        try write(golden.cases.flatMap { c in c.references.map { ["track_id": c.id, "caption": $0] } }, to: references)
        let result = try CLI.run("muscaps", ["score", predictions.path, references.path, "--out", out.path, "--no-meteor", "--per-track"],
                                 environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("52 tracks, 133 references"), result.stdout)
        XCTAssertTrue(result.stdout.contains("CIDEr-D   1.3110"), result.stdout)
        XCTAssertTrue(result.stdout.contains("SPICE     unavailable: "), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nc52 "), "per-track rows: \(result.stdout)")
        // c51 and c52 say nothing (empty, whitespace): scored, and named in a warning.
        XCTAssertTrue(result.stderr.contains("2 tracks have an empty predicted caption") && result.stderr.contains(": c51, c52\n"), result.stderr)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        let corpus = json["corpus"] as! [String: Double]
        for metric in ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"] {
            XCTAssertEqual(corpus[metric]!, golden.corpus[metric]!, accuracy: 1e-4, metric)
        }
        XCTAssertNil(corpus["METEOR"])
        XCTAssertNil(corpus["SPICE"], "an unavailable metric must not be reported as a number")
        let unavailable = json["unavailable"] as! [String: String]
        XCTAssertTrue(unavailable["SPICE"]!.contains("MUSCAPS_SPICE_JAR"))
        XCTAssertNotNil(unavailable["SPIDEr"])
        XCTAssertEqual(unavailable["METEOR"], "not requested")
        let perTrack = json["per_track"] as! [[String: Any]]
        XCTAssertEqual(perTrack.map { $0["track_id"] as! String }, golden.cases.map(\.id))
        for (entry, c) in zip(perTrack, golden.cases) {
            let scores = entry["scores"] as! [String: Double]
            for metric in ["Bleu_4", "ROUGE_L", "CIDEr"] {
                XCTAssertEqual(scores[metric]!, c.scores[metric]!, accuracy: 1e-4, "\(c.id) \(metric)")
            }
        }
    }

    func testIntegerTrackIDsAndSeveralReferencesPerTrack() throws {
        let dir = try CLI.temporaryDirectory()
        let p = dir.appendingPathComponent("p.json"), r = dir.appendingPathComponent("r.json")
        try write([["track_id": 7, "caption": "a soft piano melody"], ["track_id": "x", "caption": "loud drums"]], to: p)
        try write([["track_id": "7", "caption": "a gentle piano melody"], ["track_id": 7, "caption": "soft piano"],
                   ["track_id": "x", "caption": "loud rock drums"]], to: r)
        let result = try CLI.run("muscaps", ["score", p.path, r.path, "--no-meteor"], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("2 tracks, 3 references"), result.stdout)
    }

    /// A prediction that says nothing (empty, whitespace only) is a result: scored 0 as pycocoevalcap scores it,
    /// the other tracks scored as usual, and a warning on stderr names the tracks.
    func testBlankPredictionsAreScoredZeroWithAWarning() throws {
        let dir = try CLI.temporaryDirectory()
        let p = dir.appendingPathComponent("p.json"), r = dir.appendingPathComponent("r.json"), out = dir.appendingPathComponent("s.json")
        try write([["track_id": "a", "caption": "a soft piano melody"], ["track_id": "b", "caption": ""],
                   ["track_id": "c", "caption": " \t "], ["track_id": "d", "caption": "loud rock drums"]], to: p)
        try write([["track_id": "a", "caption": "a gentle piano melody"], ["track_id": "b", "caption": "a sad violin"],
                   ["track_id": "c", "caption": "a choir sings"], ["track_id": "d", "caption": "loud rock drums and guitar"]], to: r)
        let result = try CLI.run("muscaps", ["score", p.path, r.path, "--no-meteor", "--per-track", "--out", out.path], environment: environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("4 tracks, 4 references"), result.stdout)
        XCTAssertTrue(result.stderr.contains("muscaps: warning: 2 tracks have an empty predicted caption"), result.stderr)
        XCTAssertTrue(result.stderr.contains(": b, c\n"), result.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as! [String: Any]
        XCTAssertEqual(json["blank_predictions"] as? [String], ["b", "c"])
        let perTrack = Dictionary(uniqueKeysWithValues: (json["per_track"] as! [[String: Any]]).map {
            ($0["track_id"] as! String, $0["scores"] as! [String: Any])
        })
        for track in ["b", "c"] {
            for metric in ["Bleu_1", "Bleu_4", "ROUGE_L", "CIDEr"] {
                XCTAssertEqual((perTrack[track]![metric] as! NSNumber).doubleValue, 0, accuracy: 1e-12, "\(track) \(metric)")
            }
        }
        XCTAssertGreaterThan((perTrack["a"]!["Bleu_1"] as! NSNumber).doubleValue, 0.5)
        XCTAssertGreaterThan((perTrack["d"]!["CIDEr"] as! NSNumber).doubleValue, 0)
    }

    /// Each bad file: exit 1 and ONE line on stderr that names the file and says what is wrong.
    func testBadInputFilesGiveOneLineErrorsNamingTheFile() throws {
        let dir = try CLI.temporaryDirectory()
        let good = dir.appendingPathComponent("good-refs.json")
        try write([["track_id": "a", "caption": "soft piano"], ["track_id": "b", "caption": "loud drums"]], to: good)
        let goodPredictions = dir.appendingPathComponent("good-predictions.json")
        try write([["track_id": "a", "caption": "piano"], ["track_id": "b", "caption": "drums"]], to: goodPredictions)

        func check(_ name: String, _ contents: String?, asReferences: Bool = false, expect: String, line: UInt = #line) throws {
            let file = dir.appendingPathComponent(name)
            if let contents { try Data(contents.utf8).write(to: file) }
            let args = asReferences ? ["score", goodPredictions.path, file.path] : ["score", file.path, good.path]
            let result = try CLI.run("muscaps", args + ["--no-meteor"], environment: environment)
            XCTAssertEqual(result.status, 1, "\(name): \(result.stdout)", line: line)
            let lines = result.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(name): one line, got \(result.stderr)", line: line)
            XCTAssertTrue(result.stderr.hasPrefix("muscaps: error: "), result.stderr, line: line)
            XCTAssertTrue(result.stderr.contains(name), "\(name) should be named: \(result.stderr)", line: line)
            XCTAssertTrue(result.stderr.contains(expect), "\(name): expected \"\(expect)\" in \(result.stderr)", line: line)
        }
        try check("missing.json", nil, expect: "no such file")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a-directory.json"), withIntermediateDirectories: true)
        try check("a-directory.json", nil, expect: "cannot read")
        try check("malformed.json", #"[{"track_id": "a", "caption": "piano"},"#, expect: "not valid JSON")
        try check("object.json", #"{"a": "piano"}"#, expect: "expected a JSON list")
        try check("empty-list.json", "[]", expect: "empty")
        try check("not-object.json", #"["piano"]"#, expect: "entry 1 is not an object")
        try check("no-id.json", #"[{"caption": "piano"}]"#, expect: "entry 1 has no \"track_id\"")
        try check("bool-id.json", #"[{"track_id": true, "caption": "piano"}]"#, expect: "\"track_id\" must be")
        try check("float-id.json", #"[{"track_id": 1.5, "caption": "piano"}]"#, expect: "\"track_id\" must be")
        try check("no-caption.json", #"[{"track_id": "a"}]"#, expect: "has no \"caption\"")
        try check("number-caption.json", #"[{"track_id": "a", "caption": 3}]"#, expect: "\"caption\" must be a string")
        try check("duplicate.json", #"[{"track_id": "a", "caption": "x"}, {"track_id": "b", "caption": "y"}, {"track_id": "a", "caption": "z"}]"#,
                  expect: "track a has two predictions (entries 1 and 3)")
        // A predicted track with no references: names the references file and the track.
        try check("refs-missing-b.json", #"[{"track_id": "a", "caption": "soft piano"}]"#, asReferences: true,
                  expect: "no references for 1 predicted track(s)")
        // References for a track that has no prediction: names the predictions file.
        let extra = dir.appendingPathComponent("refs-extra.json")
        try write([["track_id": "a", "caption": "x"], ["track_id": "b", "caption": "y"], ["track_id": "c", "caption": "z"]], to: extra)
        let result = try CLI.run("muscaps", ["score", goodPredictions.path, extra.path, "--no-meteor"], environment: environment)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("good-predictions.json: no prediction for 1 track(s)"), result.stderr)
        XCTAssertTrue(result.stderr.hasSuffix(": c\n"), result.stderr)
        try check("empty-reference.json", #"[{"track_id": "a", "caption": "x"}, {"track_id": "b", "caption": ""}]"#,
                  asReferences: true, expect: "entry 2 (track b): the caption is empty")
    }
}
