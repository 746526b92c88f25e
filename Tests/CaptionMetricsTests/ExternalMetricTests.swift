@testable import CaptionMetrics
import Foundation
import XCTest

/// METEOR against the official jar's golden values; SPICE's bridge; "unavailable, never 0".
final class ExternalMetricTests: XCTestCase {
    /// METEOR through CaptionScorer on the raw golden captions (the jar pycocoevalcap ships, found as
    /// `muscaps score` finds it). It must run (the test fails otherwise) in CI (.ci/run exports CI=true) and on any
    /// machine where Tools/setup.sh installed the jar (fetch-meteor.sh leaves an `installed-by` stamp beside it);
    /// elsewhere it is skipped, saying why, when Java or the jar is missing.
    func testMETEORMatchesTheOfficialJarOnTheGoldenSet() throws {
        guard let meteor = try requireMETEOR() else { return }
        let golden = try Golden.load()
        var options = CaptionScorer.Options()
        options.spice = false
        let scores = try CaptionScorer(options: options).score(
            candidates: Dictionary(uniqueKeysWithValues: golden.cases.map { ($0.id, $0.candidate) }),
            references: Dictionary(uniqueKeysWithValues: golden.cases.map { ($0.id, $0.references) }))
        XCTAssertNil(scores.unavailable[.meteor])
        var worst = abs(scores.corpus[.meteor]! - golden.corpus["METEOR"]!)
        XCTAssertEqual(scores.corpus[.meteor]!, golden.corpus["METEOR"]!, accuracy: 1e-4, "corpus METEOR")
        for c in golden.cases {
            let got = scores.perTrack[c.id]![.meteor]!
            XCTAssertEqual(got, c.scores["METEOR"]!, accuracy: 1e-4, "\(c.id) METEOR")
            worst = max(worst, abs(got - c.scores["METEOR"]!))
        }
        // The corpus value is METEOR's own aggregate, not the mean of the cases.
        let mean = golden.cases.map { scores.perTrack[$0.id]![.meteor]! }.reduce(0, +) / Double(golden.cases.count)
        XCTAssertGreaterThan(abs(mean - scores.corpus[.meteor]!), 1e-3)
        // Sub-corpora through the bridge directly, one METEOR process for all of them.
        let byID = Dictionary(uniqueKeysWithValues: golden.cases.map { ($0.id, $0) })
        let results = try meteor.score(corpora: golden.subsets.map { subset in
            (subset.ids.map { byID[$0]!.tokenized.candidate }, subset.ids.map { byID[$0]!.tokenized.references })
        })
        for (subset, result) in zip(golden.subsets, results) {
            XCTAssertEqual(result.corpus, subset.corpus["METEOR"]!, accuracy: 1e-4, "subset \(subset.ids)")
            for (got, c) in zip(result.perCase, subset.cases) {
                XCTAssertEqual(got, c.scores["METEOR"]!, accuracy: 1e-4, "subset \(c.id)")
                worst = max(worst, abs(got - c.scores["METEOR"]!))
            }
        }
        print("METEOR (\(meteor.jar.path)): max |deviation| \(String(format: "%.1e", worst))")
    }

    /// No jar, no Java: the metrics are absent from the scores and listed with a reason — never 0.
    func testUnavailableMetricsAreReportedWithReasonsNeverAsZero() throws {
        let home = try temporaryDirectory()
        var options = CaptionScorer.Options()
        options.environment = ["HOME": home.path, "PATH": "/nonexistent",
                               "MUSCAPS_METEOR_JAR": home.appendingPathComponent("missing/meteor-1.5.jar").path]
        let scores = try CaptionScorer(options: options).score(
            candidates: ["t1": "a soft piano melody", "t2": "loud drums"],
            references: ["t1": ["a gentle piano melody"], "t2": ["loud rock drums", "drums"]])
        for metric in [CaptionMetric.meteor, .spice, .spider] {
            XCTAssertNil(scores.corpus[metric], "\(metric) must not have a corpus score")
            XCTAssertNil(scores.perTrack["t1"]![metric], "\(metric) must not have a per-track score")
            XCTAssertFalse((scores.unavailable[metric] ?? "").isEmpty, "\(metric) needs a reason")
        }
        XCTAssertTrue(scores.unavailable[.meteor]!.contains("MUSCAPS_METEOR_JAR"), scores.unavailable[.meteor]!)
        XCTAssertTrue(scores.unavailable[.spice]!.contains("MUSCAPS_SPICE_JAR"), scores.unavailable[.spice]!)
        XCTAssertTrue(scores.unavailable[.spider]!.contains("SPICE"), scores.unavailable[.spider]!)
        for metric in [CaptionMetric.bleu1, .bleu4, .rougeL, .cider] { XCTAssertNotNil(scores.corpus[metric]) }
    }

