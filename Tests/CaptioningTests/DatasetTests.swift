import AudioIO
import Foundation
import MusicTagging
import NeuralCore
import XCTest
@testable import Captioning

final class CaptionTextTests: XCTestCase {
    func testTokensAreLowercaseWordsWithoutPunctuation() {
        XCTAssertEqual(CaptionText.tokenize("Upbeat Hip-Hop groove, with 90's synths!"), ["upbeat", "hip-hop", "groove", "with", "90's", "synths"])
        XCTAssertEqual(CaptionText.tokenize("  “Calm”… piano—strings  "), ["calm", "piano", "strings"])
        XCTAssertEqual(CaptionText.tokenize("It’s a 'soft' -intro-"), ["it's", "a", "soft", "intro"])
        XCTAssertEqual(CaptionText.tokenize("?!"), [])
        XCTAssertEqual(CaptionText.sentence(["gentle", "piano", "waltz"]), "Gentle piano waltz")
    }
}

final class VocabularyTests: XCTestCase {
    func testBuiltLikeTheReferenceSpecialsFirstThenFrequentTokensInFirstAppearanceOrder() {
        let vocabulary = Vocabulary(captions: [["soft", "piano", "waltz"], ["loud", "piano"], ["soft", "drums"]], minCount: 2)
        XCTAssertEqual(vocabulary.words, ["<pad>", "<unk>", "<sos>", "<eos>", "soft", "piano"])
        XCTAssertEqual(vocabulary.encode(["soft", "guitar"]), [2, 4, 1, 3])
        XCTAssertEqual(vocabulary.decode([2, 4, 5, 3, 4]), ["soft", "piano"])
        XCTAssertEqual(Vocabulary(captions: [["a", "b"]], minCount: 1).count, 6)
    }

    func testCodableRoundTripAndMalformedListsAreRejected() throws {
        let vocabulary = Vocabulary(captions: [["x", "x", "y", "y"]])
        let data = try JSONEncoder().encode(vocabulary)
        XCTAssertEqual(try JSONDecoder().decode(Vocabulary.self, from: data), vocabulary)
        XCTAssertThrowsError(try Vocabulary(words: ["a", "b"]))
        XCTAssertThrowsError(try Vocabulary(words: ["<pad>", "<unk>", "<sos>", "<eos>", "a", "a"]))
    }
}

