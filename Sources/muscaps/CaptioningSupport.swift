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

/// Tag-consistent decoding options (issue 10), shared by caption and eval.
struct TagConsistencyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Tag-consistent decoding: steer beam search with the genre tags these musicnn taggers are sure of (mtt, msd or mtt,msd), banning genre words that contradict them (docs/RESULTS.md, real-music validation set). Default: off.", valueName: "TAGGERS"))
    var tagConsistent: String?

    @Option(name: .long, help: "Tag-consistent decoding: mean tag probability from which a tagger counts as sure.")
    var tagThreshold: Float = TagConsistency.defaultThreshold

    @Option(name: .long, help: "Tag-consistent decoding: log-probability bonus for words of a genre the tags support.")
    var tagBonus: Float = TagConsistency.defaultBonus

    func validate() throws {
        guard tagThreshold > 0 && tagThreshold <= 1 else { throw ValidationError("--tag-threshold must be in (0, 1] (got \(tagThreshold))") }
        guard tagBonus >= 0 && tagBonus.isFinite else { throw ValidationError("--tag-bonus must be a finite number ≥ 0 (got \(tagBonus))") }
        if tagConsistent != nil { _ = try taggerNames() }
    }

    /// The taggers named by --tag-consistent ("mtt", "msd"), in order, without repeats.
    func taggerNames() throws -> [String] {
        guard let tagConsistent else { return [] }
        var names: [String] = []
        for part in tagConsistent.split(separator: ",", omittingEmptySubsequences: false) {
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard name == "mtt" || name == "msd" else {
                throw ValidationError("--tag-consistent: unknown tagger '\(part)' (use mtt, msd or mtt,msd)")
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    var settings: TagConsistency? {
        tagConsistent == nil ? nil : TagConsistency(threshold: tagThreshold, bonus: tagBonus)
    }

    var methodSuffix: String {
        guard let tagConsistent else { return "" }
        return ", tag-consistent (\(tagConsistent), threshold \(tagThreshold), bonus \(tagBonus))"
    }
}
