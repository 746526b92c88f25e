import CAllocationCounter
import Foundation
import LiveCaptioning
import TestServerSupport
import ThreadSupport
import XCTest

/// A slow, hung or crashing plugin must cost the caller nothing but its own events.
final class IsolationTests: XCTestCase {
    private func start(_ spec: String, queueCapacity: Int = 16, startTimeout: Double = 5) throws -> OutputHost {
        try OutputHost.start([try OutputSpec(parsing: spec)], searchPath: Build.searchPath, queueCapacity: queueCapacity,
                             startTimeout: startTimeout, installCrashReporter: false)
    }

    /// Emits `count` events as fast as possible; returns the mean cost of one emit in nanoseconds.
    private func emitFlat(_ host: OutputHost, _ count: Int) -> Double {
        let event = Events.caption("a gentle solo piano waltz", 0, 3)
        let start = Monotonic.now()
        for _ in 0..<count { host.emit(event) }
        return Double(Monotonic.now() - start) / Double(count)
    }

    func testSlowPluginDropsItsOwnEventsWithoutSlowingTheEmitter() throws {
        let host = try start("\(Build.plugin("muscaps-testplugin-slow")):delay_ms=20", queueCapacity: 8)
        let count = 2000
        let nanoseconds = emitFlat(host, count)
        // At 20 ms per event the plugin needs 40 s for these; the emitter must not wait for any of it.
        XCTAssertLessThan(nanoseconds * Double(count), 100_000_000, "2000 emits took \(nanoseconds * Double(count) / 1e6) ms")
        let during = host.statistics[0]
        XCTAssertEqual(during.emitted, UInt64(count))
        XCTAssertGreaterThanOrEqual(during.dropped, UInt64(count - 8 - 2))
        XCTAssertLessThanOrEqual(during.queued, 8)

        let shutdownStart = Monotonic.now()
        XCTAssertEqual(host.shutdown(timeout: 5), [.finished], "the backlog of 8 drains in ~0.2 s")
        let after = host.statistics[0]
        XCTAssertEqual(after.delivered + after.dropped + after.failed, after.emitted, "every event accounted for: \(after)")
        XCTAssertEqual(after.queued, 0)
        print("slow plugin: emit \(String(format: "%.0f", nanoseconds)) ns mean; \(after); drained in "
              + String(format: "%.2f s", Monotonic.secondsSince(shutdownStart)))
    }

    func testEmitCostIsConstantAndSmall() throws {
        // Fast consumer (the `future` test plugin only counts) and hung consumer (every emit past the queue drops):
        // the caller pays the same small constant either way.
        let fast = try start(Build.plugin("muscaps-testplugin-future"), queueCapacity: 256)
        let hung = try start(Build.plugin("muscaps-testplugin-hang"), queueCapacity: 256)
        _ = emitFlat(fast, 10_000)
        _ = emitFlat(hung, 10_000) // warm up
        let toFast = emitFlat(fast, 100_000)
        let toHung = emitFlat(hung, 100_000)
        print(String(format: "emit cost: %.0f ns per event to a fast plugin, %.0f ns to a hung one (drop path)", toFast, toHung))
        XCTAssertLessThan(toFast, 20_000)
        XCTAssertLessThan(toHung, 20_000)
        XCTAssertEqual(fast.shutdown(timeout: 5), [.finished])
        XCTAssertEqual(hung.shutdown(timeout: 0.2), [.abandoned])
    }

