// Measures MusCaps training and decoding speed on synthetic data shaped like the benchmark:
// 3,600 examples of 10 chunks × 753 features, captions of 8–22 words (+ <sos>, <eos>), vocabulary 1,000,
// batch 16 (last short batch dropped), Adam + clip_grad_norm_(12) — one epoch per variant — and batch-1
// greedy decoding latency (22 steps) plus a 5-row step (beam width 5).
//
//   swift run -c release captioning-bench [--variants early,late,attention] [--examples 3600] [--threads N]
//   swift run -c release captioning-bench --model Models/captioning/default.safetensors   # a trained model's
//       file size, parameters, load time and caption latency (for its model card)
import Captioning
import Foundation
import NeuralCore
import ThreadSupport

/// CPU time of this process (all threads), for comparisons on a machine that is not idle.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Load time and decoding latency of a trained model file, on 10 chunks of musicnn-like features.
func benchmarkModelFile(_ path: String) throws {
    let url = URL(fileURLWithPath: path)
    let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = Monotonic.now()
        try body()
        return Double(Monotonic.now() - start) / 1e6
    }
    var bundle = try CaptioningModelBundle.load(url)
    var loads: [Double] = []
    for _ in 0..<20 { loads.append(try milliseconds { bundle = try CaptioningModelBundle.load(url) }) }
    let model = bundle.model
    let parameters = model.parameters.reduce(0) { $0 + $1.count }
    var generator = SeededGenerator(seed: 7)
    let k = model.configuration.audioFeatureSize, chunks = 10
    let features = Tensor(shape: [chunks, k], scalars: (0..<(chunks * k)).map { _ in 3 * abs(generator.nextNormal()) })
    let greedy = GreedyDecoder(model: model)
    let beam = BeamSearchDecoder(model: model, beamWidth: 5)
    _ = try greedy.decode(features)
    _ = try beam.decode(features)
    var greedyTimes: [Double] = [], beamTimes: [Double] = []
    for _ in 0..<51 { greedyTimes.append(try milliseconds { _ = try greedy.decode(features) }) }
    for _ in 0..<21 { beamTimes.append(try milliseconds { _ = try beam.decode(features) }) }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    print(String(format: "%@: %.1f MB, %d parameters (%@, vocabulary %d); load %.1f ms median of 20; caption of 10 chunks: greedy %.2f ms, beam 5 %.2f ms (medians)",
                 path, Double(bytes) / 1e6, parameters, model.configuration.variant.rawValue, bundle.vocabulary.count,
                 median(loads), median(greedyTimes), median(beamTimes)))
}

