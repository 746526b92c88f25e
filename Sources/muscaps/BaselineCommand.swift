import ArgumentParser
import CaptionMetrics
import Captioning
import Foundation
import MusicTagging

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Evaluate a no-learning captioning baseline on a prepared split, as `eval` evaluates a model.",
        discussion: """
        Two baselines every captioning model should beat:
          tag-template        a caption assembled from the --tags most probable musicnn tags of the track \
        (mean over its windows), e.g. "slow classical music with guitar strings and piano";
          nearest-neighbour   the caption of the training track closest in feature space (mean of the \
        chunk features, standardised with the training set's statistics, cosine similarity).
        Both read only what `muscaps prepare` cached (tag-template needs a cache written by this version, \
        which stores each window's tags beside its features). The metrics, <unk>/repetition statistics, \
        output and --out files are those of `muscaps eval`; there is no retrieval (a baseline has no \
        caption likelihood).
        Examples:
          muscaps baseline tag-template data/corpus --split test --out results/tag-template.test.json
          muscaps baseline nearest-neighbour data/corpus --split test --out results/nn.test.json
        """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case tagTemplate = "tag-template"
        case nearestNeighbour = "nearest-neighbour"
    }

    @Argument(help: ArgumentHelp("tag-template or nearest-neighbour.", valueName: "BASELINE"))
    var kind: Kind

    @Argument(help: ArgumentHelp("Dataset directory, prepared with `muscaps prepare`.", valueName: "DATASET"))
    var dataset: String

    @Option(name: .long, help: "Split to evaluate on.")
    var split: String = "test"

    @Option(name: .long, help: "Nearest-neighbour: the split whose captions are recalled.")
    var trainSplit: String = "train"

    @Option(name: .long, help: ArgumentHelp("Features the dataset was prepared with (musicnn-mtt or musicnn-msd).", valueName: "NAME"))
    var extractor: String = "musicnn-mtt"

    @Option(name: .long, help: "Tag-template: how many of the most probable tags fill the template.")
    var tags: Int = 5

    @OptionGroup var output: SplitEvaluationOptions

    func validate() throws {
        if tags < 1 { throw ValidationError("--tags must be at least 1") }
        if split == trainSplit && kind == .nearestNeighbour {
            throw ValidationError("--split and --train-split are both '\(split)': every track would find itself")
        }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: dataset)
        let prepared = try PreparedSplit(datasetDirectory: directory, extractor: extractor, split: split)
        let corpus = CaptionCorpus(prepared)
        guard !corpus.pairs.isEmpty else { throw CommandError("\(dataset): the \(split) split has no caption pairs to evaluate on") }

        var captions: [[String]] = []
        let method: String
        switch kind {
        case .tagTemplate:
            guard let name = CaptioningModelBundle.musicnnModel(forExtractor: extractor) else {
                throw CommandError("tag-template baseline: '\(extractor)' is not a musicnn extractor")
            }
            let tagNames = try Musicnn(contentsOf: try MusicnnModelName.resolve(name.rawValue)).tags
            let captioner = try TagTemplateCaptioner(tags: tagNames, tagCount: tags)
            for track in prepared.tracks {
                guard let taggram = track.taggram else {
                    throw CommandError("\(track.trackId): the feature cache has no tags (written by an older version); run `muscaps prepare \(dataset) --splits \(split)` again")
                }
                captions.append(try captioner.caption(taggram: taggram))
            }
            method = "tag-template baseline (top \(tags) \(extractor) tags)"
        case .nearestNeighbour:
            let training = try CaptionCorpus(datasetDirectory: directory, extractor: extractor, split: trainSplit)
            guard training.featureDimension == corpus.featureDimension else {
                throw CommandError("\(dataset): \(trainSplit) features are \(training.featureDimension)-d, \(split) features \(corpus.featureDimension)-d")
            }
            let captioner = try NearestNeighbourCaptioner(training: training)
            let bar = ProgressBar(total: corpus.trackCount, label: "nearest neighbours")
            for features in corpus.features {
                captions.append(try captioner.caption(features))
                bar.advance()
            }
            bar.finish()
            method = "nearest-neighbour baseline (\(training.trackCount) \(trainSplit) tracks)"
        }

        var statistics = CaptionStatistics()
        for words in captions { statistics.add(words: words) }
        let evaluation = SplitEvaluation(dataset: dataset, split: split, corpus: corpus,
                                         captions: captions.map { $0.joined(separator: " ") }, statistics: statistics,
                                         method: method, source: "baseline:\(kind.rawValue)")
        try evaluation.report(output)
    }
}
