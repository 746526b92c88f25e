import Foundation
import MusicTagging

/// Reads a 1-D float32/float64 `.npy` array (NPY format 1.0–3.0), as the original MusCaps repository
/// stores its 16 kHz audio.
public enum NumpyAudio {
    public static func read(_ path: String) throws -> [Float] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError.unreadable(path: path, reason: "cannot be read")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw DatasetError.malformed(path: path, reason: "not a .npy file")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count >= 12 else { throw DatasetError.malformed(path: path, reason: "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else {
            throw DatasetError.malformed(path: path, reason: "truncated .npy header")
        }
        guard header.contains("'fortran_order': False") else {
            throw DatasetError.malformed(path: path, reason: "Fortran-order arrays are not supported")
        }
        let elementSize: Int
        if header.contains("'<f4'") { elementSize = 4 } else if header.contains("'<f8'") { elementSize = 8 } else {
            throw DatasetError.malformed(path: path, reason: "expected little-endian float32 or float64 samples")
        }
        guard let shapeStart = header.range(of: "'shape': ("), let shapeEnd = header[shapeStart.upperBound...].firstIndex(of: ")") else {
            throw DatasetError.malformed(path: path, reason: "no shape in the .npy header")
        }
        let dimensions = header[shapeStart.upperBound..<shapeEnd].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dimensions.count == 1 || (dimensions.count == 2 && dimensions[0] == 1) else {
            throw DatasetError.malformed(path: path, reason: "expected a 1-D array of mono samples, got shape \(dimensions)")
        }
        let count = dimensions.last!
        let payload = headerStart + headerLength
        guard bytes.count - payload >= count * elementSize else {
            throw DatasetError.malformed(path: path, reason: "truncated: \(count) samples announced, \((bytes.count - payload) / elementSize) present")
        }
        var samples = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            for i in 0..<count {
                if elementSize == 4 {
                    samples[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: payload + 4 * i, as: UInt32.self)))
                } else {
                    samples[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: payload + 8 * i, as: UInt64.self))))
                }
            }
        }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError.malformed(path: path, reason: "sample \(bad) is \(samples[bad])")
        }
        return samples
    }
}

/// The audio files the captioning commands read — anything `AudioFileDecoder` decodes, or a float32
/// 16 kHz `.npy` array as the original MusCaps repository stores audio — and the one place that tells
/// them apart.
public enum CaptioningAudio {
    /// File extensions (lower case) taken as audio, in the order a track's file is looked for.
    public static let fileExtensions = ["wav", "flac", "ogg", "oga", "opus", "mp3", "npy"]

    /// Whether `path`'s extension is one of `fileExtensions`.
    public static func isAudioFile(_ path: String) -> Bool {
        fileExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }

    /// Runs `tagger`'s windows over the file at `path` (`.npy`: read as 16 kHz samples; otherwise
    /// decoded, downmixed and resampled); returns its duration in seconds and its peak.
    public static func analyze(_ path: String, with tagger: MusicnnTagger,
                               body: (AnalysisWindow, MusicnnOutput) throws -> Void) throws -> (duration: Double, peak: Float) {
        if URL(fileURLWithPath: path).pathExtension.lowercased() == "npy" {
            let samples = try NumpyAudio.read(path)
            try tagger.analyze(samples: samples, body: body)
            return (Double(samples.count) / Double(MusicnnTagger.sampleRate), samples.reduce(0) { max($0, abs($1)) })
        }
        let info = try tagger.analyze(file: path, body: body)
        return (info.duration, info.peak)
    }

    /// The same for either extractor (musicnn or the Harmonic CNN).
    public static func analyze(_ path: String, with tagger: any WindowTagger,
                               body: (AnalysisWindow, any WindowOutput) throws -> Void) throws -> (duration: Double, peak: Float) {
        if URL(fileURLWithPath: path).pathExtension.lowercased() == "npy" {
            let samples = try NumpyAudio.read(path)
            try tagger.analyzeWindows(samples: samples, body: body)
            return (Double(samples.count) / Double(MusicnnTagger.sampleRate), samples.reduce(0) { max($0, abs($1)) })
        }
        let info = try tagger.analyzeWindows(file: path, body: body)
        return (info.duration, info.peak)
    }
}
