import Foundation
import XCTest
@testable import NeuralCore

final class SafetensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func sampleData() throws -> Data {
        try SafetensorsWriter.data(
            tensors: [("a/kernel", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, -6.5])),
                      ("b", Tensor(shape: [1], scalars: [.pi]))],
            metadata: ["model": "test", "tags": "[\"x\"]"])
    }

    func testRoundTripKeepsShapesValuesAndMetadata() throws {
        let url = directory.appendingPathComponent("w.safetensors")
        try sampleData().write(to: url)
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensorNames, ["a/kernel", "b"])
        XCTAssertEqual(file.metadata["model"], "test")
        XCTAssertEqual(try file.tensor("a/kernel"), Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, -6.5]))
        XCTAssertEqual(try file.tensor("b").scalars, [.pi])
    }

    func testDataStartsEightByteAligned() throws {
        let data = try sampleData()
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual((8 + Int(headerLength)) % 8, 0)
    }

    func testReadsHalfPrecisionAndIntegerTensors() throws {
        // Hand-built file: F16 [2] = {1.5, -2}, I64 [1] = {7}.
        var payload = Data()
        for half in [Float16(1.5), Float16(-2)] { withUnsafeBytes(of: half.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        withUnsafeBytes(of: Int64(7).littleEndian) { payload.append(contentsOf: $0) }
        let header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"i":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(payload)
        let file = try SafetensorsFile(data: data)
        XCTAssertEqual(try file.tensor("h").scalars, [1.5, -2])
        XCTAssertEqual(try file.tensor("i").scalars, [7])
    }

    func testTruncatedFileIsRejectedNamingTheFile() throws {
        let data = try sampleData()
        let url = directory.appendingPathComponent("truncated.safetensors")
        try data.prefix(data.count - 5).write(to: url)
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: url)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(url.path), message)
            XCTAssertTrue(message.contains("truncated"), message)
        }
    }

    func testTruncatedInsideHeaderIsRejected() throws {
        let data = try sampleData()
        XCTAssertThrowsError(try SafetensorsFile(data: data.prefix(20), path: "cut.safetensors")) { error in
            XCTAssertTrue(String(describing: error).contains("cut.safetensors"))
        }
        XCTAssertThrowsError(try SafetensorsFile(data: data.prefix(3), path: "tiny.safetensors"))
    }

    func testGarbageAndMissingFilesAreRejected() throws {
        XCTAssertThrowsError(try SafetensorsFile(data: Data(repeating: 0xFF, count: 64), path: "garbage"))
        var notJSON = Data()
        withUnsafeBytes(of: UInt64(4).littleEndian) { notJSON.append(contentsOf: $0) }
        notJSON.append(Data("abcd".utf8))
        XCTAssertThrowsError(try SafetensorsFile(data: notJSON, path: "notjson")) { error in
            XCTAssertTrue(String(describing: error).contains("not a JSON object"))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: directory.appendingPathComponent("absent.safetensors"))) { error in
            XCTAssertTrue(String(describing: error).contains("no such file"))
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: directory)) { error in
            XCTAssertTrue(String(describing: error).contains("is a directory"))
        }
    }

    func testInconsistentByteCountIsRejected() throws {
        let header = #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: 8))
        XCTAssertThrowsError(try SafetensorsFile(data: data, path: "bad")) { error in
            XCTAssertTrue(String(describing: error).contains("needs 12 bytes"), String(describing: error))
        }
    }

    func testMissingTensorWrongShapeAndNonFiniteValues() throws {
        let data = try SafetensorsWriter.data(tensors: [("w", Tensor(shape: [2], scalars: [1, .nan]))])
        let file = try SafetensorsFile(data: data, path: "w.safetensors")
        XCTAssertThrowsError(try file.tensor("nope")) { XCTAssertEqual($0 as? SafetensorsError, .missingTensor(path: "w.safetensors", name: "nope")) }
        XCTAssertThrowsError(try file.tensor("w", shape: [3])) { error in
            XCTAssertTrue(String(describing: error).contains("expected [3]"))
        }
        XCTAssertThrowsError(try file.finiteTensor("w")) { error in
            XCTAssertTrue(String(describing: error).contains("non-finite value at index 1"))
        }
    }
}
