import ArgumentParser
import AudioIO
import Foundation
import MusicTagging
import NeuralCore

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Extract musicnn features of every window of an audio file into a safetensors file.",
        discussion: """
        The output holds the layer as tensor "<layer>", shaped [windows, channels] (per-window layers) or \
        [windows, 187, channels] (per-frame layers), plus "window_start" and "window_end" in seconds. \
        max_pool (753 values per window) is the feature MusCaps captions from.
        """)

    @Argument(help: ArgumentHelp("Audio file.", valueName: "FILE"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Output safetensors file.", valueName: "F.safetensors"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Layer: \(MusicnnLayer.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "LAYER"))
    var layer: String = MusicnnLayer.maxPool.rawValue

    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        if MusicnnLayer(rawValue: layer) == nil {
            throw ValidationError("unknown layer '\(layer)'; choose one of \(MusicnnLayer.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let layer = MusicnnLayer(rawValue: self.layer)!
        let tagger = try modelOptions.loadTagger()
        var values: [Float] = [], starts: [Float] = [], ends: [Float] = []
        var perWindow = 0
        try tagger.analyze(file: file) { window, output in
            let layerValues = output.values(of: layer)
            perWindow = layerValues.count
            values.append(contentsOf: layerValues)
            starts.append(Float(window.start))
            ends.append(Float(window.end))
        }
        let windows = starts.count
        let shape = layer.isPerFrame ? [windows, Musicnn.windowFrames, perWindow / Musicnn.windowFrames] : [windows, perWindow]
        try SafetensorsWriter.write(
            tensors: [(layer.rawValue, Tensor(shape: shape, scalars: values)),
                      ("window_start", Tensor(shape: [windows], scalars: starts)),
                      ("window_end", Tensor(shape: [windows], scalars: ends))],
            metadata: ["model": tagger.model.name, "layer": layer.rawValue, "source": file,
                       "hop_frames": String(tagger.hopFrames), "sample_rate": String(MusicnnTagger.sampleRate),
                       "producer": "muscaps \(MusCapsVersion.string)"],
            to: URL(fileURLWithPath: out))
        FileHandle.standardError.write(Data("muscaps: wrote \(layer.rawValue) \(shape) for \(windows) windows to \(out)\n".utf8))
    }
}
