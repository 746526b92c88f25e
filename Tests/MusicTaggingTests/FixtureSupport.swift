import Foundation
import NeuralCore
import XCTest

/// Paths of the committed golden fixtures (written by `Tools/musicnn/make_fixtures.py` from the
/// TensorFlow reference; see Tools/README.md).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let musicnn = directory.appendingPathComponent("musicnn")
    static let audio = directory.appendingPathComponent("audio")
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let models = repositoryRoot.appendingPathComponent("Models")

    /// Every reference output file for `model` ("MTT_musicnn" or "MSD_musicnn"), as (clip name, file).
    static func referenceOutputs(model: String) throws -> [(clip: String, file: SafetensorsFile)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: musicnn.path)
            .filter { $0.hasSuffix(".\(model).safetensors") }.sorted()
        return try names.map { name in
            (String(name.dropLast(".\(model).safetensors".count)),
             try SafetensorsFile(contentsOf: musicnn.appendingPathComponent(name)))
        }
    }
}

/// Element-wise comparison: |a − e| ≤ relative · max(|e|, floorFraction · max|E|).
///
/// Relative error alone is meaningless for values near zero inside a tensor whose values reach ~100:
/// float32 accumulation in either implementation leaves absolute errors proportional to the tensor's
/// scale (TensorFlow's own float32 result differs from a float64 evaluation by up to 9.5e-4 of max|E| on
/// cnn3). The floor makes "relative" mean relative to the tensor's scale for tiny elements.
func assertClose(_ actual: [Float], _ expected: [Float], relative: Float, floorFraction: Float = 0.1,
                 _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
    let scale = expected.reduce(Float(0)) { max($0, abs($1)) }
    var worst: (index: Int, excess: Float) = (-1, 0)
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        if a == e { continue }  // equal infinities included
        let allowed = relative * max(abs(e), floorFraction * scale)
        let excess = abs(a - e) / allowed
        if !(excess <= 1) && (worst.index < 0 || !(excess <= worst.excess)) { worst = (i, excess) }
    }
    if worst.index >= 0 {
        XCTFail("\(label): element \(worst.index) is \(actual[worst.index]), reference \(expected[worst.index]) (\(worst.excess)× the tolerance)",
                file: file, line: line)
    }
}
