@testable import CaptionMetrics
import XCTest

/// The native tokenizer against the real Stanford PTBTokenizer + pycocoevalcap's filter, token for token.
final class TokenizerTests: XCTestCase {
    /// Both golden batches (references, candidates), raw PTB output and the filtered strings.
    func testGoldenCasesTokenizeExactlyAsPycocoevalcap() throws {
        let golden = try Golden.load()
        let tokenizer = PTBTokenizer()
        let refs = golden.cases.flatMap(\.references)
        let expectedRefs = golden.cases.flatMap(\.tokenized.references)
        let expectedRefsRaw = golden.cases.flatMap(\.ptb.references)
        let cands = golden.cases.map(\.candidate)
        for (inputs, expected, raw) in [(refs, expectedRefs, expectedRefsRaw),
                                        (cands, golden.cases.map(\.tokenized.candidate), golden.cases.map(\.ptb.candidate))] {
            let rawOut = tokenizer.rawTokens(inputs)
            let out = tokenizer.tokenize(inputs)
            XCTAssertEqual(out.count, expected.count)
            for i in inputs.indices {
                XCTAssertEqual(scalars(rawOut[i].joined(separator: " ")), scalars(raw[i]),
                               "raw PTB tokens of \(debugText(inputs[i])): got \(debugText(rawOut[i].joined(separator: " "))), want \(debugText(raw[i]))")
                XCTAssertEqual(scalars(out[i]), scalars(expected[i]),
                               "tokenized \(debugText(inputs[i])): got \(debugText(out[i])), want \(debugText(expected[i]))")
            }
        }
    }

    /// ~1,000 further lines: the notes' trap list, abbreviations, clitics, numbers, URLs, symbols, scripts,
    /// and seeded random fragments glued with and without spaces — one batch, as the reference ran them.
    func testTokenizerFixtureLinesMatchStanfordTokenFortoken() throws {
        let fixture = try TokenizerFixture.load()
        let tokenizer = PTBTokenizer()
        let texts = fixture.lines.map(\.text)
        let raw = tokenizer.rawTokens(texts)
        let out = tokenizer.tokenize(texts)
        var failures = 0
        for (i, line) in fixture.lines.enumerated() {
            let got = raw[i].joined(separator: " ")
            if scalars(got) != scalars(line.ptb) || scalars(out[i]) != scalars(line.tokenized) {
                failures += 1
                if failures <= 40 {
                    XCTFail("line \(i) \(debugText(line.text)): got [\(debugText(got))], want [\(debugText(line.ptb))]")
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(fixture.lines.count) lines differ")
    }

    /// Every BMP character inside a word and alone, against the jar: pins the Unicode tables (letters are
    /// Unicode 6.x there, with a few categories changed since) and the set of characters it deletes.
    func testEveryBMPCharacterIsClassifiedAsByTheJar() throws {
        let probe = try TokenizerFixture.load().bmp
        let excluded = Set(probe.excluded)
        let cps = (probe.first...probe.last).filter { !excluded.contains($0) && !(0xD800...0xDFFF).contains($0) }
        var lines: [String] = []
        for cp in cps {
            let c = String(Unicode.Scalar(cp)!)
            lines.append("a" + c + "b")
            lines.append(c)
        }
        let raw = PTBTokenizer().rawTokens(lines)
        var inWord: [UInt32] = [], kept: [UInt32] = []
        for (k, cp) in cps.enumerated() {
            if raw[2 * k].count == 1 { inWord.append(cp) }
            if !raw[2 * k + 1].isEmpty { kept.append(cp) }
        }
        func ranges(_ values: [UInt32]) -> [[UInt32]] {
            var out: [[UInt32]] = []
            for v in values {
                if let last = out.last, last[1] == v - 1 { out[out.count - 1][1] = v } else { out.append([v, v]) }
            }
            return out
        }
        let gotInWord = ranges(inWord), gotKept = ranges(kept)
        XCTAssertEqual(gotInWord, probe.in_word, "characters that continue a word: \(describeDifference(gotInWord, probe.in_word))")
        XCTAssertEqual(gotKept, probe.kept_alone, "characters kept alone: \(describeDifference(gotKept, probe.kept_alone))")
    }

    private func describeDifference(_ got: [[UInt32]], _ want: [[UInt32]]) -> String {
        func expand(_ r: [[UInt32]]) -> Set<UInt32> { Set(r.flatMap { $0[0]...$0[1] }) }
        let g = expand(got), w = expand(want)
        let extra = g.subtracting(w).sorted().prefix(20).map { String($0, radix: 16) }
        let missing = w.subtracting(g).sorted().prefix(20).map { String($0, radix: 16) }
        return "extra \(extra), missing \(missing)"
    }
}
