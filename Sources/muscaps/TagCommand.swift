import ArgumentParser
import AudioIO
import Foundation
import MusicTagging

struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Print the top tags (musicnn or Harmonic CNN) of each window of audio files.",
        discussion: """
        Each line gives a window's time span in seconds and its most probable tags. Silent windows \
        (below \(Int(MusicnnTagger.silenceThresholdDBFS)) dBFS) are marked silent and get no tags. \
        With --json, one JSON object per window (JSON Lines): \
        {"start": s, "end": s, "tags": {"name": probability, ...}} with the top K tags in rank order \
        (plus "file" when several files are given, and "silent": true for silent windows). \
        With --summary, one line per file instead: the top tags of the mean tag probabilities over its \
        non-silent windows (musicnn's `top_tags`). \
        A file that cannot be read is reported on stderr and skipped; the exit code is then 1.
        """)

    @Argument(help: ArgumentHelp("Audio files (WAV, FLAC, OGG/Vorbis, Opus, MP3, … — anything libsndfile reads).", valueName: "FILE"))
    var files: [String]

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "How many tags to show per window (50 shows all).")
    var top: Int = 5

    @Flag(name: .long, help: "Write JSON Lines instead of text.")
    var json = false

    @Flag(name: .long, help: "One line per file: the top tags of the whole file (mean over its windows).")
    var summary = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one audio file") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        let tagger = try modelOptions.loadTagger()
        var failures = 0
        for (fileIndex, path) in files.enumerated() {
            do {
                if !json && files.count > 1 { print((fileIndex > 0 ? "\n" : "") + "\(path):") }
                try tagFile(path: path, tagger: tagger)
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("muscaps: error: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    private func tagFile(path: String, tagger: any WindowTagger) throws {
        let estimated = AudioFileDecoder().estimatedSampleCount(path).map { tagger.windowCount(sampleCount: $0) } ?? 0
        let progress = ProgressBar(total: estimated, label: URL(fileURLWithPath: path).lastPathComponent,
                                   enabled: estimated > 20 && isatty(STDERR_FILENO) == 1)
        let names = tagger.tags
        var sum = [Float](repeating: 0, count: names.count)
        var counted = 0
        var end = 0.0
        let info = try tagger.analyzeWindows(file: path) { window, output in
            end = window.end
            if summary {
                if !window.isSilent {
                    for (i, p) in output.taggramBuffer.enumerated() { sum[i] += p }
                    counted += 1
                }
                progress.advance()
                return
            }
            let tags = window.isSilent ? [] : topTags(output.taggramBuffer, names: names, count: top)
            if json {
                var fields: [(String, String)] = []
                if files.count > 1 { fields.append(("file", JSONText.string(path))) }
                fields.append(("start", JSONText.seconds(window.start)))
                fields.append(("end", JSONText.seconds(window.end)))
                if window.isSilent { fields.append(("silent", "true")) }
                fields.append(("tags", "{" + tags.map { "\(JSONText.string($0.tag)): \(JSONText.number(Double($0.probability), digits: 4))" }
                    .joined(separator: ", ") + "}"))
                print(JSONText.object(fields))
            } else {
                let span = String(format: "%7.2f – %7.2f", window.start, window.end)
                let text = window.isSilent ? "(silence)"
                    : tags.map { "\($0.tag) " + String(format: "%.2f", $0.probability) }.joined(separator: ", ")
                print("\(span)  \(text)")
            }
            progress.advance()
        }
        progress.finish()
        if summary && counted > 0 {
            let mean = sum.map { $0 / Float(counted) }
            let tags = mean.withUnsafeBufferPointer { topTags($0, names: names, count: top) }
            if json {
                var fields: [(String, String)] = []
                if files.count > 1 { fields.append(("file", JSONText.string(path))) }
                fields += [("start", JSONText.seconds(0)), ("end", JSONText.seconds(end)), ("windows", String(counted))]
                fields.append(("tags", "{" + tags.map { "\(JSONText.string($0.tag)): \(JSONText.number(Double($0.probability), digits: 4))" }
                    .joined(separator: ", ") + "}"))
                print(JSONText.object(fields))
            } else {
                print(tags.map { "\($0.tag) " + String(format: "%.2f", $0.probability) }.joined(separator: ", "))
            }
        }
        if summary && counted == 0 && info.peak != 0 { print(json ? JSONText.object([("start", JSONText.seconds(0)), ("end", JSONText.seconds(end)), ("silent", "true"), ("tags", "{}")]) : "(silence)") }
        // Every window was printed (as silent); still tell the user, and the exit status, that there was
        // nothing to tag.
        if info.peak == 0 { throw TaggingError.silentFile(path: path) }
    }
}

enum TaggingError: Error, CustomStringConvertible {
    case silentFile(path: String)

    var description: String {
        switch self {
        case let .silentFile(path): return "\(path): the audio is digital silence (every sample is zero); nothing to tag"
        }
    }
}
