import Foundation
import LiveCaptioning
import XCTest

final class CaptionEventTests: XCTestCase {
    func testJSONLineFormat() {
        let event = Events.caption("a gentle \"solo\" piano waltz\n", 12, 15, id: 3)
        XCTAssertEqual(event.jsonLine, """
            {"t0": 12.000, "t1": 15.000, "kind": "caption", "text": "a gentle \\"solo\\" piano waltz\\n", \
            "tags": {"piano": 0.83, "classical": 0.62}, "final": true, "id": 3, "wall": "2025-11-26T15:13:32.123Z", \
            "model": "musicnn-mtt", "latency_ms": 85.2}
            """)
    }

    func testACaptionErrorIsTheLastFieldAndOnlyWhenThereIsOne() {
        var event = Events.tagsOnly(3, 6, ["piano"], id: 4)
        XCTAssertFalse(event.jsonLine.contains("caption_error"))
        event.captionError = "features hold 376 values"
        XCTAssertTrue(event.jsonLine.hasSuffix(#""latency_ms": 85.2, "caption_error": "features hold 376 values"}"#), event.jsonLine)
    }

    func testJSONRoundTripThroughCodable() throws {
        var failed = Events.tagsOnly(9, 12, ["piano"], id: 5)
        failed.captionError = "decoder \"state\" refused"
        let events = [
            failed,
            Events.caption("ünïcødé — \u{01} control", 0, 3.5, id: 1, final: false),
            Events.tagsOnly(3.5, 6, ["techno", "beat", "electronic"], id: 2),
            CaptionEvent(id: 3, kind: .silence, start: 6, end: 9, wallClockStart: 1_000_000_000_000_000_000, model: "m"),
            CaptionEvent(id: 4, kind: .status, start: 9, end: 9, wallClockStart: -1_500_000_000, text: "capture source lost"),
        ]
        for event in events {
            let decoded = try JSONDecoder().decode(CaptionEvent.self, from: Data(event.jsonLine.utf8))
            XCTAssertEqual(decoded, event) // (times in ms, latency with one decimal, scores with 6 digits survive)
            // JSONEncoder's output decodes to the same event too.
            XCTAssertEqual(try JSONDecoder().decode(CaptionEvent.self, from: JSONEncoder().encode(event)), event)
        }
    }

    func testISO8601() {
        XCTAssertEqual(ISO8601Milliseconds.format(0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(ISO8601Milliseconds.format(-1), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(ISO8601Milliseconds.parse("2026-11-26T15:30:00.123Z"), 1_795_707_000_123_000_000)
        XCTAssertEqual(ISO8601Milliseconds.parse("2026-11-26T15:30:00Z"), 1_795_707_000_000_000_000)
        XCTAssertNil(ISO8601Milliseconds.parse("2026-11-26 15:30:00"))
    }

    func testOutputSpecParsing() throws {
        XCTAssertEqual(try OutputSpec(parsing: "stdout"), OutputSpec(plugin: "stdout"))
        XCTAssertEqual(try OutputSpec(parsing: "stdout:json"), OutputSpec(plugin: "stdout", options: [.init("arg", "json")]))
        XCTAssertEqual(try OutputSpec(parsing: "file:/tmp/a=b.vtt,rotate_bytes=10M,fsync=yes"),
                       OutputSpec(plugin: "file", options: [.init("arg", "/tmp/a=b.vtt"), .init("rotate_bytes", "10M"), .init("fsync", "yes")]))
        XCTAssertEqual(try OutputSpec(parsing: "./libmine.so:x=1").plugin, "./libmine.so")
        XCTAssertThrowsError(try OutputSpec(parsing: ":json"))
        XCTAssertEqual(try OutputSpec(parsing: "file:captions.vtt,fsync=yes").description, "file:captions.vtt,fsync=yes")
    }
}

final class CaptionMergerTests: XCTestCase {
    private func run(_ merger: inout CaptionMerger, _ windows: [CaptionEvent], finish: Bool = true) -> [CaptionEvent] {
        var out: [CaptionEvent] = []
        for window in windows { merger.add(window) { out.append($0) } }
        if finish { merger.finish { out.append($0) } }
        return out
    }

    func testIdenticalWindowsExtendOneCaptionAnnouncedThenFinalised() {
        var merger = CaptionMerger()
        let out = run(&merger, [
            Events.caption("piano waltz", 0, 3), Events.caption("piano waltz", 3, 6), Events.caption("piano waltz", 6, 9),
            Events.caption("rock", 9, 12),
        ])
        XCTAssertEqual(out.map(\.id), [1, 1, 2, 2])
        XCTAssertEqual(out.map(\.isFinal), [false, true, false, true])
        XCTAssertEqual(out.map(\.text), ["piano waltz", "piano waltz", "rock", "rock"])
        XCTAssertEqual(out[0].end, 3) // announced with the span seen so far
        XCTAssertEqual(out[1].start, 0)
        XCTAssertEqual(out[1].end, 9) // the final revision covers all three windows
        XCTAssertEqual(out[3].end, 12)
    }

    func testWithoutInterimOnlyFinalsAreEmitted() {
        var merger = CaptionMerger(announcesInterim: false)
        let out = run(&merger, [Events.caption("a", 0, 3), Events.caption("a", 3, 6), Events.caption("b", 6, 9)])
        XCTAssertEqual(out.map(\.isFinal), [true, true])
        XCTAssertEqual(out.map(\.end), [6, 9])
    }

    func testOverlappingWindowsAndGaps() {
        var merger = CaptionMerger(announcesInterim: false)
        // hop 1 s, 3 s windows: overlapping spans merge; a 2 s gap does not.
        let out = run(&merger, [Events.caption("a", 0, 3), Events.caption("a", 1, 4), Events.caption("a", 2, 5), Events.caption("a", 7, 10)])
        XCTAssertEqual(out.map { [$0.start, $0.end] }, [[0, 5], [7, 10]])
    }

    func testMaximumDurationFinalisesLongCaptions() {
        var merger = CaptionMerger(maximumDuration: 10, announcesInterim: false)
        let out = run(&merger, (0..<8).map { Events.caption("same", Double($0) * 3, Double($0) * 3 + 3) })
        XCTAssertEqual(out.map { [$0.start, $0.end] }, [[0, 9], [9, 18], [18, 24]])
        XCTAssertEqual(Set(out.map(\.id)).count, 3)
    }

    func testTagsOnlyCaptionsCompareTopTagNamesAsASet() {
        var merger = CaptionMerger(announcesInterim: false)
        let out = run(&merger, [
            Events.tagsOnly(0, 3, ["techno", "electronic", "beat", "fast"]),
            Events.tagsOnly(3, 6, ["electronic", "techno", "beat", "dance"]), // ranks swapped, 4th differs: same
            Events.tagsOnly(6, 9, ["rock", "guitar", "beat"]),
        ])
        XCTAssertEqual(out.map { [$0.start, $0.end] }, [[0, 6], [6, 9]])
    }

    func testSilenceMergesAndStatusPassesThrough() {
        var merger = CaptionMerger()
        var windows = [Events.caption("a", 0, 3)]
        windows.append(CaptionEvent(kind: .status, start: 3, end: 3, text: "capture source lost"))
        windows.append(Events.caption("a", 3, 6))
        windows.append(CaptionEvent(kind: .silence, start: 6, end: 9))
        windows.append(CaptionEvent(kind: .silence, start: 9, end: 12))
        let out = run(&merger, windows)
        XCTAssertEqual(out.map(\.kind), [.caption, .status, .caption, .silence, .silence])
        XCTAssertEqual(out[1].isFinal, true)
        XCTAssertEqual(out[2].end, 6, "the status event did not break the caption")
        XCTAssertEqual(out[4].start, 6)
        XCTAssertEqual(out[4].end, 12)
        XCTAssertEqual(Set(out.map(\.id)).count, 3)
    }
}
