import Foundation

/// Errors reading or writing safetensors files. Each description is one line naming the file.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case shapeMismatch(path: String, name: String, expected: [Int], found: [Int])
    case unsupportedDType(path: String, name: String, dtype: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read weights file: \(reason)"
        case let .malformed(path, reason): return "\(path): not a valid safetensors file: \(reason)"
        case let .missingTensor(path, name): return "\(path): tensor '\(name)' is missing"
        case let .shapeMismatch(path, name, expected, found):
            return "\(path): tensor '\(name)' has shape \(found), expected \(expected)"
        case let .unsupportedDType(path, name, dtype):
            return "\(path): tensor '\(name)' has unsupported dtype \(dtype)"
        }
    }
}

/// Element types we read. Everything is converted to Float32 on load.
public enum SafetensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", f64 = "F64", i64 = "I64", i32 = "I32"

    var byteCount: Int {
        switch self {
        case .f16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        }
    }
}

/// A parsed safetensors file (https://github.com/huggingface/safetensors format: an 8-byte little-endian
/// header length, a JSON header, then raw little-endian tensor bytes).
///
/// The whole file is validated when opened — header bounds, every tensor's byte range and byte count —
/// so a truncated or corrupt weights file is reported before any model is built from it.
public struct SafetensorsFile: Sendable {
    public struct Entry: Sendable {
        public let dtype: SafetensorsDType
        public let shape: [Int]
        let byteRange: Range<Int>
    }

    public let path: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    private let data: Data
    private let dataStart: Int

    public var tensorNames: [String] { entries.keys.sorted() }

    public init(contentsOf url: URL) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafetensorsError.unreadable(path: path, reason: "no such file")
        }
        if isDirectory.boolValue { throw SafetensorsError.unreadable(path: path, reason: "is a directory") }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw SafetensorsError.unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        self.data = data
        guard data.count >= 8 else {
            throw SafetensorsError.malformed(path: path, reason: "file is \(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = data.withUnsafeBytes { raw -> UInt64 in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength > 1, headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw SafetensorsError.malformed(path: path, reason: "header length \(headerLength) does not fit a \(data.count)-byte file (truncated?)")
        }
        dataStart = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + dataStart))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw SafetensorsError.malformed(path: path, reason: "header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        let payloadCount = data.count - dataStart
        for (name, value) in header {
            guard let object = value as? [String: Any] else {
                throw SafetensorsError.malformed(path: path, reason: "entry '\(name)' is not an object")
            }
            if name == "__metadata__" {
                for (key, item) in object {
                    guard let text = item as? String else {
                        throw SafetensorsError.malformed(path: path, reason: "metadata '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let dtypeName = object["dtype"] as? String,
                  let shape = object["shape"] as? [Int],
                  let offsets = object["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafetensorsError.malformed(path: path, reason: "entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw SafetensorsError.unsupportedDType(path: path, name: name, dtype: dtypeName)
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw SafetensorsError.malformed(path: path, reason: "entry '\(name)' has a negative shape or bad offsets")
            }
            guard offsets[1] <= payloadCount else {
                throw SafetensorsError.malformed(path: path, reason: "tensor '\(name)' ends at byte \(offsets[1]) but the data section has \(payloadCount) bytes (truncated file?)")
            }
            let elementCount = shape.reduce(1, *)
            guard elementCount * dtype.byteCount == offsets[1] - offsets[0] else {
                throw SafetensorsError.malformed(path: path, reason: "tensor '\(name)' of shape \(shape) \(dtypeName) needs \(elementCount * dtype.byteCount) bytes, has \(offsets[1] - offsets[0])")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        self.metadata = metadata
        self.entries = entries
    }

    /// The tensor `name` converted to Float32; `expectedShape`, when given, must match exactly.
    public func tensor(_ name: String, shape expectedShape: [Int]? = nil) throws -> Tensor {
        guard let entry = entries[name] else { throw SafetensorsError.missingTensor(path: path, name: name) }
        if let expectedShape, expectedShape != entry.shape {
            throw SafetensorsError.shapeMismatch(path: path, name: name, expected: expectedShape, found: entry.shape)
        }
        let count = entry.shape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let base = dataStart + entry.byteRange.lowerBound
            switch entry.dtype {
            case .f32:
                for i in 0..<count {
                    scalars[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self)))
                }
            case .f16:
                for i in 0..<count {
                    scalars[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self))))
                }
            case .f64:
                for i in 0..<count {
                    scalars[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * i, as: UInt64.self))))
                }
            case .i64:
                for i in 0..<count {
                    scalars[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8 * i, as: Int64.self)))
                }
            case .i32:
                for i in 0..<count {
                    scalars[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * i, as: Int32.self)))
                }
            }
        }
        return Tensor(shape: entry.shape, scalars: scalars)
    }

    /// Like `tensor(_:shape:)` but also rejects NaN or infinite values, as weights must be finite.
    public func finiteTensor(_ name: String, shape expectedShape: [Int]? = nil) throws -> Tensor {
        let result = try tensor(name, shape: expectedShape)
        if let bad = result.scalars.firstIndex(where: { !$0.isFinite }) {
            throw SafetensorsError.malformed(path: path, reason: "tensor '\(name)' holds a non-finite value at index \(bad)")
        }
        return result
    }
}

/// Writes float32 tensors as a safetensors file.
public enum SafetensorsWriter {
    public static func data(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            let bytes = tensor.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does.
        while (8 + headerData.count) % 8 != 0 { headerData.append(0x20) }
        var output = Data(capacity: 8 + headerData.count + offset)
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(headerData)
        for (_, tensor) in tensors {
            if UInt32(1).littleEndian == 1 {
                // Little-endian host: the scalars' memory is already the file's byte order (one bulk copy;
                // per-element appends made large checkpoints slow).
                tensor.scalars.withUnsafeBytes { output.append(contentsOf: $0) }
            } else {
                for value in tensor.scalars {
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { output.append(contentsOf: $0) }
                }
            }
        }
        return output
    }

    public static func write(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        try data(tensors: tensors, metadata: metadata).write(to: url, options: .atomic)
    }
}
