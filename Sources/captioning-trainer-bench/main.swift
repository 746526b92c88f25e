// The captioning side of Tools/bench/captioning_vs_torch.py: times `CaptionTrainer` epochs and the
// greedy / beam-search decoders on a data file the script writes (so Swift and PyTorch see identical data),
// and prints one JSON object.
//
//   captioning-trainer-bench --data FILE.safetensors [--variants early,attention] [--epochs 1] [--threads 2]
//                            [--latency-runs 200]
//
// FILE holds `features` [N, chunks, k] and `tokens` [N, T] (<sos> w… <eos> then 0 padding, as floats) and
// the vocabulary size in its metadata (`vocabulary`).
import CAllocationCounter
import Captioning
import Foundation
import NeuralCore
import ThreadSupport

struct Failure: Error, CustomStringConvertible { let description: String }

func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

/// Peak resident memory of this process in MB (VmHWM).
func peakResidentMB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
    return kb / 1024
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

func main() throws {
    var data: String?
    var variants: [CaptioningConfiguration.Variant] = [.earlyFusion, .attention]
    var epochs = 1, threads = 2, latencyRuns = 200
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--data": data = arguments.popFirst()
        case "--variants": variants = (arguments.popFirst() ?? "").split(separator: ",").compactMap { CaptioningConfiguration.Variant(rawValue: String($0)) }
        case "--epochs": epochs = Int(arguments.popFirst() ?? "") ?? epochs
        case "--threads": threads = Int(arguments.popFirst() ?? "") ?? threads
        case "--latency-runs": latencyRuns = Int(arguments.popFirst() ?? "") ?? latencyRuns
        default: throw Failure(description: "usage: captioning-trainer-bench --data FILE [--variants early,attention] [--epochs N] [--threads N] [--latency-runs N]")
        }
    }
    guard let data else { throw Failure(description: "--data FILE is required") }
    let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: data))
    let features = try file.tensor("features"), tokens = try file.tensor("tokens")
    guard let vocabularySize = Int(file.metadata["vocabulary"] ?? "") else { throw Failure(description: "\(data): no 'vocabulary' metadata") }
    let n = features.shape[0], chunks = features.shape[1], k = features.shape[2], t = tokens.shape[1]

    // Words "w4" … so that the trainer's vocabulary maps them back to the same ids.
    let vocabulary = try Vocabulary(words: [Vocabulary.pad, Vocabulary.unknown, Vocabulary.start, Vocabulary.end] + (4..<vocabularySize).map { "w\($0)" })
    var pairs: [CaptionCorpus.Pair] = []
    for i in 0..<n {
        var words: [String] = []
        for j in 1..<t {
            let id = Int(tokens.scalars[i * t + j])
            if id == Vocabulary.endIndex || id == Vocabulary.padIndex { break }
            words.append(vocabulary.words[id])
        }
        pairs.append(.init(track: i, tokens: words))
    }
    let tracks = (0..<n).map { Tensor(shape: [chunks, k], scalars: Array(features.scalars[($0 * chunks * k)..<(($0 + 1) * chunks * k)])) }
    let training = CaptionCorpus(trackIds: (0..<n).map(String.init), features: tracks, pairs: pairs)
    let validation = CaptionCorpus(trackIds: (0..<16).map(String.init), features: Array(tracks.prefix(16)), pairs: (0..<16).map { pairs[$0] })

    var results: [String: Any] = ["examples": n, "chunks": chunks, "feature_size": k, "vocabulary": vocabularySize, "threads": threads]
    for variant in variants {
        BLAS.threadCount = threads
        var configuration = CaptioningConfiguration(variant: variant, audioFeatureSize: k)
        configuration.freezeWordEmbeddings = true  // the paper's frozen GloVe
        let model = try MusCapsModel(configuration: configuration, vocabularySize: vocabularySize, seed: 1)
        var options = TrainingOptions()
        options.maxEpochs = 200
        options.ciderEvery = 0
        options.seed = 1
        let trainer = try CaptionTrainer(model: model, vocabulary: vocabulary, extractor: "bench", options: options, directory: nil)
        var batchClock = Monotonic.now(), batchTimes: [Double] = []
        trainer.onBatch = { _ in
            let now = Monotonic.now()
            batchTimes.append(seconds(now - batchClock))
            batchClock = now
        }
        var epochTimes: [Double] = [], losses: [Double] = []
        for _ in 0..<epochs {
            batchTimes = []
            let start = Monotonic.now()
            batchClock = start
            let state = try trainer.train(training: training, validation: validation, epochs: 1)
            epochTimes.append(seconds(Monotonic.now() - start))
            losses.append(state.history.last!.trainLoss)
        }
        // One checkpoint write (best + last + optimizer state), as the trainer does after every epoch.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpointStart = Monotonic.now()
        let bundle = try CaptioningModelBundle(model: model, vocabulary: vocabulary, extractor: "bench")
        try bundle.save(to: directory.appendingPathComponent("best.safetensors"))
        try bundle.save(to: directory.appendingPathComponent("last.safetensors"))
        try SafetensorsWriter.write(tensors: trainer.optimizer.stateTensors(), to: directory.appendingPathComponent("optimizer.safetensors"))
        let checkpointSeconds = seconds(Monotonic.now() - checkpointStart)

        // Caption latency: one caption from 3 windows (10 s of context), 22 steps (<eos> made impossible so
        // every caption runs the full length), single-threaded BLAS as the CLI and daemon run it.
        BLAS.threadCount = 1
        model.output.bias.value[Vocabulary.endIndex] = -1e4
        model.output.bias.markModified()
        let track = Array(tracks[0].scalars.prefix(3 * k))
        let greedy = GreedyDecoder(model: model), beam = BeamSearchDecoder(model: model, beamWidth: 5)
        var greedyTimes: [Double] = [], beamTimes: [Double] = []
        var allocations: UInt64 = 0
        let counts: [Int32] = [3]
        try track.withUnsafeBufferPointer { f in
            try counts.withUnsafeBufferPointer { c in
                for run in 0..<(latencyRuns + 5) {
                    // Runs 0–4 warm up; the last run is counted for heap allocations instead of timed.
                    let counted = run == latencyRuns + 4
                    if counted { CAllocationCounter_start() }
                    var start = Monotonic.now()
                    try greedy.run(features: f, tracks: 1, chunkStride: 3, chunkCounts: c)
                    let g = seconds(Monotonic.now() - start)
                    start = Monotonic.now()
                    try beam.run(features: f, chunkCount: 3)
                    let b = seconds(Monotonic.now() - start)
                    if counted { allocations = CAllocationCounter_stop() }
                    if run >= 5 && !counted { greedyTimes.append(g * 1000); beamTimes.append(b * 1000) }
                }
            }
        }
        precondition(greedy.generated(0).count == 22 && beam.result.tokenIds.count == 22)
        results[variant.rawValue] = [
            "epoch_seconds": epochTimes, "train_loss": losses, "peak_rss_mb": peakResidentMB(), "batches": batchTimes.count,
            "batch_ms_median": percentile(batchTimes, 0.5) * 1000, "checkpoint_seconds": checkpointSeconds,
            "greedy_ms_median": percentile(greedyTimes, 0.5), "greedy_ms_p90": percentile(greedyTimes, 0.9),
            "beam5_ms_median": percentile(beamTimes, 0.5), "beam5_ms_p90": percentile(beamTimes, 0.9),
            "decode_allocations": allocations,
        ] as [String: Any]
    }
    let json = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}

BLAS.prepare()  // choose OpenBLAS's kernels from the CPU's features before anything loads it
do { try main() } catch {
    FileHandle.standardError.write(Data("captioning-trainer-bench: \(error)\n".utf8))
    exit(1)
}
