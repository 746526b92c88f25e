import ArgumentParser
import Captioning
import Foundation
import MusicTagging
import NeuralCore

struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Describe audio files in a sentence with a trained MusCaps model.",
        discussion: """
        The audio is cut into non-overlapping windows of the extractor the model was trained on (2.99 s \
        musicnn windows, or 5 s Harmonic CNN windows for a model trained on hcnn features, which needs \
        --weights), as in training and in the live daemon; features of another extractor are refused. Without --every, one caption describes the whole file (all windows). With --every S, a \
        caption is printed every S seconds of audio from the last --context seconds of windows \
        (⌊context / window⌋ windows: 10 s → 3 musicnn or 2 Harmonic CNN windows), as the daemon would show them live; spans that are entirely silent print (silence). \
        With --json, one JSON object per caption: {"file", "start", "end", "caption", "log_prob", \
        "finished", "unk_rate", "repetitions"} ("finished": false when the caption was cut at \
        --max-length; "repetitions" counts repeated words and bigrams).
        Examples:
          muscaps caption song.flac --model runs/early/best.safetensors
          muscaps caption song.flac --model runs/early/best.safetensors --beam 5 --every 5 --context 10
        """)

    @Argument(help: ArgumentHelp("Audio files (WAV, FLAC, OGG/Vorbis, Opus, MP3, or float32 16 kHz .npy).", valueName: "FILE"))
    var files: [String]

    @OptionGroup var modelOptions: CaptioningModelOptions
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var consistency: TagConsistencyOptions

    @Option(name: .long, help: ArgumentHelp("Print a rolling caption every SECONDS of audio instead of one for the whole file.", valueName: "SECONDS"))
    var every: Double?

    @Option(name: .long, help: ArgumentHelp("With --every: seconds of audio each rolling caption describes (at least one 2.99 s window).", valueName: "SECONDS"))
    var context: Double = 10

    @Flag(name: .long, help: "Write JSON Lines instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Feature extractor (default: the one the model was trained on; another is refused).", valueName: "musicnn|hcnn"))
    var extractor: FeatureExtractorKind?

    @Option(name: .long, help: ArgumentHelp("Converted Harmonic CNN weights, for a model trained on hcnn features (default: Models/hcnn/HCNN_MTT.safetensors).", valueName: "FILE"))
    var weights: String?

    @Option(name: .long, help: "Windows computed in parallel (default: one per core).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one audio file") }
        if let every, !(every > 0) { throw ValidationError("--every must be positive (got \(every))") }
        if !(context >= FeatureExtractorKind.musicnn.windowSeconds) {
            throw ValidationError("--context must be at least one window (2.992 s), got \(context)")
        }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        BLAS.threadCount = 1
        let bundle = try modelOptions.load()
        let extractor: TrackFeatureExtractor
        if let kind = self.extractor, FeatureExtractorKind(extractorId: bundle.extractor) != kind {
            let tagger = try WindowTaggers.make(kind, hcnnWeights: weights, workers: jobs)
            try bundle.requireCompatible(extractorId: tagger.extractorId, featureSize: tagger.featureSize)  // throws: another extractor
            extractor = TrackFeatureExtractor(tagger: tagger, identifier: tagger.extractorId)
        } else {
            extractor = try bundle.makeFeatureExtractor(workers: jobs, hcnnWeights: weights)
        }
        let windowSeconds = extractor.tagger.windowSeconds
        if every != nil && context < windowSeconds {
            throw CommandError("--context must be at least one \(extractor.identifier) window (\(windowSeconds) s), got \(context)")
        }
        let decoder = try decoding.makeDecoder(bundle.model)
        // Tag-consistent decoding: beam search (width 1 = greedy) steered by the taggers' confident tags;
        // a tagger other than the model's own analyses the audio a second time.
        let consistent = consistency.settings
        let steered = consistent.map { _ in BeamSearchDecoder(model: bundle.model, beamWidth: decoding.beam, maxLength: decoding.maxLength) }
        let ownTagger = bundle.musicnnModel?.rawValue
        let otherTaggers: [TrackFeatureExtractor] = try consistency.taggerNames().filter { $0 != ownTagger }.map { name in
            TrackFeatureExtractor(tagger: MusicnnTagger(model: try Musicnn(contentsOf: try MusicnnModelName.resolve(name)), workers: jobs),
                                  identifier: "musicnn-\(name)")
        }
        let useOwnTags = try consistency.taggerNames().contains { $0 == ownTagger }
        var failures = 0
        for (index, path) in files.enumerated() {
            do {
                let audio = try extractor.extractWindows(audioPath: path)
                if audio.peak == 0 { throw CommandError("\(path): the audio is digital silence (every sample is zero); nothing to caption") }
                let otherTags = try otherTaggers.map { try $0.extractWindows(audioPath: path) }
                func caption(_ range: Range<Int>) throws -> DecodedCaption {
                    guard let consistent, let steered else { return try decoder.decode(audio.features(range)) }
                    var genres: Set<String> = []
                    for tagged in (useOwnTags ? [audio] : []) + otherTags where !range.isEmpty && tagged.count >= range.upperBound {
                        genres.formUnion(consistent.confidentGenres(tags: tagged.tags, probabilities: tagged.meanTags(range)))
                    }
                    steered.wordBias = consistent.wordBias(vocabulary: bundle.vocabulary, confidentGenres: genres)
                    return try steered.decode(audio.features(range))
                }
                if !json && files.count > 1 { print((index > 0 ? "\n" : "") + "\(path):") }
                if let every {
                    for span in RollingCaptions.spans(audio.windows, duration: audio.duration, every: every, context: context, windowSeconds: windowSeconds) {
                        if span.silent {
                            emit(path: path, start: span.start, end: span.end, caption: nil, bundle: bundle)
                        } else {
                            emit(path: path, start: span.start, end: span.end, caption: try caption(span.windows), bundle: bundle)
                        }
                    }
                } else {
                    let end = audio.windows.last?.end ?? audio.duration
                    emit(path: path, start: 0, end: end, caption: try caption(0..<audio.count), bundle: bundle)
                }
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("muscaps: error: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    private func emit(path: String, start: Double, end: Double, caption: DecodedCaption?, bundle: CaptioningModelBundle) {
        if json {
            var fields: [(String, String)] = [("file", JSONText.string(path)), ("start", JSONText.seconds(start)), ("end", JSONText.seconds(end))]
            if let caption {
                var stats = CaptionStatistics()
                stats.add(caption)
                fields += [("caption", JSONText.string(caption.sentence(bundle.vocabulary))),
                           ("log_prob", JSONText.number(caption.logProbability)),
                           ("finished", caption.finished ? "true" : "false"),
                           ("unk_rate", JSONText.number(stats.unknownRate, digits: 4)),
                           ("repetitions", String(stats.repetitions))]
            } else {
                fields += [("caption", "null"), ("silent", "true")]
            }
            print(JSONText.object(fields))
        } else if let caption {
            var text = caption.sentence(bundle.vocabulary)
            if text.isEmpty { text = "(empty caption)" }
            print(every == nil ? text : String(format: "%7.2f – %7.2f  ", start, end) + text)
        } else {
            print(String(format: "%7.2f – %7.2f  ", start, end) + "(silence)")
        }
    }
}
