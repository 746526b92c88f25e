import CatalogueBatch
import Foundation
import XCTest

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        // FIPS 180-4 examples and the million-'a' vector.
        XCTAssertEqual(SHA256.hex(of: ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var hasher = SHA256()
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { block.withUnsafeBytes { hasher.update($0) } }
        XCTAssertEqual(SHA256.hex(hasher.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A file's digest equals coreutils' sha256sum (sizes around the 64-byte block and 1 MiB read boundaries).
    func testFileDigestMatchesSha256sum() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let random = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        for size in [0, 55, 56, 63, 64, 65, 1 << 20, (1 << 20) + 17] {
            let url = directory.appendingPathComponent("f\(size)")
            try (try random.read(upToCount: size) ?? Data()).write(to: url)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [url.path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(try SHA256.hex(ofFileAt: url.path), String(output.prefix(64)), "size \(size)")
        }
        XCTAssertThrowsError(try SHA256.hex(ofFileAt: directory.appendingPathComponent("missing").path))
    }
}

final class ShardTests: XCTestCase {
    func testParse() throws {
        XCTAssertEqual(try Shard.parse("2/4"), try Shard(index: 2, count: 4))
        XCTAssertEqual(try Shard.parse("0/1"), Shard.whole)
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", ""] {
            XCTAssertThrowsError(try Shard.parse(bad), bad) { XCTAssertFalse("\($0)".isEmpty) }
        }
    }

    /// The assignment is the first 8 bytes of SHA-256(path) mod n — values computed with Python's hashlib
    /// (`int(sha256(p).hexdigest()[:16], 16) % n`), so any machine and version agree.
    func testAssignmentIsStable() {
        XCTAssertEqual(Shard.index(of: "/music/a.flac", count: 4), 3)
        XCTAssertEqual(Shard.index(of: "/music/a.flac", count: 7), 2)
        XCTAssertEqual(Shard.index(of: "/music/b.wav", count: 4), 2)
        XCTAssertEqual(Shard.index(of: "/music/b.wav", count: 7), 6)
        XCTAssertEqual(Shard.index(of: "x", count: 4), 0)
    }

    func testBalancedAndEveryPathInExactlyOneShard() throws {
        let paths = (0..<10_000).map { "/archive/\($0 / 100)/track-\($0).flac" }
        let shards = try (0..<4).map { try Shard(index: $0, count: 4) }
        var sizes = [0, 0, 0, 0]
        for path in paths {
            let owners = shards.filter { $0.contains(path) }
            XCTAssertEqual(owners.count, 1)
            sizes[owners[0].index] += 1
        }
        for size in sizes { XCTAssertEqual(Double(size), 2500, accuracy: 2500 * 0.05, "\(sizes)") }
    }

    func testShardFromSlurmKubernetesOrNothing() throws {
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"], countOption: nil), try Shard(index: 2, count: 4))
        // --array=1-4 numbers tasks from 1.
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"], countOption: nil), try Shard(index: 0, count: 4))
        XCTAssertEqual(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5"], countOption: 8), try Shard(index: 5, count: 8))
        XCTAssertEqual(try Shard.fromEnvironment([:], countOption: nil), Shard.whole)
        XCTAssertThrowsError(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "5"], countOption: nil)) {
            XCTAssertTrue("\($0)".contains("--shard-count"), "\($0)")
        }
        XCTAssertThrowsError(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "8"], countOption: 8))
        XCTAssertThrowsError(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"], countOption: nil))
        XCTAssertThrowsError(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"], countOption: nil)) {
            XCTAssertTrue("\($0)".contains("contiguous"), "\($0)")
        }
        XCTAssertThrowsError(try Shard.fromEnvironment([:], countOption: 4))
    }
}
