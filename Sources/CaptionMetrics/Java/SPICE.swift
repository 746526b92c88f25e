import Foundation

/// SPICE 1.0 through the official jar, as pycocoevalcap 1.2 runs it (spice/spice.py): the tokenized
/// captions go to a JSON file `[{"image_id", "test", "refs"}]`, then
/// `java -jar -Xmx8G spice-1.0.jar IN -out OUT -subset -silent`; a case's score is its `All.f`, the corpus
/// score the mean of those (NaN if any case is NaN, as there).
///
/// SPICE needs Stanford CoreNLP 3.6.0 (`lib/stanford-corenlp-3.6.0.jar` and `-models.jar` beside the SPICE
/// jar), which no package registry reachable here provides, and pycocoevalcap's own download of it needs the
/// internet. So SPICE runs only when the user supplies the jar: `$MUSCAPS_SPICE_JAR` pointing at a complete
/// SPICE install. Otherwise it is reported unavailable, with the reason — never scored as 0.
/// SPICE 1.0 is a Java 8 program: with Java 16 and later it is reported to fail (InaccessibleObjectException
/// while setting up its parser, tylin/coco-caption#59; it also pretty-prints its output with the JavaScript
/// engine Java 15 removed). Point `$MUSCAPS_JAVA` at a Java 8 runtime for SPICE; a failure is reported with
/// the last line of SPICE's stderr. Unlike pycocoevalcap, no `-cache` is passed: the cache needs lmdbjni's
/// native library (a common failure) and only speeds up repeated runs.
public struct SPICEScorer: Sendable {
    public let jar: URL
    public let java: URL
    public var timeout: TimeInterval = 3600

    public init(jar: URL, java: URL) {
        self.jar = jar
        self.java = java
    }

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> Result<SPICEScorer, MetricUnavailable> {
        guard let path = environment["MUSCAPS_SPICE_JAR"], !path.isEmpty else {
            return .failure(MetricUnavailable("SPICE needs spice-1.0.jar with Stanford CoreNLP 3.6.0 in its lib/ "
                                              + "(not available from any package registry here); set MUSCAPS_SPICE_JAR to use it"))
        }
        let fm = FileManager.default
        guard fm.fileExists(atPath: path) else {
            return .failure(MetricUnavailable("MUSCAPS_SPICE_JAR=\(path) does not exist"))
        }
        let lib = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("lib")
        for needed in ["stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar"]
            where !fm.fileExists(atPath: lib.appendingPathComponent(needed).path) {
            return .failure(MetricUnavailable("\(lib.path)/\(needed) is missing (SPICE needs Stanford CoreNLP 3.6.0)"))
        }
        return JavaRuntime.locate(environment: environment).map { SPICEScorer(jar: URL(fileURLWithPath: path), java: $0) }
    }

    /// Scores tokenized captions; per-case values are NaN where SPICE found no tuples to compare.
    public func score(ids: [String], candidates: [String], references: [[String]]) throws -> (corpus: Double, perCase: [Double]) {
        precondition(ids.count == candidates.count && candidates.count == references.count && !ids.isEmpty)
        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("muscaps-spice-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let input = work.appendingPathComponent("input.json"), output = work.appendingPathComponent("output.json")
        let items: [[String: Any]] = zip(ids, zip(candidates, references)).map { id, pair in
            ["image_id": id, "test": pair.0, "refs": pair.1]
        }
        try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys]).write(to: input)
        let (status, stderr) = try JavaRuntime.run(
            java: java, arguments: ["-jar", "-Xmx8G", jar.path, input.path, "-out", output.path, "-subset", "-silent"],
            directory: jar.deletingLastPathComponent(), timeout: timeout)
        guard status == 0, let data = try? Data(contentsOf: output), !data.isEmpty else {
            throw MetricUnavailable("SPICE (\(jar.path)) failed (exit \(status))"
                                    + (JavaRuntime.lastLine(of: stderr).map { ": \($0)" } ?? ""))
        }
        return try SPICEScorer.parse(data, ids: ids)
    }

    /// SPICE's output file: `[{"image_id": …, "scores": {"All": {"f": …, …}, …}}]`; `f` may be null or "NaN".
    static func parse(_ data: Data, ids: [String]) throws -> (corpus: Double, perCase: [Double]) {
        guard let items = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw MetricUnavailable("SPICE wrote an output file that is not a JSON list")
        }
        var byID: [String: Double] = [:]
        for item in items {
            guard let id = item["image_id"].map({ "\($0)" }),
                  let all = (item["scores"] as? [String: Any])?["All"] as? [String: Any] else {
                throw MetricUnavailable("SPICE output entry without image_id or scores.All")
            }
            switch all["f"] {
            case let n as NSNumber: byID[id] = n.doubleValue
            case let s as String: byID[id] = Double(s) ?? .nan
            default: byID[id] = .nan
            }
        }
        let perCase = try ids.map { id -> Double in
            guard let f = byID[id] else { throw MetricUnavailable("SPICE output has no score for track \(id)") }
            return f
        }
        return (perCase.reduce(0, +) / Double(perCase.count), perCase)
    }
}
