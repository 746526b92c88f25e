@testable import AudioCapture
import CAudioCapture
import Foundation
import Synchronization
import TestServerSupport
import XCTest
import ThreadSupport

/// The SPSC ring: edges on one thread, then a producer and a consumer on two threads.
final class SampleRingTests: XCTestCase {
    private func write(_ ring: SampleRing, _ values: [Float]) -> Int {
        values.withUnsafeBufferPointer { ring.write($0) }
    }

    private func writeOrDrop(_ ring: SampleRing, _ values: [Float]) -> Int {
        values.withUnsafeBufferPointer { ring.writeOrDrop($0) }
    }

    private func read(_ ring: SampleRing, max: Int) -> [Float] {
        var out = [Float](repeating: -1, count: max)
        let n = out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        return Array(out.prefix(n))
    }

    func testWrapAroundKeepsOrder() throws {
        let ring = try SampleRing(capacity: 16, frameSamples: 1)
        XCTAssertEqual(write(ring, (0..<10).map(Float.init)), 10)
        XCTAssertEqual(read(ring, max: 6), (0..<6).map(Float.init))
        // 4 left at slots 6...9; 10 more wrap past slot 15 to slots 0...3.
        XCTAssertEqual(write(ring, (10..<22).map(Float.init)), 12)
        XCTAssertEqual(ring.readable, 16)
        XCTAssertEqual(read(ring, max: 100), (6..<22).map(Float.init))
        // Many laps with odd sizes.
        var next: Float = 22, expected: Float = 22
        for lap in 0..<1_000 {
            let n = 1 + lap % 8   // at most 8 in + at most 8 left over = never more than 16
            XCTAssertEqual(write(ring, (0..<n).map { next + Float($0) }), n)
            next += Float(n)
            let got = read(ring, max: 1 + (lap * 7) % 16)
            for value in got {
                XCTAssertEqual(value, expected)
                expected += 1
            }
            // Keep the ring from filling: drain when over half full.
            if ring.readable > 8 {
                for value in read(ring, max: 16) {
                    XCTAssertEqual(value, expected)
                    expected += 1
                }
            }
        }
        XCTAssertEqual(Int(ring.writtenSamples), Int(next))
    }

