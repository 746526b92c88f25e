import Foundation

/// SHA-256 (FIPS 180-4), streaming. Used for the content hash of every track, the identity of the model
/// files a batch ran with, and the shard a path belongs to — values that must be the same on every machine
/// and in every version, which `Hasher` (seeded per process) is not. Written here because Foundation on
/// Linux has no digest API and swift-crypto would be a large dependency for one function.
public struct SHA256 {
    private var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var block = [UInt8](repeating: 0, count: 64)
    private var blockFill = 0
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public init() {}

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard var source = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var remaining = buffer.count
        length &+= UInt64(remaining)
        // Top up a partial block, then whole blocks straight from the buffer (debug builds hash audio files
        // too, so the loop avoids per-byte array work).
        if blockFill > 0 {
            let take = min(64 - blockFill, remaining)
            for j in 0..<take { block[blockFill + j] = source[j] }
            blockFill += take
            source += take
            remaining -= take
            if blockFill < 64 { return }
            block.withUnsafeBufferPointer { compress($0.baseAddress!) }
            blockFill = 0
        }
        while remaining >= 64 {
            compress(source)
            source += 64
            remaining -= 64
        }
        for j in 0..<remaining { block[j] = source[j] }
        blockFill = remaining
    }

    /// The 32-byte digest; the hasher is consumed.
    public mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80] + [UInt8](repeating: 0, count: (blockFill < 56 ? 55 - blockFill : 119 - blockFill))
        for shift in stride(from: 56, through: 0, by: -8) { padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        padding.withUnsafeBytes { update($0) }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for word in state { for shift in [24, 16, 8, 0] { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) } }
        return digest
    }

    private mutating func compress(_ bytes: UnsafePointer<UInt8>) {
        state = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 {
                w[i] = UInt32(bytes[4 * i]) << 24 | UInt32(bytes[4 * i + 1]) << 16 | UInt32(bytes[4 * i + 2]) << 8 | UInt32(bytes[4 * i + 3])
            }
            for i in 16..<64 {
                let s0 = sha256Rotate(w[i - 15], 7) ^ sha256Rotate(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = sha256Rotate(w[i - 2], 17) ^ sha256Rotate(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            return Self.k.withUnsafeBufferPointer { k in Self.rounds(state, w, k) }
        }
    }

    private static func rounds(_ state: [UInt32], _ w: UnsafeMutableBufferPointer<UInt32>, _ k: UnsafeBufferPointer<UInt32>) -> [UInt32] {
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let s1 = sha256Rotate(e, 6) ^ sha256Rotate(e, 11) ^ sha256Rotate(e, 25)
            let choice = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
            let s0 = sha256Rotate(a, 2) ^ sha256Rotate(a, 13) ^ sha256Rotate(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ majority
            h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        return [state[0] &+ a, state[1] &+ b, state[2] &+ c, state[3] &+ d, state[4] &+ e, state[5] &+ f, state[6] &+ g, state[7] &+ h]
    }


    // MARK: Conveniences

    public static func hex(_ digest: [UInt8]) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    public static func hex(of text: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hex(hasher.finalize())
    }

    /// The digest of a file's bytes, read in 1 MiB pieces (memory does not grow with the file).
    public static func hex(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BatchError("\(path): cannot be opened for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hex(hasher.finalize())
    }
}

@inline(__always) private func sha256Rotate(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

/// A one-line error naming what went wrong (and usually the file).
public struct BatchError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
