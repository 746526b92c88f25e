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
}