    func testFullAndEmptyEdges() throws {
        let ring = try SampleRing(capacity: 8, frameSamples: 1)
        XCTAssertEqual(read(ring, max: 4), [], "empty ring reads nothing")
        XCTAssertEqual(ring.readable, 0)
        XCTAssertEqual(ring.writable, 8)
        XCTAssertEqual(write(ring, [1, 2, 3, 4, 5, 6, 7, 8]), 8, "every slot is usable")
        XCTAssertEqual(ring.writable, 0)
        XCTAssertEqual(write(ring, [9]), 0, "a full ring takes nothing")
        XCTAssertEqual(ring.droppedSamples, 0, "a waiting producer's short write is not a drop")
        XCTAssertEqual(read(ring, max: 8), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(ring.readable, 0)
        XCTAssertEqual(ring.writable, 8)
        XCTAssertEqual(write(ring, []), 0)
        XCTAssertEqual(read(ring, max: 0), [])
        XCTAssertFalse(ring.isClosed)
        ring.close()
        XCTAssertTrue(ring.isClosed)
    }

    func testWholeFramesOnly() throws {
        let ring = try SampleRing(capacity: 16, frameSamples: 3)
        XCTAssertEqual(write(ring, (0..<10).map(Float.init)), 9, "a partial frame is not written")
        XCTAssertEqual(ring.writable, 6, "7 free samples hold 2 whole frames")
        XCTAssertEqual(read(ring, max: 5), [0, 1, 2], "reads stop at a frame boundary")
        XCTAssertEqual(write(ring, (100..<112).map(Float.init)), 9, "10 free samples hold 3 frames (wrapping)")
        XCTAssertEqual(read(ring, max: 64), [3, 4, 5, 6, 7, 8, 100, 101, 102, 103, 104, 105, 106, 107, 108])
    }

    func testOverrunDropsNewestAndCounts() throws {
        let ring = try SampleRing(capacity: 8, frameSamples: 2)
        XCTAssertEqual(writeOrDrop(ring, [0, 1, 2, 3, 4, 5]), 6)
        XCTAssertEqual(ring.overrunEvents, 0)
        XCTAssertEqual(writeOrDrop(ring, [6, 7, 8, 9, 10, 11]), 2, "room for one frame: it is written, two are dropped")
        XCTAssertEqual(ring.droppedSamples, 4)
        XCTAssertEqual(ring.overrunEvents, 1)
        XCTAssertEqual(writeOrDrop(ring, [12, 13]), 0)
        XCTAssertEqual(ring.droppedSamples, 6)
        XCTAssertEqual(ring.overrunEvents, 2)
        XCTAssertEqual(read(ring, max: 8), [0, 1, 2, 3, 4, 5, 6, 7], "the reader's data is never overwritten")
        XCTAssertEqual(writeOrDrop(ring, [14, 15]), 2)
        XCTAssertEqual(ring.overrunEvents, 2)
        XCTAssertEqual(ring.writtenSamples, 10)
    }

    func testPlanarBuffersAreInterleaved() throws {
        let ring = try SampleRing(capacity: 16, frameSamples: 2)
        let left: [Float] = [1, 2, 3, 4, 5], right: [Float] = [-1, -2, -3, -4, -5]
        let written = left.withUnsafeBufferPointer { l in
            right.withUnsafeBufferPointer { r -> Int in
                var planes: [UnsafePointer<Float>?] = [l.baseAddress, r.baseAddress]
                return CAudioCapture_ring_write_planar_or_drop(ring.pointer, &planes, 2, 5)
            }
        }
        XCTAssertEqual(written, 5)
        XCTAssertEqual(read(ring, max: 16), [1, -1, 2, -2, 3, -3, 4, -4, 5, -5])
        // With 4 of 16 samples used, 6 frames fit: a 10-frame block keeps 6 and drops 4 (8 samples).
        _ = write(ring, [0, 0, 0, 0])
        let many = (0..<10).map(Float.init)
        let kept = many.withUnsafeBufferPointer { l -> Int in
            var planes: [UnsafePointer<Float>?] = [l.baseAddress, l.baseAddress]
            return CAudioCapture_ring_write_planar_or_drop(ring.pointer, &planes, 2, 10)
        }
        XCTAssertEqual(kept, 6)
        XCTAssertEqual(ring.droppedSamples, 8)
        XCTAssertEqual(ring.overrunEvents, 1)
    }

    func testSizingFromWindowHopAndSlack() {
        let sizing = RingSizing()
        // (2.992 + 2.992 + 1) s × 48 000 Hz × 2 = 670 464 samples → 2^20.
        XCTAssertEqual(sizing.capacity(sampleRate: 48_000, channels: 2), 1 << 20)
        XCTAssertEqual(sizing.capacity(sampleRate: 16_000, channels: 1), 1 << 17)
        XCTAssertEqual(RingSizing(windowSeconds: 0.1, hopSeconds: 0, slackSeconds: 0).capacity(sampleRate: 48_000, channels: 2), 16_384)
    }

    /// Two threads, 10 M samples through a 32 768-sample ring (305 laps; small enough that both
    /// sides keep catching up with each other, big enough that a loaded 2-core machine is not
    /// dominated by hand-offs), odd chunk sizes on both sides: every sample must arrive once, in order.
    func testConcurrentProducerConsumerTenMillionSamples() throws {
        let total = 10_000_000
        let ring = try SampleRing(capacity: 32_768, frameSamples: 1)
        let producerDone = DispatchSemaphore(value: 0)
        let producerSum = SumBox()
        Thread.detachNewThread {
            var chunk = [Float](repeating: 0, count: 1_000)
            var next = 0, sum: UInt64 = 0, step = 0
            while next < total {
                step += 1
                let n = min(1 + (step &* 7_919) % 1_000, total - next)
                // Values cycle through 2^24 so every one is exact in float32.
                for i in 0..<n {
                    let value = (next + i) & 0xFF_FFFF
                    chunk[i] = Float(value)
                    sum &+= UInt64(value)
                }
                var offset = 0
                chunk.withUnsafeBufferPointer { buffer in
                    while offset < n {
                        let written = ring.write(UnsafeBufferPointer(rebasing: buffer[offset..<n]))
                        offset += written
                        if written == 0 { sched_yield() }
                    }
                }
                next += n
            }
            producerSum.value = sum
            ring.close()
            producerDone.signal()
        }
        var buffer = [Float](repeating: 0, count: 1_500)
        var expected = 0, sum: UInt64 = 0, mismatches = 0, step = 0
        let start = Monotonic.now()
        while true {
            let closed = ring.isClosed
            step += 1
            let want = 1 + (step &* 104_729) % 1_500
            let n = buffer.withUnsafeMutableBufferPointer { ring.read(into: UnsafeMutableBufferPointer(rebasing: $0[0..<want])) }
            if n == 0 {
                if closed { break }
                sched_yield()
                continue
            }
            for i in 0..<n {
                let value = Int(buffer[i])
                if value != expected & 0xFF_FFFF { mismatches += 1 }
                sum &+= UInt64(value)
                expected += 1
            }
            XCTAssertLessThan(Monotonic.secondsSince(start), 60, "transfer took too long")
        }
        producerDone.wait()
        XCTAssertEqual(expected, total, "samples received")
        XCTAssertEqual(mismatches, 0, "samples out of order or corrupted")
        XCTAssertEqual(sum, producerSum.value, "checksum")
        XCTAssertEqual(ring.droppedSamples, 0)
        print("ring: \(total) samples through a 32768-sample ring in \(String(format: "%.2f", Monotonic.secondsSince(start))) s")
    }

    /// A real-time style producer (drop when full) against a slow consumer: whatever arrives is in
    /// order, and received + dropped = offered.
    func testConcurrentDroppingProducerAccountsForEverySample() throws {
        let total = 256 * 8_000   // whole producer chunks
        let ring = try SampleRing(capacity: 1_024, frameSamples: 2)
        let producerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var chunk = [Float](repeating: 0, count: 256)
            var next = 0
            while next < total {
                for i in 0..<256 { chunk[i] = Float((next + i) & 0xFF_FFFF) }
                chunk.withUnsafeBufferPointer { _ = ring.writeOrDrop($0) }
                next += 256
            }
            ring.close()
            producerDone.signal()
        }
        var buffer = [Float](repeating: 0, count: 300)
        var received = 0, previous = -1, outOfOrder = 0, torn = 0
        while true {
            let closed = ring.isClosed
            let n = buffer.withUnsafeMutableBufferPointer { ring.read(into: $0) }
            if n == 0 {
                if closed { break }
                usleep(50)
                continue
            }
            XCTAssertEqual(n % 2, 0)
            for frame in stride(from: 0, to: n, by: 2) {
                let a = Int(buffer[frame]), b = Int(buffer[frame + 1])
                if b != a + 1 || a % 2 != 0 { torn += 1 }
                if a <= previous && previous - a < 0x80_0000 { outOfOrder += 1 }
                previous = a
            }
            received += n
        }
        producerDone.wait()
        XCTAssertEqual(torn, 0, "frames must never be split")
        XCTAssertEqual(outOfOrder, 0)
        XCTAssertEqual(received + Int(ring.droppedSamples), total)
        XCTAssertGreaterThan(ring.overrunEvents, 0, "the slow consumer should have caused overruns")
        print("dropping producer: \(received) received, \(ring.droppedSamples) dropped in \(ring.overrunEvents) overruns")
    }
}