    /// The inference loop's side (merge + emit, queue full or not) allocates nothing in steady state.
    func testMergingAndEmittingAllocateNothing() throws {
        let host = try start(Build.plugin("muscaps-testplugin-hang"), queueCapacity: 64) // worker stuck: allocates nothing either
        var merger = CaptionMerger(maximumDuration: 12)
        var window = Events.caption("a gentle solo piano waltz with a slow tempo", 0, 3) // a heap string, shared by every copy
        func feed(_ count: Int) {
            for _ in 0..<count {
                window.start += 3
                window.end += 3
                merger.add(window) { host.emit($0) } // extends, or finalises every 12 s and announces the next
                host.emit(window)
            }
        }
        feed(200) // fill the queue: from here on every emit overwrites the oldest slot
        // Counting this thread only (earlier tests' child-process machinery may still allocate on other
        // threads), every run must be allocation-free: an intermittent allocation fails the test.
        for run in 1...5 {
            CAllocationCounter_startOnThisThread()
            feed(2_000)
            let allocations = CAllocationCounter_stop()
            XCTAssertEqual(allocations, 0, "run \(run): heap allocations while merging and emitting 2 000 windows")
        }
        // Positive control: the same counting sees an allocation made on this thread.
        CAllocationCounter_startOnThisThread()
        var text = window.text
        text += " and a heap copy"
        XCTAssertGreaterThan(CAllocationCounter_stop(), 0, "the counter must see \(text.count)-byte string growth")
        XCTAssertGreaterThan(host.statistics[0].dropped, 2_000)
        XCTAssertEqual(host.shutdown(timeout: 0.1), [.abandoned])
    }

    func testHungPluginLeavesTheEmitterAloneAndIsAbandonedAtShutdown() throws {
        let host = try start(Build.plugin("muscaps-testplugin-hang"), queueCapacity: 16)
        host.emit(Events.caption("the one it hangs on", 0, 3))
        let deadline = Monotonic.deadline(after: 5)
        while host.statistics[0].queued > 0 && Monotonic.now() < deadline { usleep(1000) } // taken by the worker: now stuck in emit()
        let nanoseconds = emitFlat(host, 1000)
        XCTAssertLessThan(nanoseconds * 1000, 50_000_000)
        let stats = host.statistics[0]
        XCTAssertEqual(stats.delivered, 0)
        XCTAssertEqual(stats.queued, 16)
        XCTAssertEqual(stats.dropped, 1000 - 16, "one event is stuck inside the plugin, 16 wait, the rest were dropped")

        XCTAssertFalse(host.flush(timeout: 0.2))
        let started = Monotonic.now()
        XCTAssertEqual(host.shutdown(timeout: 0.5), [.abandoned])
        let waited = Monotonic.secondsSince(started)
        XCTAssertGreaterThanOrEqual(waited, 0.45)
        XCTAssertLessThan(waited, 1.5, "shutdown returned within its timeout")
        XCTAssertTrue(host.statistics[0].abandoned)
        host.emit(Events.caption("after shutdown", 0, 1)) // harmless: dropped
        print(String(format: "hung plugin: shutdown(timeout: 0.5) returned after %.2f s; \(host.statistics[0])", waited))
    }

    func testPluginHangingInCreateDoesNotHangStartup() {
        let started = Monotonic.now()
        XCTAssertThrowsError(try start("\(Build.plugin("muscaps-testplugin-hang")):at=create", startTimeout: 0.3)) { error in
            XCTAssertTrue("\(error)".contains("did not start within 0.3 s"), "\(error)")
        }
        XCTAssertLessThan(Monotonic.secondsSince(started), 1.5)
    }

    func testPluginHangingInDestroyIsAbandonedOthersFinish() throws {
        let directory = try Build.temporaryDirectory()
        let vtt = directory.appendingPathComponent("beside.vtt").path
        let host = try OutputHost.start([try OutputSpec(parsing: "\(Build.plugin("muscaps-testplugin-hang")):at=destroy"),
                                         try OutputSpec(parsing: "file:\(vtt)")],
                                        searchPath: Build.searchPath, installCrashReporter: false)
        for i in 0..<3 { host.emit(Events.caption("caption \(i)", Double(i) * 3, Double(i) * 3 + 3)) }
        let started = Monotonic.now()
        XCTAssertEqual(host.shutdown(timeout: 0.5), [.abandoned, .finished], "outputs shut down in parallel")
        XCTAssertLessThan(Monotonic.secondsSince(started), 1.5)
        XCTAssertEqual(host.statistics[0].delivered, 3, "it delivered everything, then hung in destroy")
        XCTAssertEqual(try Subtitles.parseVTT(String(contentsOfFile: vtt, encoding: .utf8)).count, 3)
    }

