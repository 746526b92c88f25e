import Foundation
import LiveCaptioning
import TestServerSupport
import XCTest

/// The real `stdout` plugin: into a file descriptor of the test's (fd=N), and as the probe's real stdout.
final class StdoutPluginTests: XCTestCase {
    /// Runs the stdout plugin with `options` writing to a temporary file, and returns what it wrote.
    private func capture(_ options: String, _ events: [CaptionEvent]) throws -> String {
        let file = try Build.temporaryDirectory().appendingPathComponent("stdout.txt")
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        try withOutput("stdout:fd=\(fd)\(options.isEmpty ? "" : "," + options)") { host in events.forEach(host.emit) }
        return try String(contentsOf: file, encoding: .utf8)
    }

    private let events = [
        Events.caption("a gentle solo piano waltz", 12, 15, id: 1, final: false),
        Events.caption("a gentle solo piano waltz", 12, 18, id: 1, final: true),
        Events.tagsOnly(18, 21, ["techno", "beat"], id: 2),
        CaptionEvent(id: 3, kind: .silence, start: 21, end: 24),
        CaptionEvent(id: 4, kind: .status, start: 24, end: 24, text: "capture source lost"),
        Events.caption("long \"set\"", 3723.4, 3726, id: 5),
    ]

    func testHumanLinesShowFinalCaptionsWhenNotATerminal() throws {
        XCTAssertEqual(try capture("", events), """
            [00:12.0–00:18.0] a gentle solo piano waltz — piano 0.83, classical 0.62
            [00:18.0–00:21.0] techno 0.90, beat 0.80
            [00:21.0–00:24.0] (silence)
            [00:24.0] status: capture source lost
            [1:02:03.4–1:02:06.0] long "set" — piano 0.83, classical 0.62

            """)
    }

    func testHumanLinesWithInterimRevisionsAndFewerTags() throws {
        let text = try capture("interim=yes,tags=1", Array(events.prefix(2)))
        XCTAssertEqual(text, """
            [00:12.0–00:15.0] a gentle solo piano waltz — piano 0.83
            [00:12.0–00:18.0] a gentle solo piano waltz — piano 0.83

            """)
    }

    func testJSONIsByteForByteTheSwiftEncoding() throws {
        let text = try capture("json", events)
        XCTAssertEqual(text, events.map { $0.jsonLine + "\n" }.joined())
        XCTAssertEqual(try decodeJSONLines(text).count, events.count)
        XCTAssertEqual(try decodeJSONLines(try capture("format=json,interim=no", events)).count, events.count - 1)
    }

    func testBadOptionsAreRejectedAtStart() {
        for (spec, message) in [("stdout:yaml", "unknown format 'yaml'"), ("stdout:colour=red", "unknown option 'colour'"),
                                ("stdout:tags=many", "option tags=many: expected a whole number")] {
            XCTAssertThrowsError(try OutputHost.start([try OutputSpec(parsing: spec)], searchPath: Build.searchPath, installCrashReporter: false)) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }

    /// The real standard output of a process, through the same loading path muscapsd uses.
    func testProbeWritesCaptionsToItsStandardOutput() throws {
        let result = try runProduct("muscaps-plugin-probe", ["stdout", "--events", "6", "--merge"])
        XCTAssertEqual(result.reason, .exit)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            [00:00.0–00:06.0] a gentle solo piano waltz — piano 0.91, classical 0.72, slow 0.55
            [00:06.0–00:09.0] upbeat rock with electric guitars and pounding drums — rock 0.88, guitar 0.81, drums 0.64
            [00:09.0–00:15.0] techno 0.77, electronic 0.74, beat 0.60
            [00:15.0–00:18.0] (silence)

            """)
        XCTAssertTrue(result.stderr.contains("output 'stdout': 8 emitted, 8 delivered, 0 failed, 0 dropped"), result.stderr)
    }
}
