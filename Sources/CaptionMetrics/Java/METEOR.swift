import Foundation

/// METEOR 1.5 through the official jar, exactly as pycocoevalcap 1.2 drives it (meteor/meteor.py):
/// `java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`, run in the jar's directory (it reads
/// `data/paraphrase-en.gz` from there); one `SCORE ||| ref1 ||| … ||| hypothesis` line per case, each
/// answered with a line of statistics, then one `EVAL ||| stats1 ||| stats2 …` line, answered with one
/// score per case and then the corpus score — METEOR's aggregate over the summed statistics, not the mean
/// of the per-case scores.
///
/// Where the jar comes from, in order:
/// 1. `$MUSCAPS_METEOR_JAR`;
/// 2. a pycocoevalcap install: `pycocoevalcap/meteor/meteor-1.5.jar` in the site-packages of `$VIRTUAL_ENV`,
///    of `.venv*/` in the current directory, of `~/.local/lib/python3.*`, or of the system Python;
/// 3. `~/.local/share/muscaps/meteor/meteor-1.5.jar`, then `/usr/local/share/muscaps/meteor/meteor-1.5.jar`
///    (where `Tools/metrics/fetch-meteor.sh` puts it, with its `data/paraphrase-en.gz`).
public struct METEORScorer: Sendable {
    public let jar: URL
    public let java: URL
    /// Whole-run limit; the jar needs ~5 s to load its tables, then scores thousands of captions a second.
    public var timeout: TimeInterval = 1800

    public static let jarName = "meteor-1.5.jar"
    public static let defaultLocations = ["~/.local/share/muscaps/meteor/meteor-1.5.jar",
                                          "/usr/local/share/muscaps/meteor/meteor-1.5.jar"]

    public init(jar: URL, java: URL) {
        self.jar = jar
        self.java = java
    }

    /// The jar and Java to use, or why METEOR cannot run here.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        -> Result<METEORScorer, MetricUnavailable> {
        let jar: URL
        switch locateJar(environment: environment, currentDirectory: currentDirectory) {
        case let .success(url): jar = url
        case let .failure(reason): return .failure(reason)
        }
        let paraphrases = jar.deletingLastPathComponent().appendingPathComponent("data/paraphrase-en.gz")
        guard FileManager.default.fileExists(atPath: paraphrases.path) else {
            return .failure(MetricUnavailable("\(jar.path) has no data/paraphrase-en.gz beside it (METEOR needs it)"))
        }
        return JavaRuntime.locate(environment: environment).map { METEORScorer(jar: jar, java: $0) }
    }

    static func locateJar(environment: [String: String], currentDirectory: URL) -> Result<URL, MetricUnavailable> {
        let fm = FileManager.default
        if let explicit = environment["MUSCAPS_METEOR_JAR"], !explicit.isEmpty {
            return fm.fileExists(atPath: explicit) ? .success(URL(fileURLWithPath: explicit))
                : .failure(MetricUnavailable("MUSCAPS_METEOR_JAR=\(explicit) does not exist"))
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) }
        var sitePackages: [URL] = []
        if let venv = environment["VIRTUAL_ENV"], !venv.isEmpty { sitePackages += pythonSitePackages(URL(fileURLWithPath: venv)) }
        for entry in (try? fm.contentsOfDirectory(atPath: currentDirectory.path)) ?? [] where entry.hasPrefix(".venv") {
            sitePackages += pythonSitePackages(currentDirectory.appendingPathComponent(entry))
        }
        if let home { sitePackages += pythonSitePackages(home.appendingPathComponent(".local")) }
        sitePackages += pythonSitePackages(URL(fileURLWithPath: "/usr/local"), folder: "dist-packages")
        sitePackages.append(URL(fileURLWithPath: "/usr/lib/python3/dist-packages"))
        for directory in sitePackages {
            let jar = directory.appendingPathComponent("pycocoevalcap/meteor").appendingPathComponent(jarName)
            if fm.fileExists(atPath: jar.path) { return .success(jar) }
        }
        for location in defaultLocations {
            let path = location.hasPrefix("~/") ? home.map { $0.appendingPathComponent(String(location.dropFirst(2))).path } : location
            if let path, fm.fileExists(atPath: path) { return .success(URL(fileURLWithPath: path)) }
        }
        return .failure(MetricUnavailable("meteor-1.5.jar not found (set MUSCAPS_METEOR_JAR, install pycocoevalcap, "
                                          + "or run Tools/metrics/fetch-meteor.sh)"))
    }

    /// `prefix/lib/python3.*/<folder>` directories.
    private static func pythonSitePackages(_ prefix: URL, folder: String = "site-packages") -> [URL] {
        let lib = prefix.appendingPathComponent("lib")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: lib.path)) ?? []
        return entries.filter { $0.hasPrefix("python3") }.sorted().map { lib.appendingPathComponent($0).appendingPathComponent(folder) }
    }

    /// Scores tokenized captions (as pycocoevalcap passes them); returns the corpus and per-case scores.
    public func score(candidates: [String], references: [[String]]) throws -> (corpus: Double, perCase: [Double]) {
        try score(corpora: [(candidates, references)])[0]
    }

    /// Several independent corpora through one METEOR process (the jar takes seconds to start), as
    /// pycocoevalcap's Meteor object scores successive compute_score calls.
    public func score(corpora: [(candidates: [String], references: [[String]])]) throws -> [(corpus: Double, perCase: [Double])] {
        let session = try JavaRuntime.LineSession(
            name: "METEOR (\(jar.path))", java: java,
            arguments: ["-jar", "-Xmx2G", jar.lastPathComponent, "-", "-", "-stdio", "-l", "en", "-norm"],
            directory: jar.deletingLastPathComponent(), timeout: timeout)
        defer { session.finish() }
        return try corpora.map { candidates, references in
            precondition(candidates.count == references.count && !candidates.isEmpty)
            var evalLine = "EVAL"
            for (candidate, refs) in zip(candidates, references) {
                // pycocoevalcap: hypothesis.replace('|||', '').replace('  ', ' ')
                let hypothesis = candidate.replacingAll("|||", with: "").replacingAll("  ", with: " ")
                try session.send((["SCORE"] + refs + [hypothesis]).joined(separator: " ||| "))
                evalLine += " ||| " + (try session.readLine()).trimmingCharacters(in: .whitespaces)
            }
            try session.send(evalLine)
            var perCase: [Double] = []
            for _ in candidates { perCase.append(try number(session.readLine())) }
            let corpus = try number(session.readLine())
            return (corpus, perCase)
        }
    }

    private func number(_ line: String) throws -> Double {
        guard let value = Double(line.trimmingCharacters(in: .whitespaces)) else {
            throw MetricUnavailable("METEOR answered \"\(line.prefix(80))\" where a score was expected")
        }
        return value
    }
}
