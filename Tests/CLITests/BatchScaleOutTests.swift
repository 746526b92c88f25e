import Foundation
import TestServerSupport
import XCTest

/// `muscaps batch` scaled out the way users run it: a real single-node Slurm cluster (munged, slurmctld,
/// slurmd from Debian, started by Tools/slurm/local-cluster.sh in a private folder) running the shipped
/// sbatch script as `--array=0-3`, and GNU parallel running four shards. Each merged result must equal a
/// single-process run byte for byte, and the merged index must hold every track.
final class BatchScaleOutTests: XCTestCase {
    static let clips = 40
    static let tasks = ["--summary", "--tags", "--features"]

    struct Fixture {
        let root: URL
        let music: URL
        let reference: String
    }

    nonisolated(unsafe) static var shared: Result<Fixture, Error>?

    /// The catalogue and the single-process reference (shared by both tests).
    static func fixture() throws -> Fixture {
        if let shared { return try shared.get() }
        let result = Result { () throws -> Fixture in
            let root = try CLI.temporaryDirectory()
            let music = root.appendingPathComponent("music")
            try BatchCatalogue.make(in: music, clips: clips)
            let out = root.appendingPathComponent("single")
            let run = try CLI.run("muscaps", ["batch", music.path, "--out", out.path] + tasks, timeout: 600)
            guard run.status == 0 else { throw TestSetupError(message: "single run failed: \(run.stderr)") }
            let merged = out.appendingPathComponent("merged.jsonl")
            let merge = try CLI.run("muscaps", ["batch", "merge", out.path, "--catalogue", music.path, "--out", merged.path])
            guard merge.status == 0 else { throw TestSetupError(message: "merge failed: \(merge.stderr)") }
            return Fixture(root: root, music: music, reference: try String(contentsOf: merged, encoding: .utf8))
        }
        shared = result
        return try result.get()
    }

    override class func tearDown() {
        if case let .success(fixture)? = shared { try? FileManager.default.removeItem(at: fixture.root) }
        shared = nil
    }

    /// Merges `out` and checks it against the single run; also builds the index from the shards.
    func checkMerged(_ out: URL, fixture: Fixture, name: String) throws {
        // Inside the output folder, so file references read the same ("features/…") as the reference's.
        let merged = out.appendingPathComponent("merged.jsonl")
        let merge = try CLI.run("muscaps", ["batch", "merge", out.path, "--catalogue", fixture.music.path, "--out", merged.path])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertTrue(merge.stdout.contains("\(Self.clips) tracks from 4 shards (0 failed)"), merge.stdout)
        let text = try String(contentsOf: merged, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, Self.clips)
        XCTAssertEqual(text, fixture.reference, "\(name): merged shards differ from the single-process run")

        let index = fixture.root.appendingPathComponent("\(name).idx")
        let indexMerge = try CLI.run("muscaps", ["index", "merge", out.path, "--catalogue", fixture.music.path, "--out", index.path])
        XCTAssertEqual(indexMerge.status, 0, indexMerge.stderr)
        XCTAssertTrue(indexMerge.stdout.contains("\(Self.clips) files indexed from 4 shards; 0 failed"), indexMerge.stdout)
        let search = try CLI.run("muscaps", ["search", "piano", "--index", index.path, "--top", "3", "--json"])
        XCTAssertEqual(search.status, 0, search.stderr)
        XCTAssertEqual(search.stdout.split(separator: "\n").count, 3)
    }

    func testSlurmArrayMatchesSingleProcessRun() throws {
        let fixture = try Self.fixture()
        guard getuid() == 0 else {
            XCTFail("the Slurm test starts slurmd, which must run as root (CI does); run the suite as root")
            return
        }
        for tool in ["munged", "slurmctld", "slurmd"] { _ = try TestTools.require(tool, package: tool == "munged" ? "munge" : "slurm-wlm") }
        let sbatchTool = try TestTools.require("sbatch", package: "slurm-wlm")
        let cluster = try ScratchDirectory("mslurm")
        let script = CLI.repositoryRoot.appendingPathComponent("Tools/slurm/local-cluster.sh").path
        defer { _ = try? TestTools.run("/bin/bash", [script, "stop", cluster.path], timeout: 30) }
        let started = try TestTools.run("/bin/bash", [script, "start", cluster.path], timeout: 60)
        XCTAssertTrue(started.contains("SLURM_CONF="), started)
        let environment = ["SLURM_CONF": cluster.file("slurm.conf"), "MUSCAPS": CLI.productsDirectory.appendingPathComponent("muscaps").path]

        let out = fixture.root.appendingPathComponent("slurm")
        let sbatch = CLI.repositoryRoot.appendingPathComponent("Tools/slurm/muscaps-batch.sbatch").path
        // --wait: sbatch returns when every task of the array has ended, with a failing status if one failed.
        let submitted = try TestTools.run(sbatchTool, ["--wait", "--array=0-3", "--cpus-per-task=1", "--chdir", cluster.path,
                                                              "--output", cluster.file("task-%a.log"), sbatch, fixture.music.path, out.path] + Self.tasks,
                                          environment: environment, timeout: 600)
        XCTAssertTrue(submitted.contains("Submitted batch job"), submitted)
        for task in 0..<4 {
            let log = (try? String(contentsOfFile: cluster.file("task-\(task).log"), encoding: .utf8)) ?? ""
            XCTAssertTrue(log.contains("shard \(task)/4 of \(fixture.music.path)"), "task \(task) log: \(log)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(String(format: "batch-%04d-of-0004.jsonl", task)).path))
        }
        try checkMerged(out, fixture: fixture, name: "slurm")
    }

    func testGNUParallelMatchesSingleProcessRun() throws {
        let fixture = try Self.fixture()
        let parallel = try TestTools.require("parallel", package: "parallel")
        let out = fixture.root.appendingPathComponent("parallel")
        let muscaps = CLI.productsDirectory.appendingPathComponent("muscaps").path
        // The command docs/SCALE-OUT.md gives: four shards, two at a time, one core each.
        try TestTools.run(parallel, ["--will-cite", "--halt", "now,fail=1", "-j", "2",
                                                  muscaps, "batch", fixture.music.path, "--out", out.path, "--jobs", "1"] + Self.tasks +
                                                  ["--shard", "{}/4", ":::", "0", "1", "2", "3"], timeout: 600)
        try checkMerged(out, fixture: fixture, name: "parallel")
    }
}