extension SampleRingTests {
    /// The gauges are documented as safe from any thread: a third thread watches a tiny ring while a
    /// producer and a consumer race through it. `writable` and `readable` must stay within the
    /// capacity (reading the two indices in the wrong order let `writable` underflow to ~2^64), and
    /// one `occupancy` snapshot must add up to the capacity.
    func testGaugesFromAThirdThreadStayWithinCapacity() throws {
        let capacity = 64
        let ring = try SampleRing(capacity: capacity, frameSamples: 1)
        let stop = Mutex(false)
        let group = DispatchGroup()
        for role in ["producer", "consumer"] {
            group.enter()
            Thread.detachNewThread {
                var buffer = [Float](repeating: 1, count: 48)
                var step = 0
                while !stop.withLock({ $0 }) {
                    for _ in 0..<1_000 {
                        step &+= 1
                        let n = 1 + (step &* 7_919) % 48
                        buffer.withUnsafeMutableBufferPointer { chunk in
                            let part = UnsafeMutableBufferPointer(rebasing: chunk[0..<n])
                            if role == "producer" { _ = ring.write(UnsafeBufferPointer(part)) } else { _ = ring.read(into: part) }
                        }
                    }
                }
                group.leave()
            }
        }
        var observations = 0, writableTooBig = 0, readableTooBig = 0, inconsistent = 0
        var worstWritable = 0, worstReadable = 0 // the last out-of-range values seen
        // At least 3 s and 500 000 samples (a loaded machine may starve the two racers for a while), at most 30 s.
        let start = Monotonic.now()
        while Monotonic.secondsSince(start) < 30 && (Monotonic.secondsSince(start) < 3 || ring.writtenSamples < 500_000) {
            for _ in 0..<10_000 {
                let writable = ring.writable, readable = ring.readable
                if writable > capacity || writable < 0 { writableTooBig += 1; worstWritable = writable }
                if readable > capacity || readable < 0 { readableTooBig += 1; worstReadable = readable }
                let snapshot = ring.occupancy
                if snapshot.readable + snapshot.writable != capacity || snapshot.readable < 0 || snapshot.writable < 0 { inconsistent += 1 }
                observations += 1
            }
        }
        stop.withLock { $0 = true }
        group.wait()
        XCTAssertGreaterThan(ring.writtenSamples, 500_000, "the producer and consumer must have raced through the ring")
        XCTAssertEqual(writableTooBig, 0, "writable outside 0...\(capacity) (last \(worstWritable)) in \(observations) observations")
        XCTAssertEqual(readableTooBig, 0, "readable outside 0...\(capacity) (last \(worstReadable)) in \(observations) observations")
        XCTAssertEqual(inconsistent, 0, "occupancy snapshots that do not add up to the capacity")
        print("ring gauges: \(observations) observations from a third thread while \(ring.writtenSamples) samples passed")
    }
}

final class SumBox: @unchecked Sendable {
    // @unchecked: written by the producer before it signals, read after the wait.
    var value: UInt64 = 0
}
