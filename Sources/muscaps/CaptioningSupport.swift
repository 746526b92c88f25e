import ArgumentParser
import Captioning
import Foundation
import NeuralCore

/// A one-line error for the captioning subcommands (ArgumentParser prints it as "Error: …").
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--model` and decoding options shared by caption, eval and search.
struct CaptioningModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Captioning model (a best.safetensors written by `muscaps train`). Default: the shipped model, Models/captioning/default.safetensors (see Models/captioning/README.md).", valueName: "FILE"))
    var model: String?

    func load() throws -> CaptioningModelBundle {
        try CaptioningModelBundle.load(try CaptioningModelBundle.resolve(model))
    }
}

struct DecodingOptions: ParsableArguments {
    @Option(name: .long, help: "Beam width; 1 decodes greedily. Default 3: the best setting of every variant on the corpus's validation set (docs/RESULTS.md); the paper used 5 for early fusion, 3 otherwise.")
    var beam: Int = DecodingDefaults.beamWidth

    @Option(name: .long, help: "Maximum caption length in decoding steps, <eos> included (reference: 22).")
    var maxLength: Int = DecodingDefaults.maxLength

    func validate() throws {
        do { try CaptionDecoder.validate(beamWidth: beam) } catch { throw ValidationError("--\(error)") }
        guard maxLength >= 1 && maxLength <= 200 else { throw ValidationError("--max-length must be between 1 and 200") }
    }

    var description: String { beam == 1 ? "greedy" : "beam \(beam)" }

    /// One decoder per call site; greedy ones decode `tracks` tracks per step.
    func makeDecoder(_ model: MusCapsModel, tracks: Int = 1) throws -> CaptionDecoder {
        try CaptionDecoder(model: model, beamWidth: beam, maxLength: maxLength, maxTracks: tracks)
    }
}
