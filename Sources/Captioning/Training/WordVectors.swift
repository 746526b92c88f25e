import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Pretrained word vectors in GloVe's text format (`glove.6B.300d.txt`: one word per line followed by its
/// d values, space-separated; a word2vec-style "count dimension" first line is skipped).
///
/// `embeddingMatrix` follows the reference's rule (`muscaps/utils/vocab.py`, `_load_vectors`): the four
/// special tokens get constant vectors 0.1·i (`<pad>` 0, `<unk>` 0.1, `<sos>` 0.2, `<eos>` 0.3), every other
/// vocabulary word its GloVe vector, and words GloVe does not have the `<unk>` vector.
public enum WordVectors {
    public struct Loaded: Sendable {
        public let dimension: Int
        /// `[vocabulary.count × dimension]`, row-major.
        public let matrix: [Float]
        /// Vocabulary words (specials excluded) found in the file, and the ones that were not.
        public let found: Int
        public let missing: [String]
    }

    /// Reads only the vectors of `vocabulary`'s words (the file may be gigabytes; it is streamed).
    public static func load(_ url: URL, vocabulary: Vocabulary) throws -> Loaded {
        guard let file = fopen(url.path, "r") else {
            throw WordVectorsError(path: url.path, reason: FileManager.default.fileExists(atPath: url.path) ? "cannot be read" : "no such file")
        }
        defer { fclose(file) }
        var wanted: [String: Int] = [:]
        for (i, w) in vocabulary.words.enumerated() where i >= 4 { wanted[w] = i }

        var dimension = 0
        var vectors: [Int: [Float]] = [:]
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        var lineNumber = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            lineNumber += 1
            guard let line else { break }
            let text = String(cString: line)
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" })
            if fields.isEmpty { continue }
            if lineNumber == 1 && fields.count == 2 && Int(fields[0]) != nil && Int(fields[1]) != nil { continue }  // word2vec header
            guard fields.count >= 2 else {
                throw WordVectorsError(path: url.path, reason: "line \(lineNumber): expected a word and its vector")
            }
            if dimension == 0 { dimension = fields.count - 1 }
            guard fields.count - 1 == dimension else {
                throw WordVectorsError(path: url.path, reason: "line \(lineNumber): \(fields.count - 1) values, expected \(dimension) as on the first line")
            }
            guard let index = wanted[String(fields[0])], vectors[index] == nil else { continue }
            var vector = [Float]()
            vector.reserveCapacity(dimension)
            for field in fields.dropFirst() {
                guard let value = Float(field), value.isFinite else {
                    throw WordVectorsError(path: url.path, reason: "line \(lineNumber): '\(field)' is not a finite number")
                }
                vector.append(value)
            }
            vectors[index] = vector
        }
        guard dimension > 0 else { throw WordVectorsError(path: url.path, reason: "no word vectors in the file") }

        var matrix = [Float](repeating: 0, count: vocabulary.count * dimension)
        for i in 0..<min(4, vocabulary.count) {
            for j in 0..<dimension { matrix[i * dimension + j] = 0.1 * Float(i) }
        }
        var missing: [String] = []
        for i in 4..<vocabulary.count {
            let row = vectors[i] ?? Array(matrix[(Vocabulary.unknownIndex * dimension)..<((Vocabulary.unknownIndex + 1) * dimension)])
            if vectors[i] == nil { missing.append(vocabulary.words[i]) }
            for j in 0..<dimension { matrix[i * dimension + j] = row[j] }
        }
        return Loaded(dimension: dimension, matrix: matrix, found: vocabulary.count - 4 - missing.count, missing: missing)
    }
}

public struct WordVectorsError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
