import Captioning
import Foundation
import MusicTagging
import NeuralCore

/// The model files a batch runs with, resolved once and identified by their SHA-256.
public struct BatchModelFiles: Sendable {
    public let tagger: MusicnnModelName
    public let taggerURL: URL
    public let captionerURL: URL?
    public let identity: BatchModels

    /// `captioner` is needed when the tasks caption; its extractor must be the tagger's.
    public init(tagger: MusicnnModelName, taggerURL: URL, captionerURL: URL?) throws {
        self.tagger = tagger
        self.taggerURL = taggerURL
        self.captionerURL = captionerURL
        let extractor = "musicnn-\(tagger.rawValue)"
        var captioner: ModelIdentity?
        if let captionerURL {
            let bundle = try CaptioningModelBundle.load(captionerURL)
            guard bundle.extractor == extractor else {
                throw BatchError("\(captionerURL.path) captions from \(bundle.extractor) features but the tagger is \(extractor); use --tagger \(bundle.extractor.replacingOccurrences(of: "musicnn-", with: ""))")
            }
            captioner = ModelIdentity(name: captionerURL.lastPathComponent, sha256: try SHA256.hex(ofFileAt: captionerURL.path))
        }
        identity = BatchModels(extractor: extractor,
                               tagger: ModelIdentity(name: taggerURL.lastPathComponent, sha256: try SHA256.hex(ofFileAt: taggerURL.path)),
                               captioner: captioner)
    }
}

/// Runs a batch's tasks on one track at a time with the project's own code paths: `TrackFeatureExtractor`
/// / `MusicnnTagger` (one streaming decode and one musicnn pass per track give tags and caption features),
/// the captioning decoders and `RollingCaptions` of `muscaps caption`, and the feature layout of
/// `muscaps index`. One analyzer per worker thread: each owns its model replica and decoder.
public final class TrackAnalyzer {
    public let tasks: BatchTasks
    public let models: BatchModels
    private let extractor: TrackFeatureExtractor
    private let tagNames: [String]
    private let bundle: CaptioningModelBundle?
    private let decoder: CaptionDecoder?

    /// `musicnn`: loaded once per batch; each analyzer takes a replica (shared weights, own scratch).
    public init(tasks: BatchTasks, files: BatchModelFiles, musicnn: Musicnn) throws {
        self.tasks = tasks
        models = files.identity
        extractor = TrackFeatureExtractor(tagger: MusicnnTagger(model: musicnn.replica(), workers: 1), identifier: files.identity.extractor)
        tagNames = musicnn.tags
        if tasks.needsCaptioner {
            guard let url = files.captionerURL else { throw BatchError("captioning needs a captioning model") }
            // A bundle per analyzer: the model builds inference scratch lazily, which threads must not share.
            let bundle = try CaptioningModelBundle.load(url)
            self.bundle = bundle
            decoder = try CaptionDecoder(model: bundle.model, beamWidth: tasks.beam, maxLength: tasks.maxLength)
        } else {
            bundle = nil
            decoder = nil
        }
    }

    private func decode(_ features: Tensor) throws -> DecodedCaption { try decoder!.decode(features) }

    /// Everything the tasks ask for about `path`; failures (unreadable, corrupt, unsupported, silent)
    /// come back as a failed record, never as a thrown error. Features are written to
    /// `outputDirectory/features/` (atomically) before the record that names them is returned.
    public func analyze(path: String, outputDirectory: URL) -> BatchRecord {
        let key = LibraryIndex.signature(of: path)
        var record = BatchRecord(path: path, key: key, status: .done, models: models)
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw BatchError("\(path): no such file") }
            guard !isDirectory.boolValue else { throw BatchError("\(path): is a folder, not an audio file") }
            guard key != nil else { throw BatchError("\(path): cannot be read") }
            record.sha256 = try SHA256.hex(ofFileAt: path)
            let audio = try extractor.extractWindows(audioPath: path)
            record.duration = Self.rounded(audio.duration, 1e3)
            if audio.peak == 0 { throw BatchError("\(path): the audio is digital silence (every sample is zero); nothing to describe") }
            try fill(&record, audio: audio, outputDirectory: outputDirectory)
        } catch {
            record = BatchRecord(path: path, key: key, status: .failed, models: models)
            record.error = "\(error)"
        }
        return record
    }

    private func fill(_ record: inout BatchRecord, audio: WindowFeatures, outputDirectory: URL) throws {
        let tagCount = tagNames.count
        func ranked(_ probabilities: UnsafeBufferPointer<Float>) -> [RankedTag] {
            topTags(probabilities, names: tagNames, count: tasks.top).map { RankedTag(tag: $0.tag, probability: Self.rounded(Double($0.probability), 1e4)) }
        }
        if tasks.summary {
            var sum = [Float](repeating: 0, count: tagCount)
            var counted = 0
            for (i, window) in audio.windows.enumerated() where !window.isSilent {
                for t in 0..<tagCount { sum[t] += audio.taggram[i * tagCount + t] }
                counted += 1
            }
            if counted > 0 {
                let mean = sum.map { $0 / Float(counted) }
                record.summary = mean.withUnsafeBufferPointer(ranked)
            } else {
                record.summary = []
                record.silent = true
            }
        }
        if tasks.tags {
            record.windows = audio.windows.enumerated().map { i, window in
                let tags = window.isSilent ? [] : audio.taggram[(i * tagCount)..<((i + 1) * tagCount)].withUnsafeBufferPointer(ranked)
                return WindowTags(start: Self.rounded(window.start, 1e3), end: Self.rounded(window.end, 1e3), silent: window.isSilent ? true : nil, tags: tags)
            }
        }
        if tasks.caption, let bundle {
            let end = audio.windows.last?.end ?? audio.duration
            record.caption = caption(try decode(audio.all), start: 0, end: end, bundle: bundle)
        }
        if let every = tasks.every, let bundle {
            record.captions = try RollingCaptions.spans(audio.windows, duration: audio.duration, every: every, context: tasks.context).map { span in
                span.silent ? CaptionResult(start: Self.rounded(span.start, 1e3), end: Self.rounded(span.end, 1e3), text: nil, logProb: nil, finished: nil, silent: true)
                            : caption(try decode(audio.features(span.windows)), start: span.start, end: span.end, bundle: bundle)
            }
        }
        if tasks.features {
            let name = "features/\(BatchRecord.fileStem(for: record.path)).safetensors"
            let url = outputDirectory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try SafetensorsWriter.write(tensors: [("features", audio.all)],
                                        metadata: ["source": record.path, "extractor": models.extractor, "signature": record.key ?? ""], to: url)
            record.features = name
            record.featureRows = audio.count
        }
    }

    private func caption(_ decoded: DecodedCaption, start: Double, end: Double, bundle: CaptioningModelBundle) -> CaptionResult {
        CaptionResult(start: Self.rounded(start, 1e3), end: Self.rounded(end, 1e3), text: decoded.sentence(bundle.vocabulary),
                      logProb: Self.rounded(decoded.logProbability, 1e4), finished: decoded.finished, silent: nil)
    }

    /// Results are written with fixed precision (milliseconds, 4 decimals): short lines, same bytes every run.
    static func rounded(_ value: Double, _ scale: Double) -> Double { (value * scale).rounded() / scale }
}
