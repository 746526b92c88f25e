import Foundation
import Logging
import XCTest
@testable import LiveCaptioning

/// When inference falls behind a live source, the oldest audio is dropped, counted and announced.
final class OverloadTests: XCTestCase {
    func testBacklogOfALiveSourceIsDroppedOldestFirstAndCounted() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var configuration = DaemonConfiguration()
        configuration.source = "file:\(root.appendingPathComponent("Tests/MusicTaggingTests/Fixtures/audio/piano.wav").path):realtime"
        configuration.outputs = ["stdout:json,fd=2"]
        configuration.captioner = "none"
        let session = try RunningSetup(configuration: configuration, logger: Logger(label: "test"))
        defer { session.close(timeout: 3) }
        XCTAssertTrue(session.capture.isLive)
        // Inference "stalls" for 6.5 s while the paced source keeps writing: more than a window and two hops.
        Thread.sleep(forTimeInterval: 6.5)
        let ring = try XCTUnwrap(session.capture.source.ring)
        XCTAssertGreaterThan(ring.readable, Int(5.0 * 16_000))
        session.discardBacklogIfBehind()
        XCTAssertLessThanOrEqual(ring.readable, Int((2.992 + 1 + 0.2) * 16_000), "kept about a window and a hop")
        XCTAssertGreaterThanOrEqual(session.pipeline.statistics.droppedWindows, 1)
        // The gap restarts the windows: what follows is analysed again, later in media time.
        var pulled = 0
        while pulled < 4 * 16_000 {
            if case let .samples(count) = try session.capture.consumer.pull(timeout: 1, { session.pipeline.push($0) }) { pulled += count } else { break }
        }
        XCTAssertGreaterThan(session.pipeline.mediaTime, 6.0, "media time counts the skipped audio")
        XCTAssertGreaterThan(session.pipeline.statistics.windows, 0)
    }
}
