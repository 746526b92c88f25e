import ArgumentParser
import Captioning
import Foundation
import NeuralCore

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find music in an index by describing it in words.",
        discussion: """
        Ranks every indexed file by log P(query | audio), the probability the captioning model gives to \
        generating exactly the query for that audio (the paper's retrieval, §IV-C3), and prints the best \
        --top files: rank, score (natural log; higher is better) and path. Words the model does not know \
        count as <unk> (and are listed); a query with no known word is an error.
        Example:
          muscaps search "calm piano with strings" --index music.idx --model runs/early/best.safetensors --top 10
        """)

    @Argument(help: ArgumentHelp("What the music sounds like.", valueName: "QUERY"))
    var query: String

    @Option(name: .long, help: ArgumentHelp("Index written by `muscaps index`.", valueName: "FILE"))
    var index: String

    @OptionGroup var modelOptions: CaptioningModelOptions

    @Option(name: .long, help: "How many results to show.")
    var top: Int = 10

    @Flag(name: .long, help: "Write JSON Lines ({\"rank\", \"score\", \"path\"}) instead of text.")
    var json = false

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        let words = CaptionText.tokenize(query)
        guard !words.isEmpty else { throw CommandError("the query \"\(query)\" has no words to search for") }
        let library = try LibraryIndex.load(URL(fileURLWithPath: index))
        let bundle = try modelOptions.load()
        guard library.extractor == bundle.extractor, library.dimension == bundle.model.configuration.audioFeatureSize else {
            throw CommandError("\(index): indexed with \(library.extractor) (\(library.dimension)-d features) but the model expects \(bundle.extractor) (\(bundle.model.configuration.audioFeatureSize)-d); re-index with --extractor \(bundle.extractor)")
        }
        let ids = words.map(bundle.vocabulary.index(of:))
        let unknown = zip(words, ids).filter { $0.1 == Vocabulary.unknownIndex }.map(\.0)
        if unknown.count == words.count {
            throw CommandError("none of the query's words (\(words.joined(separator: ", "))) is in the model's vocabulary of \(bundle.vocabulary.count - 4) words; describe the music with other words")
        }
        if !unknown.isEmpty {
            FileHandle.standardError.write(Data("note: not in the model's vocabulary, scored as <unk>: \(unknown.joined(separator: ", "))\n".utf8))
        }
        guard !library.entries.isEmpty else { throw CommandError("\(index): the index holds no files") }
        let scorer = CaptionLikelihoodScorer(model: bundle.model)
        let scores = try scorer.logLikelihoods(of: ids, tracks: library.allFeatures)
        for (rank, i) in Retrieval.ranking(scores).prefix(top).enumerated() {
            if json {
                print(JSONText.object([("rank", String(rank + 1)), ("score", JSONText.number(scores[i])), ("path", JSONText.string(library.entries[i].path))]))
            } else {
                print(String(format: "%3d  %9.3f  ", rank + 1, scores[i]) + library.entries[i].path)
            }
        }
    }
}
