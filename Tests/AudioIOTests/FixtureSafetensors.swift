import Foundation

/// A minimal safetensors reader for fixtures (AudioIOTests cannot see NeuralCore's `SafetensorsFile`:
/// the target depends on AudioIO only). Format: 8-byte little-endian header length, JSON header
/// `{name: {dtype, shape, data_offsets}}`, then raw little-endian tensor bytes.
struct FixtureSafetensors {
    struct Tensor {
        let shape: [Int]
        let values: [Float]
    }

    enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        var description: String { if case let .malformed(text) = self { return text }; return "" }
    }

    private let data: Data
    private let header: [String: Any]
    private let dataStart: Int
    let path: String

    init(path: String) throws {
        self.path = path
        data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 8 else { throw Failure.malformed("\(path): shorter than 8 bytes") }
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard length <= UInt64(data.count - 8) else { throw Failure.malformed("\(path): header length \(length) too large") }
        dataStart = 8 + Int(length)
        guard let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart)) as? [String: Any] else {
            throw Failure.malformed("\(path): header is not a JSON object")
        }
        header = object
    }

    var names: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

    func tensor(_ name: String) throws -> Tensor {
        guard let entry = header[name] as? [String: Any],
              let dtype = entry["dtype"] as? String,
              let shape = entry["shape"] as? [Int],
              let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
            throw Failure.malformed("\(path): no tensor '\(name)' (has \(names))")
        }
        let count = shape.reduce(1, *)
        let bytes = data.subdata(in: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        var values = [Float](repeating: 0, count: count)
        try bytes.withUnsafeBytes { raw in
            switch dtype {
            case "F32":
                guard raw.count == 4 * count else { throw Failure.malformed("\(path): '\(name)' size mismatch") }
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "F64":
                guard raw.count == 8 * count else { throw Failure.malformed("\(path): '\(name)' size mismatch") }
                for i in 0..<count { values[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case "F16":
                guard raw.count == 2 * count else { throw Failure.malformed("\(path): '\(name)' size mismatch") }
                for i in 0..<count { values[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            default:
                throw Failure.malformed("\(path): '\(name)' has unsupported dtype \(dtype)")
            }
        }
        return Tensor(shape: shape, values: values)
    }
}
