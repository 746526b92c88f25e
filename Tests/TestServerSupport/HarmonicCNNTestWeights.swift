import Foundation
import NeuralCore

/// The seeded random Harmonic CNN checkpoint of the golden fixtures, regenerated instead of committed
/// (14.5 MB): the same generator as `Tools/hcnn/seeded_weights.py`, bit for bit.
///
/// `write(to:record:)` takes the tensor names, shapes and metadata from the record the fixture script
/// made of the converter's output (`Tests/MusicTaggingTests/Fixtures/hcnn/converted_checkpoint.json`),
/// fills each tensor from the generator, checks its FNV-1a-64 hash against the record — so the file
/// written holds exactly the tensors `Tools/hcnn/convert_checkpoint.py` produced — and writes it.
public enum HarmonicCNNTestWeights {
    public static let recordURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MusicTaggingTests/Fixtures/hcnn/converted_checkpoint.json")

    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    struct Record: Decodable {
        struct Entry: Decodable { let name: String; let shape: [Int]; let fnv1a64: String }
        let metadata: [String: String]
        let tensors: [Entry]
    }

    /// Writes the converted seeded checkpoint to `url` (optionally with metadata entries replaced).
    public static func write(to url: URL, record: URL = recordURL, metadataOverrides: [String: String] = [:]) throws {
        let decoded = try JSONDecoder().decode(Record.self, from: Data(contentsOf: record))
        var tensors: [(name: String, tensor: Tensor)] = []
        for entry in decoded.tensors {
            let values = tensor(entry.name, shape: entry.shape)
            let hash = values.withUnsafeBytes { fnv1a64($0) }
            guard String(format: "%016llx", hash) == entry.fnv1a64 else {
                throw Mismatch(description: "\(entry.name): regenerated tensor hash \(String(format: "%016llx", hash)) ≠ converter's \(entry.fnv1a64)")
            }
            tensors.append((entry.name, Tensor(shape: entry.shape, scalars: values)))
        }
        try SafetensorsWriter.write(tensors: tensors, metadata: decoded.metadata.merging(metadataOverrides) { $1 }, to: url)
    }

    /// The converted checkpoint's metadata (tags, model name …) as the record holds it.
    public static func recordMetadata(record: URL = recordURL) throws -> [String: String] {
        try JSONDecoder().decode(Record.self, from: Data(contentsOf: record)).metadata
    }

    /// FNV-1a-64 of raw bytes.
    public static func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// Tensor `name`'s values: base + k·2^q with k from SplitMix64 over the name's FNV-1a stream.
    public static func tensor(_ name: String, shape: [Int]) -> [Float] {
        let (base, q) = distribution(name, shape: shape)
        let stream = Array(name.utf8).withUnsafeBytes { fnv1a64($0) }
        let count = shape.reduce(1, *)
        let step = Float(sign: .plus, exponent: q, significand: 1)
        return (0..<count).map { i in
            var z = stream &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let k = Int(z >> 44) - (1 << 19)
            return base + Float(k) * step   // exact: |k| < 2^19, base a multiple of 2^q
        }
    }

    static func distribution(_ name: String, shape: [Int]) -> (base: Float, q: Int) {
        let leaf = name.split(separator: ".").last.map(String.init) ?? name
        let inputNorm = name.hasPrefix("hstft_bn.")
        if leaf == "weight" && shape.count >= 2 {
            let fanIn = shape.dropFirst().reduce(1, *)
            let p = Int(Foundation.floor(Foundation.log2((6.0 / Double(fanIn)).squareRoot()))) - (name == "dense2.weight" ? 4 : 0)
            return (0, p - 19)
        }
        if name == "hstft.bw_Q" || leaf == "weight" { return (1, -21) }
        if leaf == "bias" { return (0, -23) }
        if leaf == "running_mean" { return inputNorm ? (-20, -16) : (0, -22) }
        if leaf == "running_var" { return inputNorm ? (400, -13) : (1, -21) }
        preconditionFailure("no seeded distribution for \(name)")
    }
}
