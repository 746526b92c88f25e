import XCTest
@testable import NeuralCore

/// The layers against direct, loop-by-loop definitions of the same maths.
final class LayerTests: XCTestCase {
    private var generator = SplitMix64(seed: 42)

    private func randomTensor(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.nextFloat(in: -1...1) })
    }

    /// out[t, f, c] = Σ_dt Σ_df padded[t + dt, f + df] · k[dt, df, c], padded = zero rows around the input.
    private func naiveConvolution(input: [Float], time: Int, freq: Int, kernel: Tensor, padTop: Int, padBottom: Int) -> [Float] {
        let kt = kernel.shape[0], kf = kernel.shape[1], filters = kernel.shape[3]
        let outTime = time + padTop + padBottom - kt + 1, outFreq = freq - kf + 1
        var output = [Float](repeating: 0, count: outTime * outFreq * filters)
        for t in 0..<outTime {
            for f in 0..<outFreq {
                for c in 0..<filters {
                    var sum: Double = 0
                    for dt in 0..<kt {
                        let inputRow = t + dt - padTop
                        guard inputRow >= 0 && inputRow < time else { continue }
                        for df in 0..<kf {
                            sum += Double(input[inputRow * freq + f + df]) * Double(kernel.scalars[(dt * kf + df) * filters + c])
                        }
                    }
                    output[(t * outFreq + f) * filters + c] = Float(sum)
                }
            }
        }
        return output
    }

    private func checkConvolution(time: Int, freq: Int, kt: Int, kf: Int, filters: Int, padTop: Int, padBottom: Int) {
        let input = randomTensor([time, freq])
        let kernel = randomTensor([kt, kf, 1, filters])
        let conv = TimeFreqConv2D(kernel: kernel, bias: Tensor(zeros: [filters]), inputTime: time, inputFreq: freq,
                                  padTop: padTop, padBottom: padBottom)
        var output = [Float](repeating: .nan, count: conv.outputCount)
        // Run twice: the second pass proves the padding rows stay zero and scratch reuse is clean.
        for _ in 0..<2 {
            input.scalars.withUnsafeBufferPointer { i in
                output.withUnsafeMutableBufferPointer { conv.forward(i.baseAddress!, into: $0.baseAddress!) }
            }
        }
        let expected = naiveConvolution(input: input.scalars, time: time, freq: freq, kernel: kernel, padTop: padTop, padBottom: padBottom)
        XCTAssertEqual(output.count, expected.count)
        for (a, b) in zip(output, expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    func testConvolutionWithPatchesMatchesDefinition() {
        checkConvolution(time: 9, freq: 12, kt: 7, kf: 5, filters: 3, padTop: 3, padBottom: 3)
    }

    func testConvolutionComputedInSeveralIm2colBlocksMatchesDefinition() {
        // 51 × 7 × 150 floats per output frame → 9 frames per block, 40 frames = 5 blocks, the last short.
        checkConvolution(time: 40, freq: 200, kt: 7, kf: 150, filters: 3, padTop: 3, padBottom: 3)
    }

    func testConvolutionSpanningAllFrequenciesMatchesDefinition() {
        checkConvolution(time: 10, freq: 6, kt: 7, kf: 6, filters: 4, padTop: 3, padBottom: 3)
    }

    func testSamePaddedTemporalConvolutionMatchesDefinition() {
        // TF 'same' with an even kernel: (k−1)/2 on top, k/2 below.
        checkConvolution(time: 11, freq: 4, kt: 8, kf: 1, filters: 2, padTop: 3, padBottom: 4)
    }

    func testBatchNormAffineMatchesFormula() {
        let affine = ChannelAffine(gamma: [2, -1], beta: [0.5, 0], mean: [1, -2], variance: [3, 0.25], epsilon: 0.001)
        var values: [Float] = [4, 5, -1, 0]
        values.withUnsafeMutableBufferPointer { affine.apply(to: $0.baseAddress!, rows: 2) }
        func bn(_ x: Float, _ g: Float, _ b: Float, _ m: Float, _ v: Float) -> Float { (x - m) / (v + 0.001).squareRoot() * g + b }
        XCTAssertEqual(values[0], bn(4, 2, 0.5, 1, 3), accuracy: 1e-5)
        XCTAssertEqual(values[1], bn(5, -1, 0, -2, 0.25), accuracy: 1e-5)
        XCTAssertEqual(values[2], bn(-1, 2, 0.5, 1, 3), accuracy: 1e-5)
        XCTAssertEqual(values[3], bn(0, -1, 0, -2, 0.25), accuracy: 1e-5)
    }

    func testDenseFoldingAnInputAffineIsExact() {
        let dense = Dense(weight: randomTensor([5, 3]), bias: randomTensor([3]))
        let affine = ChannelAffine(scale: (0..<5).map { _ in generator.nextFloat(in: -2...2) },
                                   shift: (0..<5).map { _ in generator.nextFloat(in: -1...1) })
        let folded = dense.foldingInputAffine(affine)
        let x = randomTensor([2, 5]).scalars
        var normalized = x
        normalized.withUnsafeMutableBufferPointer { affine.apply(to: $0.baseAddress!, rows: 2) }
        var direct = [Float](repeating: 0, count: 6), viaFold = direct, single = [Float](repeating: 0, count: 3)
        normalized.withUnsafeBufferPointer { n in direct.withUnsafeMutableBufferPointer { dense.forward(n.baseAddress!, rows: 2, into: $0.baseAddress!) } }
        x.withUnsafeBufferPointer { i in viaFold.withUnsafeMutableBufferPointer { folded.forward(i.baseAddress!, rows: 2, into: $0.baseAddress!) } }
        // The one-row (GEMV) path agrees with the GEMM path.
        x.withUnsafeBufferPointer { i in single.withUnsafeMutableBufferPointer { folded.forward(i.baseAddress!, rows: 1, into: $0.baseAddress!) } }
        for (a, b) in zip(direct, viaFold) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        for (a, b) in zip(single, viaFold.prefix(3)) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }
}

/// A tiny deterministic generator so tests do not depend on the system RNG.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat(in range: ClosedRange<Float>) -> Float { Float.random(in: range, using: &self) }
}