func main() throws {
    if let index = CommandLine.arguments.firstIndex(of: "--model"), index + 1 < CommandLine.arguments.count {
        BLAS.threadCount = 1
        try benchmarkModelFile(CommandLine.arguments[index + 1])
        return
    }
    var variants = CaptioningConfiguration.Variant.allCases
    var examples = 3600
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var epochs = 1
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--variants":
            variants = (arguments.popFirst() ?? "").split(separator: ",").compactMap { CaptioningConfiguration.Variant(rawValue: String($0)) }
        case "--examples": examples = Int(arguments.popFirst() ?? "") ?? examples
        case "--threads": threads = Int(arguments.popFirst() ?? "") ?? threads
        case "--epochs": epochs = Int(arguments.popFirst() ?? "") ?? epochs
        default:
            print("usage: captioning-bench [--variants early,late,attention] [--examples N] [--threads N] [--epochs N]")
            exit(argument == "--help" ? 0 : 2)
        }
    }
    BLAS.threadCount = threads

    let vocabulary = 1000, chunks = 10, featureSize = 753, batchSize = 16
    var generator = SeededGenerator(seed: 2021)
    // Synthetic data set: non-negative features (musicnn max-pool outputs), Zipf-ish word ids.
    var features = [Float](repeating: 0, count: examples * chunks * featureSize)
    for i in features.indices { features[i] = abs(generator.nextNormal()) }
    var captions: [[Int32]] = []
    for _ in 0..<examples {
        let words = 8 + Int(generator.next() % 15)
        var caption: [Int32] = [2]
        for _ in 0..<words {
            let u = generator.nextUnitFloat()
            caption.append(Int32(4 + Int(Float(vocabulary - 4) * u * u)))
        }
        caption.append(3)
        captions.append(caption)
    }

    func makeBatches(order: [Int]) -> [CaptionBatch] {
        stride(from: 0, to: order.count - batchSize + 1, by: batchSize).map { start in
            let rows = Array(order[start..<(start + batchSize)])
            let length = rows.map { captions[$0].count }.max()!
            var tokens = [Int32](repeating: 0, count: batchSize * length)
            var batchFeatures = [Float](repeating: 0, count: batchSize * chunks * featureSize)
            for (b, example) in rows.enumerated() {
                for (t, token) in captions[example].enumerated() { tokens[b * length + t] = token }
                let size = chunks * featureSize
                for j in 0..<size { batchFeatures[b * size + j] = features[example * size + j] }
            }
            return CaptionBatch(batchSize: batchSize, maxChunks: chunks, features: batchFeatures,
                                chunkCounts: [Int32](repeating: Int32(chunks), count: batchSize), captionLength: length, tokens: tokens)
        }
    }

    print("captioning-bench: \(examples) examples, \(chunks) chunks × \(featureSize), vocabulary \(vocabulary), batch \(batchSize), BLAS threads \(threads)")
    for variant in variants {
        let model = try MusCapsModel(configuration: CaptioningConfiguration(variant: variant), vocabularySize: vocabulary, seed: 1)
        let adam = Adam(parameters: model.parameters, learningRate: 1e-4)
        var order = Array(0..<examples)
        var epochTimes: [Double] = [], epochCPU: [Double] = []
        var lastLoss: Float = 0
        for _ in 0..<epochs {
            order.shuffle(using: &generator)
            let batches = makeBatches(order: order)
            let start = Monotonic.now(), cpuStart = processCPUSeconds()
            var total: Float = 0
            for batch in batches {
                total += try model.forwardTraining(batch)
                model.backward()
                GradientClipping.clipNorm(model.parameters, maxNorm: 12)
                adam.step()
            }
            epochTimes.append(Double(Monotonic.now() - start) / 1e9)
            epochCPU.append(processCPUSeconds() - cpuStart)
            lastLoss = total / Float(batches.count)
        }
        print(String(format: "%@: training epoch %.2f s wall, %.2f s CPU (%d batches, %.1f ms/batch), mean loss %.3f",
                     variant.rawValue, epochTimes.min()!, epochCPU.min()!, examples / batchSize,
                     1000 * epochTimes.min()! / Double(examples / batchSize), lastLoss))

        // Decoding latency: batch-1 greedy, 22 steps (no early stop), median of 50; and 22 steps with 5 rows.
        let track = Array(features[0..<(chunks * featureSize)])
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let greedy = model.makeDecoderState(maxRows: 1, maxChunks: chunks)
        var greedyTimes: [Double] = []
        for _ in 0..<51 {
            let start = Monotonic.now()
            try model.start(greedy, features: track, chunkCount: chunks)
            var token: Int32 = 2
            for _ in 0..<22 {
                let logits = withUnsafePointer(to: &token) { model.step(tokens: $0, state: greedy) }
                var best = 0
                for j in 1..<vocabulary where logits[j] > logits[best] { best = j }
                token = Int32(best)
            }
            greedyTimes.append(Double(Monotonic.now() - start) / 1e6)
        }
        let beams = model.makeDecoderState(maxRows: 5, maxChunks: chunks)
        var beamTimes: [Double] = []
        var tokens = [Int32](repeating: 2, count: 5)
        let parents: [Int32] = [0, 0, 1, 2, 3]
        for _ in 0..<21 {
            let start = Monotonic.now()
            try model.start(beams, features: track, chunkCount: chunks, rows: 5)
            for step in 0..<22 {
                let logits = model.step(tokens: tokens, state: beams)
                for r in 0..<5 {
                    var best = 0
                    for j in 1..<vocabulary where logits[r * vocabulary + j] > logits[r * vocabulary + best] { best = j }
                    tokens[r] = Int32(best)
                }
                if step > 0 { beams.selectRows(parents) }
            }
            beamTimes.append(Double(Monotonic.now() - start) / 1e6)
        }
        print(String(format: "%@: greedy caption (22 steps, batch 1) %.2f ms median; 22 steps × 5 rows %.2f ms median",
                     variant.rawValue, median(greedyTimes), median(beamTimes)))
    }
}

BLAS.prepare()  // choose OpenBLAS's kernels from the CPU's features before anything loads it
print("blas: \(BLAS.kernelDescription)")
try main()
