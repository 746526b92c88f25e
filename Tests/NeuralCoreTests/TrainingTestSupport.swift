import Foundation
import XCTest
@testable import NeuralCore

/// Paths and helpers for the training-layer tests.
enum TrainingFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// Written by Tools/torch_reference/make_fixtures.py (PyTorch 2.13 CPU).
    static func layers() throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: directory.appendingPathComponent("training_layers.safetensors"))
    }
}

/// |a − e| ≤ tolerance · max(|e|, floorFraction · max|E|) for every element; returns the worst ratio
/// |a − e| / allowed (≤ 1 passes) and fails the test otherwise.
@discardableResult
func assertMatches(_ actual: [Float], _ expected: [Float], tolerance: Float, floorFraction: Float = 0.1,
                   _ label: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
    let scale = expected.reduce(Float(0)) { max($0, abs($1)) }
    var worst: Float = 0, worstIndex = -1
    for i in 0..<min(actual.count, expected.count) {
        let allowed = tolerance * max(abs(expected[i]), floorFraction * scale)
        let difference = abs(actual[i] - expected[i])
        if difference == 0 { continue }
        let ratio = allowed > 0 ? difference / allowed : .infinity
        if !(ratio <= worst) { worst = ratio; worstIndex = i }
    }
    if !(worst <= 1) {
        XCTFail("\(label): element \(worstIndex) is \(actual[worstIndex]), reference \(expected[worstIndex]) (\(worst)× the tolerance)",
                file: file, line: line)
    }
    return worst
}

extension Parameter {
    var valueArray: [Float] { Array(values) }
    var gradientArray: [Float] { Array(gradients) }
}

/// Central finite differences of `loss` with respect to every element of `values` (count `count`),
/// compared with `analytic`: |fd − g| ≤ relative · max(|g|, 0.1 · max|G|) + absolute. Returns the worst ratio.
@discardableResult
func checkFiniteDifferences(_ label: String, values: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
                            step: Float = 1e-2, relative: Double = 1e-2, absolute: Double = 1e-5,
                            indices: [Int]? = nil, loss: () -> Double,
                            file: StaticString = #filePath, line: UInt = #line) -> Double {
    let scale = analytic.reduce(0) { max($0, Double(abs($1))) }
    var worst = 0.0
    defer { if ProcessInfo.processInfo.environment["MUSCAPS_PRINT_FD"] != nil { print("FD \(label): worst \(worst) of tolerance (max|g| \(scale))") } }
    for i in indices ?? Array(0..<count) {
        let original = values[i]
        values[i] = original + step
        let plus = loss()
        values[i] = original - step
        let minus = loss()
        values[i] = original
        let numeric = (plus - minus) / (2 * Double(step))
        let g = Double(analytic[i])
        let allowed = relative * max(abs(g), 0.1 * scale) + absolute
        let ratio = abs(numeric - g) / allowed
        worst = max(worst, ratio)
        if !(ratio <= 1) {
            XCTFail("\(label)[\(i)]: finite difference \(numeric), analytic \(g) (\(ratio)× the tolerance)", file: file, line: line)
        }
    }
    return worst
}

/// Σ r ⊙ y in double precision.
func weightedSum(_ y: UnsafePointer<Float>, _ r: [Float]) -> Double {
    var total = 0.0
    for i in r.indices { total += Double(y[i]) * Double(r[i]) }
    return total
}

/// Batch-first [B, T, C] → time-major [T, B, C].
func timeMajor(_ x: [Float], batch: Int, steps: Int, width: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for b in 0..<batch { for t in 0..<steps { for j in 0..<width { out[(t * batch + b) * width + j] = x[(b * steps + t) * width + j] } } }
    return out
}

/// Time-major [T, B, C] → batch-first [B, T, C].
func batchFirst(_ x: [Float], batch: Int, steps: Int, width: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for b in 0..<batch { for t in 0..<steps { for j in 0..<width { out[(b * steps + t) * width + j] = x[(t * batch + b) * width + j] } } }
    return out
}

/// A heap vector for finite-difference tests: perturbed through `pointer` while the loss closure reads
/// `array` (a Swift array passed `inout` would overlap with the closure's read).
final class TestVector {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>
    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }
    deinit { pointer.deallocate() }
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
