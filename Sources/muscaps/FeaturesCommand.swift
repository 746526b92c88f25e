import ArgumentParser
import AudioIO
import Foundation
import MusicTagging
import NeuralCore

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Extract musicnn or Harmonic CNN features of every window of an audio file into a safetensors file.",
        discussion: """
        The output holds the layer as tensor "<layer>", shaped [windows, channels] (per-window layers) or \
        [windows, 187, channels] (musicnn's per-frame layers) or [windows, height, width, channels] (the \
        Harmonic CNN's convolutional layers), plus "window_start" and "window_end" in seconds. \
        The feature MusCaps captions from is musicnn's max_pool (753 values per 3 s window) or the Harmonic \
        CNN's embedding (256 per 5 s window), the defaults.
        """)

    @Argument(help: ArgumentHelp("Audio file.", valueName: "FILE"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Output safetensors file.", valueName: "F.safetensors"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Layer. musicnn: \(MusicnnLayer.allCases.map(\.rawValue).joined(separator: ", ")) (default max_pool); hcnn: \(HarmonicCNNOutput.Layer.allCases.map(\.rawValue).joined(separator: ", ")) (default embedding).", valueName: "LAYER"))
    var layer: String?

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        guard let layer else { return }
        switch modelOptions.extractor {
        case .musicnn where MusicnnLayer(rawValue: layer) == nil:
            throw ValidationError("unknown musicnn layer '\(layer)'; choose one of \(MusicnnLayer.allCases.map(\.rawValue).joined(separator: ", "))")
        case .hcnn where HarmonicCNNOutput.Layer(rawValue: layer) == nil:
            throw ValidationError("unknown Harmonic CNN layer '\(layer)'; choose one of \(HarmonicCNNOutput.Layer.allCases.map(\.rawValue).joined(separator: ", "))")
        default: break
        }
    }

    func run() throws {
        let tagger = try modelOptions.loadTagger()
        var values: [Float] = [], starts: [Float] = [], ends: [Float] = []
        let layerName: String
        var windowShape: [Int] = []
        switch tagger {
        case let musicnn as MusicnnTagger:
            let layer = MusicnnLayer(rawValue: self.layer ?? MusicnnLayer.maxPool.rawValue)!
            layerName = layer.rawValue
            try musicnn.analyze(file: file) { window, output in
                let layerValues = output.values(of: layer)
                windowShape = layer.isPerFrame ? [Musicnn.windowFrames, layerValues.count / Musicnn.windowFrames] : [layerValues.count]
                values.append(contentsOf: layerValues)
                starts.append(Float(window.start))
                ends.append(Float(window.end))
            }
        case let hcnn as HarmonicCNNTagger:
            let layer = HarmonicCNNOutput.Layer(rawValue: self.layer ?? HarmonicCNNOutput.Layer.embedding.rawValue)!
            layerName = layer.rawValue
            windowShape = layer.shape(tagCount: hcnn.tags.count)
            try hcnn.analyzeWindows(file: file) { window, output in
                values.append(contentsOf: (output as! HarmonicCNNOutput).buffer(layer))
                starts.append(Float(window.start))
                ends.append(Float(window.end))
            }
        default:
            throw CommandError("unsupported tagger")
        }
        let windows = starts.count
        let shape = [windows] + windowShape
        try SafetensorsWriter.write(
            tensors: [(layerName, Tensor(shape: shape, scalars: values)),
                      ("window_start", Tensor(shape: [windows], scalars: starts)),
                      ("window_end", Tensor(shape: [windows], scalars: ends))],
            metadata: ["model": tagger.modelName, "extractor": tagger.extractorId, "layer": layerName, "source": file,
                       "hop_seconds": String(tagger.hopSeconds), "window_seconds": String(tagger.windowSeconds),
                       "sample_rate": String(MusicnnTagger.sampleRate), "producer": "muscaps \(MusCapsVersion.string)"]
                .merging((tagger as? MusicnnTagger).map { ["hop_frames": String($0.hopFrames)] } ?? [:]) { $1 },
            to: URL(fileURLWithPath: out))
        FileHandle.standardError.write(Data("muscaps: wrote \(layerName) \(shape) for \(windows) windows to \(out)\n".utf8))
    }
}
