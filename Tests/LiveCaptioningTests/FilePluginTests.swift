import Foundation
import LiveCaptioning
import TestServerSupport
import XCTest
import ThreadSupport

/// The real `file` plugin (libmuscaps-plugin-file.so) writing JSON Lines, WebVTT and SRT, read back.
final class FilePluginTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try Build.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    /// The daemon's view: windows through the merger, then the outputs.
    private func programme() -> [CaptionEvent] {
        let windows = [
            Events.caption("a gentle solo piano waltz", 0, 3), Events.caption("a gentle solo piano waltz.", 3, 6),
            Events.caption("upbeat rock with electric guitars and pounding drums", 6, 9),
            Events.tagsOnly(9, 12, ["techno", "electronic", "beat"]), Events.tagsOnly(12, 15, ["electronic", "techno", "beat"]),
            CaptionEvent(kind: .silence, start: 15, end: 18),
            CaptionEvent(kind: .status, start: 18, end: 18, text: "capture source lost"),
            Events.caption("a gentle solo piano waltz", 18, 21),
        ]
        var merger = CaptionMerger()
        var out: [CaptionEvent] = []
        for window in windows {
            // The model is not always consistent about the final period: the pipeline normalises.
            var w = window
            if w.text.hasSuffix(".") { w.text.removeLast() }
            merger.add(w) { out.append($0) }
        }
        merger.finish { out.append($0) }
        return out
    }

    private let expectedCues = [
        Cue(start: 0, end: 6, lines: ["[A gentle solo piano waltz]"]),
        Cue(start: 6, end: 9, lines: ["[Upbeat rock with electric guitars and", "pounding drums]"]),
        Cue(start: 9, end: 15, lines: ["[Music: techno, electronic, beat]"]),
        Cue(start: 18, end: 21, lines: ["[A gentle solo piano waltz]"]),
    ]

    func testJSONLinesRecordEveryEventInTheSwiftEncoding() throws {
        var failed = Events.tagsOnly(24, 27, ["piano"], id: 100)
        failed.captionError = "the decoder said \"no\""
        let events = programme() + [Events.caption("quotes \" backslash \\ tab \t newline \n ünï — \u{7}", 21, 24, id: 99), failed]
        try withOutput("file:\(path("captions.jsonl"))") { host in events.forEach(host.emit) }
        let text = try read("captions.jsonl")
        XCTAssertEqual(text, events.map { $0.jsonLine + "\n" }.joined(), "byte for byte the Swift encoding")
        XCTAssertEqual(try decodeJSONLines(text).map(\.id), events.map(\.id))
        XCTAssertTrue(events.contains { !$0.isFinal } && events.contains { $0.kind == .status })
    }

    func testJSONLinesWithoutInterimRevisions() throws {
        let events = programme()
        try withOutput("file:\(path("finals.ndjson")),interim=no") { host in events.forEach(host.emit) }
        let decoded = try decodeJSONLines(try read("finals.ndjson"))
        XCTAssertEqual(decoded.count, events.filter { $0.isFinal }.count)
        XCTAssertTrue(decoded.allSatisfy(\.isFinal))
    }

    func testWebVTTFromTheMergedProgramme() throws {
        try withOutput("file:\(path("captions.vtt"))") { host in programme().forEach(host.emit) }
        let text = try read("captions.vtt")
        let cues = try Subtitles.parseVTT(text)
        XCTAssertEqual(cues, expectedCues, text)
        Subtitles.assertReadable(cues)
        XCTAssertTrue(text.contains("00:00:06.000 --> 00:00:09.000\n"), text)
    }

    func testSRTNumberingAndTimestamps() throws {
        try withOutput("file:\(path("captions.srt"))") { host in programme().forEach(host.emit) }
        let text = try read("captions.srt")
        XCTAssertEqual(try Subtitles.parseSRT(text), expectedCues, text)
        XCTAssertTrue(text.hasPrefix("1\n00:00:00,000 --> 00:00:06,000\n[A gentle solo piano waltz]\n\n2\n"), text)
    }

    func testFormatOptionOverridesTheExtension() throws {
        try withOutput("file:path=\(path("live.txt")),format=webvtt") { host in host.emit(Events.caption("x", 0, 2)) }
        XCTAssertEqual(try Subtitles.parseVTT(try read("live.txt")).map(\.text), ["[X]"])
    }

    func testLongDescriptionIsSplitIntoReadableCues() throws {
        let text = "a slow and melancholic string quartet with a prominent cello line, sparse pizzicato violins and a viola "
            + "that answers the cello in a call and response pattern recorded in a reverberant church"
        try withOutput("file:\(path("long.vtt"))") { host in host.emit(Events.caption(text, 10, 22)) }
        let cues = try Subtitles.parseVTT(try read("long.vtt"))
        XCTAssertGreaterThan(cues.count, 2)
        Subtitles.assertReadable(cues)
        XCTAssertEqual(cues.first?.start, 10)
        XCTAssertEqual(cues.last?.end, 22)
        for (a, b) in zip(cues, cues.dropFirst()) { XCTAssertEqual(a.end, b.start, accuracy: 0.0011, "contiguous") }
        XCTAssertEqual(cues.map(\.text).joined(separator: " "), "[A" + text.dropFirst() + "]", "the whole text, in order")
    }

    func testLongSpanShowsTheTextAgainInPartsOfAtMostSevenSeconds() throws {
        try withOutput("file:\(path("span.srt"))") { host in host.emit(Events.caption("solo piano", 0, 20)) }
        let cues = try Subtitles.parseSRT(try read("span.srt"))
        XCTAssertEqual(cues.map(\.text), Array(repeating: "[Solo piano]", count: 3))
        XCTAssertEqual(cues.map(\.start), [0, 6.667, 13.333])
        XCTAssertEqual(cues.last?.end, 20)
        Subtitles.assertReadable(cues)
    }

    func testIdenticalCaptionsMergeUpToSevenSecondsAndShortOnesLastOneSecond() throws {
        let events = [
            Events.caption("a", 0, 3), Events.caption("a", 3, 6), Events.caption("a", 6, 9), Events.caption("a", 9, 12),
            Events.caption("b", 12, 12.3), Events.caption("c", 12.5, 13),
        ]
        try withOutput("file:\(path("merge.vtt"))") { host in events.forEach(host.emit) }
        let cues = try Subtitles.parseVTT(try read("merge.vtt"))
        // "b" is stretched to 1 s, so "c" starts when it ends (cues never overlap) and lasts 1 s too.
        XCTAssertEqual(cues.map { [$0.start, $0.end] }, [[0, 6], [6, 12], [12, 13], [13, 14]])
        XCTAssertEqual(cues.map(\.text), ["[A]", "[A]", "[B]", "[C]"])
        Subtitles.assertReadable(cues)
    }

    func testMarkupIsEscapedInWebVTT() throws {
        try withOutput("file:\(path("escape.vtt"))") { host in host.emit(Events.caption("drums & bass --> <loud>", 0, 3)) }
        let text = try read("escape.vtt")
        XCTAssertTrue(text.contains("[Drums &amp; bass --&gt; &lt;loud&gt;]"), text)
        XCTAssertEqual(try Subtitles.parseVTT(text).map(\.text), ["[Drums & bass --> <loud>]"])
    }

    func testAnnouncedCaptionIsWrittenWhenTheDaemonStopsBeforeItsFinal() throws {
        try withOutput("file:\(path("open.srt"))") { host in
            host.emit(Events.caption("done", 0, 3, id: 1, final: true))
            host.emit(Events.caption("still going", 3, 6, id: 2, final: false))
        }
        XCTAssertEqual(try Subtitles.parseSRT(try read("open.srt")).map(\.text), ["[Done]", "[Still going]"])
    }

    /// "A crash loses nothing already emitted": cues are in the file as soon as they are complete,
    /// before any flush or shutdown (only the latest single cue is held back, for merging).
    func testCuesReachTheFileAsTheyAreWritten() throws {
        let host = try OutputHost.start([try OutputSpec(parsing: "file:\(path("live.srt")),fsync=yes")], searchPath: Build.searchPath,
                                        installCrashReporter: false)
        for (i, text) in ["one", "two", "three"].enumerated() { host.emit(Events.caption(text, Double(i) * 3, Double(i) * 3 + 3)) }
        let deadline = Monotonic.deadline(after: 5)
        while host.statistics[0].delivered < 3 && Monotonic.now() < deadline { usleep(1000) }
        XCTAssertEqual(try Subtitles.parseSRT(try read("live.srt")).map(\.text), ["[One]", "[Two]"])
        XCTAssertTrue(host.flush(timeout: 5))
        XCTAssertEqual(try Subtitles.parseSRT(try read("live.srt")).map(\.text), ["[One]", "[Two]", "[Three]"])
        XCTAssertEqual(host.shutdown(timeout: 5), [.finished])
    }

    func testRotationBySizeGivesCompleteFilesEachStartingAfresh() throws {
        for format in ["vtt", "srt", "jsonl"] {
            let events = (0..<24).map { Events.caption("caption number \($0)", Double($0) * 3, Double($0) * 3 + 3) }
            try withOutput("file:\(path("rotating.\(format)")),rotate_bytes=400") { host in events.forEach(host.emit) }
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".\(format)") }
            XCTAssertGreaterThanOrEqual(files.count, 3, "\(format): \(files)")
            let pattern = try NSRegularExpression(pattern: "^rotating(\\.[0-9]{8}-[0-9]{6}(-[0-9]+)?)?\\.\(format)$")
            var texts: [String] = []
            for file in files {
                XCTAssertNotNil(pattern.firstMatch(in: file, range: NSRange(file.startIndex..., in: file)), file)
                let content = try read(file)
                switch format {
                case "vtt":
                    let cues = try Subtitles.parseVTT(content)
                    Subtitles.assertReadable(cues)
                    texts += cues.map(\.text)
                case "srt":
                    texts += try Subtitles.parseSRT(content).map(\.text) // numbering from 1 in every file
                default:
                    texts += try decodeJSONLines(content).map(\.text)
                }
                if file != "rotating.\(format)" {
                    XCTAssertGreaterThanOrEqual(content.utf8.count, 400, "\(file) was rotated at the size limit")
                }
            }
            let expected = format == "jsonl" ? events.map(\.text) : events.map { "[C" + $0.text.dropFirst() + "]" }
            XCTAssertEqual(Set(texts), Set(expected), "\(format): every caption in exactly one file")
            XCTAssertEqual(texts.count, expected.count, format)
        }
    }

    /// rotate=daily: the probe runs with libfaketime, its clock starting at 23:59:57 UTC; the first cue is
    /// written at about 23:59:59.4, the second at 00:00:00.6, so each day's file gets its own cues.
    func testDailyRotationAtMidnight() throws {
        let faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: faketime), "needs libfaketime (Tools/setup.sh installs it)")
        let result = try runProduct("muscaps-plugin-probe", ["file:\(path("daily.srt")),rotate=daily", "--events", "4", "--interval-ms", "1200"],
                                    environment: ["LD_PRELOAD": faketime, "FAKETIME": "@2026-11-26 23:59:57",
                                                  "FAKETIME_DONT_FAKE_MONOTONIC": "1", "TZ": "UTC"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["daily.2026-11-26.srt", "daily.srt"])
        XCTAssertEqual(try Subtitles.parseSRT(try read("daily.2026-11-26.srt")).map(\.text), ["[A gentle solo piano waltz]"])
        XCTAssertEqual(try Subtitles.parseSRT(try read("daily.srt")).map(\.text),
                       ["[Upbeat rock with electric guitars and pounding drums]", "[Music: techno, electronic, beat]"])
    }

    func testExistingSubtitleFileIsMovedAsideAndJSONLinesAreAppended() throws {
        try "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n[Old]\n\n".write(toFile: path("old.vtt"), atomically: false, encoding: .utf8)
        let old = Events.caption("old", 0, 1, id: 1).jsonLine + "\n"
        try old.write(toFile: path("old.jsonl"), atomically: false, encoding: .utf8)
        try withOutput("file:\(path("old.vtt"))") { host in host.emit(Events.caption("new", 0, 2)) }
        try withOutput("file:\(path("old.jsonl"))") { host in host.emit(Events.caption("new", 0, 2, id: 1)) }

        XCTAssertEqual(try Subtitles.parseVTT(try read("old.vtt")).map(\.text), ["[New]"])
        let movedAside = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("old.") && $0.hasSuffix(".vtt") && $0 != "old.vtt" }
        XCTAssertEqual(movedAside.count, 1)
        XCTAssertEqual(try Subtitles.parseVTT(try read(movedAside[0])).map(\.text), ["[Old]"])
        XCTAssertEqual(try decodeJSONLines(try read("old.jsonl")).map(\.text), ["old", "new"])
    }

    func testAnEmptyCaptureStillLeavesAValidWebVTTFile() throws {
        try withOutput("file:\(path("empty.vtt"))") { _ in }
        XCTAssertEqual(try read("empty.vtt"), "WEBVTT\n\n")
        XCTAssertEqual(try Subtitles.parseVTT(try read("empty.vtt")), [])
    }
}