    /// Each way METEOR can be missing gives its own reason.
    func testMETEORUnavailableReasons() throws {
        let dir = try temporaryDirectory()
        let jar = dir.appendingPathComponent("meteor-1.5.jar")
        try Data("not really a jar".utf8).write(to: jar)
        // No paraphrase table beside the jar.
        var env = ["MUSCAPS_METEOR_JAR": jar.path, "PATH": "/nonexistent", "HOME": dir.path]
        XCTAssertTrue(reason(METEORScorer.locate(environment: env, currentDirectory: dir)).contains("paraphrase-en.gz"))
        // Table there, no Java.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("data/paraphrase-en.gz"))
        XCTAssertTrue(reason(METEORScorer.locate(environment: env, currentDirectory: dir)).contains("no Java runtime"))
        // Nothing configured and nothing installed anywhere we look.
        env = ["PATH": "/nonexistent", "HOME": dir.appendingPathComponent("empty-home").path]
        let none = METEORScorer.locateJar(environment: env, currentDirectory: dir.appendingPathComponent("nowhere"))
        if case .success = none, !FileManager.default.fileExists(atPath: "/usr/local/share/muscaps/meteor/meteor-1.5.jar") {
            XCTFail("found a METEOR jar where none should be")
        }
        // A Java that dies: the session reports it instead of hanging or returning 0.
        let java = try script(in: dir, name: "java", """
            #!/bin/sh
            echo "Exception in thread \\"main\\" java.lang.OutOfMemoryError: Java heap space" >&2
            exit 1
            """)
        let scorer = METEORScorer(jar: jar, java: java)
        XCTAssertThrowsError(try scorer.score(candidates: ["a b"], references: [["a b c"]])) { error in
            XCTAssertTrue("\(error)".contains("OutOfMemoryError"), "\(error)")
        }
    }

