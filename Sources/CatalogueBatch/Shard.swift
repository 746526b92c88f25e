import Foundation

/// Which share of a catalogue one process handles: track `path` belongs to shard
/// `first 8 bytes of SHA-256(path, UTF-8) as a big-endian integer mod count`.
///
/// The assignment depends only on the path and the shard count — not on the other tracks, their order or
/// the machine — so every task of a scheduler array agrees on it without talking to the others, shares
/// are balanced (SHA-256 is uniform; 10⁴ paths over 4 shards stay within a few percent), and adding
/// tracks to the catalogue moves none of the existing ones (changing the count moves most).
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let whole = Shard(uncheckedIndex: 0, count: 1)

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw BatchError("the shard count must be at least 1 (got \(count))") }
        guard index >= 0 && index < count else { throw BatchError("shard \(index) does not exist among \(count) shards (numbered 0 to \(count - 1))") }
        self.index = index
        self.count = count
    }

    private init(uncheckedIndex: Int, count: Int) {
        index = uncheckedIndex
        self.count = count
    }

    /// "i/n", as `--shard` takes it.
    public var description: String { "\(index)/\(count)" }

    /// Parses `--shard i/n` (0-based i).
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw BatchError("--shard takes INDEX/COUNT with a 0-based index, e.g. 0/4 (got '\(text)')")
        }
        return try Shard(index: index, count: count)
    }

    /// The shard a scheduler gave this process, when no `--shard` is given:
    /// - Slurm job arrays: `SLURM_ARRAY_TASK_ID` relative to `SLURM_ARRAY_TASK_MIN` (divided by
    ///   `SLURM_ARRAY_TASK_STEP`) out of `SLURM_ARRAY_TASK_COUNT`, so `--array=0-3` and `--array=1-4` both
    ///   give shards 0…3 of 4;
    /// - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` out of `countOption` (`--shard-count`, the Job's
    ///   `completions`; Kubernetes does not put the count in the environment);
    /// - neither: the whole catalogue.
    public static func fromEnvironment(_ environment: [String: String], countOption: Int?) throws -> Shard {
        func integer(_ key: String) throws -> Int? {
            guard let text = environment[key], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw BatchError("\(key)=\(text) is not an integer") }
            return value
        }
        if let id = try integer("SLURM_ARRAY_TASK_ID") {
            let count = try countOption ?? integer("SLURM_ARRAY_TASK_COUNT")
            guard let count else { throw BatchError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shard-count") }
            let minimum = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = max(1, try integer("SLURM_ARRAY_TASK_STEP") ?? 1)
            guard (id - minimum) % step == 0 else { throw BatchError("SLURM_ARRAY_TASK_ID=\(id) is not on the array's step \(step) from \(minimum)") }
            do { return try Shard(index: (id - minimum) / step, count: count) } catch {
                throw BatchError("Slurm array task \(id) (min \(minimum), step \(step)) gives no shard of \(count): the array must be one contiguous range such as --array=0-\(count - 1)")
            }
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let count = countOption else {
                throw BatchError("JOB_COMPLETION_INDEX=\(index) is set (a Kubernetes Indexed Job): give --shard-count with the Job's completions")
            }
            return try Shard(index: index, count: count)
        }
        if let countOption { throw BatchError("--shard-count \(countOption) needs a shard index: --shard, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX") }
        return .whole
    }

    /// The shard `path` belongs to among `count`.
    public static func index(of path: String, count: Int) -> Int {
        var hasher = SHA256()
        hasher.update(Array(path.utf8))
        let digest = hasher.finalize()
        let prefix = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(prefix % UInt64(count))
    }

    public func contains(_ path: String) -> Bool { count == 1 || Self.index(of: path, count: count) == index }

    /// Output names carry the shard as `batch-0003-of-0016`, so every task of an array can share one folder.
    public var fileStem: String { String(format: "batch-%04d-of-%04d", index, count) }
}