    func testPluginErrorsAreCountedAndDoNotStopTheOutput() throws {
        let directory = try Build.temporaryDirectory()
        let file = directory.appendingPathComponent("gone.jsonl").path
        let host = try start("file:\(file)")
        host.emit(Events.caption("one", 0, 3))
        XCTAssertTrue(host.flush(timeout: 5))
        try FileManager.default.removeItem(at: directory) // the next writes go to a deleted file, then cannot reopen
        host.emit(Events.caption("two", 3, 6))
        XCTAssertTrue(host.flush(timeout: 5))
        XCTAssertEqual(host.shutdown(timeout: 5), [.finished])
        XCTAssertEqual(host.statistics[0].delivered + host.statistics[0].failed, 2)
    }
}

/// A crash in a plugin kills the process it runs in, so these run `muscaps-plugin-probe` as a child.
final class CrashAttributionTests: XCTestCase {
    private let crash = Build.plugin("muscaps-testplugin-crash")

    private func probe(_ output: String, backtrace: Bool = false) throws -> ChildResult {
        // SWIFT_BACKTRACE=enable=no: no runtime backtracer, so the handler goes straight to the default action.
        try runProduct("muscaps-plugin-probe", [output, "--events", "5", "--no-core-dump"] + (backtrace ? [] : ["--no-backtrace"]),
                       environment: backtrace ? [:] : ["SWIFT_BACKTRACE": "enable=no"])
    }

    private func assertDiedBy(_ signal: Int32, _ result: ChildResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.reason, .uncaughtSignal, "died by a signal, not exit(): \(result.stderr)", file: file, line: line)
        XCTAssertEqual(result.status, signal, result.stderr, file: file, line: line)
    }

    func testSegfaultInPluginNamesThePluginAndDiesBySIGSEGV() throws {
        let result = try probe(crash)
        assertDiedBy(SIGSEGV, result)
        let real = URL(fileURLWithPath: crash).resolvingSymlinksInPath().path
        XCTAssertTrue(result.stderr.contains("muscaps-plugin-probe: fatal signal SIGSEGV (segmentation fault) in output plugin 'crash' 0 (\(real)), "
                                             + "output 'crash' during emit(); output plugins run inside the daemon, so this plugin crashed it\n"), result.stderr)
        print(String(format: "crash (SIGSEGV): child died in %.2f s", result.seconds))
    }

    func testAbortInPluginIsAttributedToo() throws {
        let result = try probe("\(crash):how=abort")
        assertDiedBy(SIGABRT, result)
        XCTAssertTrue(result.stderr.contains("fatal signal SIGABRT (abort) in output plugin 'crash'"), result.stderr)
    }

    func testCrashOnAThreadThePluginStartedIsAttributedByAddress() throws {
        let result = try probe("\(crash):on=thread")
        assertDiedBy(SIGSEGV, result)
        XCTAssertTrue(result.stderr.contains("fatal signal SIGSEGV (segmentation fault) in code of output plugin 'crash' 0 ("), result.stderr)
    }

    func testWithSwiftsBacktracerTheReportStillComesFirstAndTheProcessStillDiesBySignal() throws {
        let result = try probe(crash, backtrace: true)
        assertDiedBy(SIGSEGV, result)
        XCTAssertTrue(result.stderr.contains("in output plugin 'crash' 0 ("), result.stderr)
        let backtracerDisabled = ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"]?.contains("enable=no") ?? false
        if !backtracerDisabled, let ours = result.stderr.range(of: "in output plugin 'crash'") {
            let theirs = result.stderr.range(of: "Program crashed")
            XCTAssertNotNil(theirs, "Swift's backtracer ran after our line: \(result.stderr)")
            XCTAssertLessThan(ours.lowerBound, theirs?.lowerBound ?? ours.lowerBound)
            XCTAssertTrue(result.stderr.contains("crash_now"), "the backtrace shows the plugin's frames")
        }
        print(String(format: "crash with Swift's backtracer chained: child died in %.2f s", result.seconds))
    }
}