    /// SPICE's bridge with a stand-in for `java -jar spice-1.0.jar` (SPICE itself needs CoreNLP 3.6.0, which
    /// cannot be installed here): the input file it is given, and the scores and SPIDEr computed from its output.
    func testSPICEBridgeWritesSPICEInputAndReadsItsOutput() throws {
        let dir = try spiceInstall()
        let java = try script(in: dir, name: "java", """
            #!/bin/sh
            # argv: -jar -Xmx8G JAR IN -out OUT -subset -silent
            [ "$1" = "-jar" ] && [ "$2" = "-Xmx8G" ] && [ "$5" = "-out" ] && [ "$7" = "-subset" ] && [ "$8" = "-silent" ] || exit 9
            cp "$4" "\(dir.path)/seen-input.json"
            printf '[{"image_id": "t1", "scores": {"All": {"f": 0.25, "pr": 0.5, "re": 0.2}, "Color": {"f": null}}},\\n' > "$6"
            printf ' {"image_id": "t2", "scores": {"All": {"f": 0.75, "pr": 0.75, "re": 0.75}}}]\\n' >> "$6"
            """)
        var options = CaptionScorer.Options()
        options.meteor = false
        options.environment = ["MUSCAPS_SPICE_JAR": dir.appendingPathComponent("spice-1.0.jar").path, "MUSCAPS_JAVA": java.path]
        let scores = try CaptionScorer(options: options).score(
            candidates: ["t1": "A soft piano melody.", "t2": "Loud drums!"],
            references: ["t1": ["A gentle piano melody."], "t2": ["Loud rock drums.", "Drums."]])
        XCTAssertNil(scores.unavailable[.spice], scores.unavailable[.spice] ?? "")
        XCTAssertEqual(scores.corpus[.spice]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(scores.perTrack["t1"]![.spice]!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(scores.corpus[.spider]!, (scores.corpus[.cider]! + 0.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(scores.perTrack["t2"]![.spider]!, (scores.perTrack["t2"]![.cider]! + 0.75) / 2, accuracy: 1e-12)
        // SPICE got the tokenized captions, as pycocoevalcap gives them.
        let input = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("seen-input.json"))) as! [[String: Any]]
        XCTAssertEqual(input.count, 2)
        XCTAssertEqual(input[0]["image_id"] as? String, "t1")
        XCTAssertEqual(input[0]["test"] as? String, "a soft piano melody")
        XCTAssertEqual(input[1]["refs"] as? [String], ["loud rock drums", "drums"])
    }

    /// SPICE failing (as SPICE 1.0 does on Java 16+, or without its models) or undefined for a track:
    /// unavailable with the reason, and no SPIDEr.
    func testSPICEFailuresAreReportedNotScored() throws {
        let dir = try spiceInstall()
        let cases: [(String, String)] = [
            ("""
             #!/bin/sh
             echo 'Exception in thread "main" java.lang.NullPointerException: Cannot invoke "javax.script.ScriptEngine.put"' >&2
             exit 1
             """, "NullPointerException"),
            ("""
             #!/bin/sh
             printf '[{"image_id": "t1", "scores": {"All": {"f": 0.5}}}, {"image_id": "t2", "scores": {"All": {"f": null}}}]' > "$6"
             """, "NaN"),
            ("""
             #!/bin/sh
             printf '{"not": "a list"}' > "$6"
             """, "not a JSON list"),
        ]
        for (body, expected) in cases {
            let java = try script(in: dir, name: "java-\(expected.filter(\.isLetter))", body)
            var options = CaptionScorer.Options()
            options.meteor = false
            options.environment = ["MUSCAPS_SPICE_JAR": dir.appendingPathComponent("spice-1.0.jar").path, "MUSCAPS_JAVA": java.path]
            let scores = try CaptionScorer(options: options).score(candidates: ["t1": "piano", "t2": "drums"],
                                                                   references: ["t1": ["a piano"], "t2": ["drums"]])
            XCTAssertNil(scores.corpus[.spice])
            XCTAssertNil(scores.corpus[.spider])
            XCTAssertTrue(scores.unavailable[.spice]?.contains(expected) == true, "\(scores.unavailable[.spice] ?? "nil")")
            XCTAssertNotNil(scores.unavailable[.spider])
        }
        // A SPICE jar without CoreNLP beside it is not even started.
        let bare = try temporaryDirectory()
        try Data().write(to: bare.appendingPathComponent("spice-1.0.jar"))
        XCTAssertTrue(reason(SPICEScorer.locate(environment: ["MUSCAPS_SPICE_JAR": bare.appendingPathComponent("spice-1.0.jar").path]))
            .contains("stanford-corenlp-3.6.0.jar"))
        XCTAssertTrue(reason(SPICEScorer.locate(environment: ["MUSCAPS_SPICE_JAR": "/nonexistent/spice-1.0.jar"])).contains("does not exist"))
    }

    // MARK: helpers

    /// The METEOR scorer; nil after recording a failure in CI; skips elsewhere when unavailable.
    func requireMETEOR() throws -> METEORScorer? {
        let root = Golden.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        switch METEORScorer.locate(currentDirectory: root) {
        case let .success(scorer):
            return scorer
        case let .failure(reason):
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("METEOR must run in CI (.ci/run installs it with Tools/metrics/fetch-meteor.sh): \(reason)")
                return nil
            }
            if let stamp = Self.meteorInstallStamp() {
                XCTFail("METEOR was installed here by Tools/setup.sh (\(stamp.path) exists) but cannot run: \(reason)")
                return nil
            }
            throw XCTSkip("METEOR parity not checked: \(reason). Run Tools/metrics/fetch-meteor.sh (needs Java).")
        }
    }

    /// The stamp Tools/metrics/fetch-meteor.sh (run by Tools/setup.sh) leaves beside the jar it installed.
    static func meteorInstallStamp(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let directory = environment["MUSCAPS_METEOR_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".local/share/muscaps/meteor")
        let stamp = directory.appendingPathComponent("installed-by")
        return FileManager.default.fileExists(atPath: stamp.path) ? stamp : nil
    }

    func reason<T>(_ result: Result<T, MetricUnavailable>) -> String {
        if case let .failure(reason) = result { return reason.reason }
        return "(available)"
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muscaps-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A directory laid out like a SPICE install (jar + CoreNLP jars in lib/), with placeholder files.
    func spiceInstall() throws -> URL {
        let dir = try temporaryDirectory()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("lib"), withIntermediateDirectories: true)
        for name in ["spice-1.0.jar", "lib/stanford-corenlp-3.6.0.jar", "lib/stanford-corenlp-3.6.0-models.jar"] {
            try Data().write(to: dir.appendingPathComponent(name))
        }
        return dir
    }

    func script(in dir: URL, name: String, _ body: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data((body + "\n").utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }
}