final class CaptionDatasetTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("audio"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func write(split: String, _ entries: [Any]) throws {
        try JSONSerialization.data(withJSONObject: entries).write(to: CaptionDataset.fileURL(directory: directory, split: split))
    }

    private func writeTone(_ name: String, seconds: Double, frequency: Float = 440) throws {
        let samples = (0..<Int(seconds * 16_000)).map { 0.3 * sin(2 * .pi * frequency * Float($0) / 16_000) }
        try AudioFileWriter.write(samples, channels: 1, sampleRate: 16_000, format: .wav16, to: directory.appendingPathComponent("audio/\(name)").path)
    }

    private func entry(_ id: String, _ raw: String, tokens: [String]? = nil) -> [String: Any] {
        ["track_id": id, "caption": ["raw": raw, "tokens": tokens ?? CaptionText.tokenize(raw)]]
    }

    func testReadsTheMusCapsLayoutAndReportsBadEntriesByTrackId() throws {
        try writeTone("a.wav", seconds: 1)
        try writeTone("b.flac", seconds: 1)
        try write(split: "train", [
            entry("a", "Soft piano with strings"),
            entry("a", "Gentle strings and piano"),          // a second reference for track a
            entry("b", "Loud drums", tokens: []),             // tokens derived from raw
            entry("missing", "No audio for this one"),
            entry("c", ""),                                    // empty caption
            ["caption": ["raw": "no id"]],
            "not an object",
        ])
        let dataset = try CaptionDataset(directory: directory, split: "train")
        XCTAssertEqual(dataset.entries.map(\.trackId), ["a", "a", "b"])
        XCTAssertEqual(dataset.entries[2].tokens, ["loud", "drums"])
        XCTAssertEqual(dataset.trackIds, ["a", "b"])
        XCTAssertEqual(dataset.referencesByTrack["a"]?.count, 2)
        XCTAssertTrue(dataset.entries[1].audioPath!.hasSuffix("audio/a.wav"))
        let problems = dataset.problems.map(\.description)
        XCTAssertTrue(problems.contains { $0.hasPrefix("missing: no audio file") }, "\(problems)")
        XCTAssertTrue(problems.contains("c: empty caption"), "\(problems)")
        XCTAssertTrue(problems.contains("entry 5: no track_id"), "\(problems)")
        XCTAssertTrue(problems.contains("entry 6: not a JSON object"), "\(problems)")
    }

    func testMissingAndMalformedFilesAreOneLineErrors() throws {
        XCTAssertThrowsError(try CaptionDataset(directory: directory, split: "val")) { error in
            XCTAssertTrue("\(error)".contains("dataset_val.json: no such file"), "\(error)")
        }
        try Data("{\"not\": \"a list\"}".utf8).write(to: CaptionDataset.fileURL(directory: directory, split: "val"))
        XCTAssertThrowsError(try CaptionDataset(directory: directory, split: "val")) { error in
            XCTAssertTrue("\(error)".contains("expected a JSON list"), "\(error)")
        }
    }

    func testPaperFilteringTokenRangeAndDuplicatePolicies() throws {
        try write(split: "train", [
            entry("1", "Soft piano waltz in a minor key"), entry("2", "Soft piano waltz in a minor key"),
            entry("3", "Piano"), entry("4", "Driving rock groove with distorted guitar and pounding drums"),
        ])
        var dataset = try CaptionDataset(directory: directory, split: "train", requireAudio: false)
        let dropped = dataset.filterCaptions()
        XCTAssertEqual(dataset.entries.map(\.trackId), ["4"])
        XCTAssertEqual(dropped.count, 3)
        var keepFirst = try CaptionDataset(directory: directory, split: "train", requireAudio: false)
        keepFirst.filterCaptions(duplicates: .keepFirst)
        XCTAssertEqual(keepFirst.entries.map(\.trackId), ["1", "4"])
        var lenient = try CaptionDataset(directory: directory, split: "train", requireAudio: false)
        lenient.filterCaptions(tokenRange: 1...22, duplicates: .keep)
        XCTAssertEqual(lenient.entries.count, 4)
    }

    func testNumpyAudioIsReadAndBadFilesAreRejected() throws {
        func npy(_ header: String, payload: Data) -> Data {
            var text = header
            while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
            text += "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            data.append(contentsOf: [UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)])
            data.append(Data(text.utf8))
            data.append(payload)
            return data
        }
        var payload = Data()
        for value: Float in [0.5, -0.25, 1] { withUnsafeBytes(of: value.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        let good = directory.appendingPathComponent("good.npy")
        try npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", payload: payload).write(to: good)
        XCTAssertEqual(try NumpyAudio.read(good.path), [0.5, -0.25, 1])
        let truncated = directory.appendingPathComponent("cut.npy")
        try npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", payload: payload).write(to: truncated)
        XCTAssertThrowsError(try NumpyAudio.read(truncated.path)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        let integers = directory.appendingPathComponent("int.npy")
        try npy("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", payload: payload).write(to: integers)
        XCTAssertThrowsError(try NumpyAudio.read(integers.path)) { XCTAssertTrue("\($0)".contains("float32")) }
        XCTAssertThrowsError(try NumpyAudio.read(directory.appendingPathComponent("none.npy").path))
    }

    func testNpyAndDecodedAudioGoThroughTheSameWindowsAndOneExtensionList() throws {
        let samples = (0..<(16_000 * 7)).map { Float(0.3 * sin(Double($0) * 2 * .pi * 440 / 16_000)) }
        let wav = directory.appendingPathComponent("tone.wav"), npy = directory.appendingPathComponent("tone.npy")
        try AudioFileWriter.write(samples, channels: 1, sampleRate: 16_000, format: .wavFloat, to: wav.path)
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(samples.count),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        for value in samples { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: npy)
        let tagger = MusicnnTagger(model: try Musicnn(contentsOf: repositoryRoot.appendingPathComponent("Models/musicnn/MTT_musicnn.safetensors")))
        func features(_ url: URL) throws -> ([Float], Double, Float) {
            var rows: [Float] = []
            let (duration, peak) = try CaptioningAudio.analyze(url.path, with: tagger) { _, output in rows += output.maxPool }
            return (rows, duration, peak)
        }
        let (fromWAV, wavDuration, wavPeak) = try features(wav), (fromNPY, npyDuration, npyPeak) = try features(npy)
        XCTAssertGreaterThanOrEqual(fromWAV.count, 2 * Musicnn.featureChannels)
        XCTAssertEqual(fromNPY, fromWAV, "float WAV at 16 kHz and .npy hold the same samples")
        XCTAssertEqual(npyDuration, wavDuration, accuracy: 1e-9)
        XCTAssertEqual(npyPeak, wavPeak)
        XCTAssertTrue(CaptioningAudio.isAudioFile("a/b/Song.FLAC") && CaptioningAudio.isAudioFile("x.npy") && CaptioningAudio.isAudioFile("x.oga"))
        XCTAssertFalse(CaptioningAudio.isAudioFile("notes.txt"))
        XCTAssertEqual(LibraryIndex.audioExtensions, Set(CaptioningAudio.fileExtensions))
    }

    func testPrepareExtractsOnceFiltersByDurationAndReusesTheCache() throws {
        try writeTone("long.wav", seconds: 31)
        try writeTone("short.wav", seconds: 5)
        try Data(repeating: 0x42, count: 2_000).write(to: directory.appendingPathComponent("audio/broken.wav"))
        try write(split: "train", [
            entry("long", "Calm sine tone for a long time"), entry("long", "A steady electronic hum with no rhythm"),
            entry("short", "Short sine tone for a moment"), entry("broken", "This audio file is corrupt anyway"),
        ])
        let model = try Musicnn(contentsOf: repositoryRoot.appendingPathComponent("Models/musicnn/MTT_musicnn.safetensors"))
        let extractor = TrackFeatureExtractor(tagger: MusicnnTagger(model: model, workers: 2), identifier: "musicnn-mtt")
        let preparation = DatasetPreparation(directory: directory, extractor: extractor)
        var progressCalls = 0
        let report = try preparation.prepare(split: "train") { _, total, _ in progressCalls += 1; XCTAssertEqual(total, 3) }
        XCTAssertEqual(progressCalls, 3)
        XCTAssertEqual(report.pairs, 2)
        XCTAssertEqual(report.tracks, 1)
        XCTAssertEqual(report.extracted, 2)
        XCTAssertTrue(report.problems.contains { $0.trackId == "short" && $0.reason.contains("5.0 s long") }, "\(report.problems)")
        XCTAssertTrue(report.problems.contains { $0.trackId == "broken" && $0.reason.contains("broken.wav") }, "\(report.problems)")

        let split = try PreparedSplit(datasetDirectory: directory, extractor: "musicnn-mtt", split: "train")
        XCTAssertEqual(split.tracks.count, 1)
        XCTAssertEqual(split.tracks[0].features.shape, [10, 753])   // 31 s → 10 whole 2.992 s windows
        XCTAssertEqual(split.tracks[0].duration, 31, accuracy: 1e-6)
        XCTAssertEqual(split.references[0].count, 2)

        // The same features as tagging the file directly.
        var direct: [Float] = []
        try MusicnnTagger(model: model).analyze(file: directory.appendingPathComponent("audio/long.wav").path) { _, output in direct += output.maxPool }
        XCTAssertEqual(split.tracks[0].features.scalars, direct)

        // Second run: both decodable tracks come from the cache; the broken file is reported again.
        let again = try preparation.prepare(split: "train")
        XCTAssertEqual(again.extracted, 0)
        XCTAssertEqual(again.reused, 2)
        XCTAssertEqual(again.pairs, 2)

        // A changed audio file is recomputed.
        try writeTone("long.wav", seconds: 32, frequency: 220)
        XCTAssertEqual(try preparation.prepare(split: "train").extracted, 1)
    }

    private var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
