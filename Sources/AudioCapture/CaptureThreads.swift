#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CAudioCapture

/// Seconds on CLOCK_MONOTONIC (never jumps with the wall clock).
@inline(__always)
func monotonicSeconds() -> Double {
    Double(CAudioCapture_monotonic_ns()) / 1e9
}

/// A mutex with a condition variable on CLOCK_MONOTONIC, for the capture sources' control state:
/// start-up hand-shakes, interruptible back-off sleeps and stop requests. Never used on an audio
/// path. Both live in their own allocations so their addresses never move, as pthreads requires.
final class ConditionLock: @unchecked Sendable {
    // @unchecked: every access to the pthread objects goes through pthread calls.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Runs `body` under the lock and wakes every waiter.
    func withLockBroadcast<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }

    /// Waits until `predicate` (evaluated under the lock) is true or the monotonic `deadline`
    /// (seconds) passes; returns the predicate's final value.
    @discardableResult
    func wait(until deadline: Double, _ predicate: () -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !predicate() {
            let now = monotonicSeconds()
            if now >= deadline { return predicate() }
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            let remaining = min(deadline - now, 3600)
            let whole = remaining.rounded(.down)
            var seconds = time.tv_sec + Int(whole)
            var nanoseconds = time.tv_nsec + Int((remaining - whole) * 1e9)
            if nanoseconds >= 1_000_000_000 {
                seconds += 1
                nanoseconds -= 1_000_000_000
            }
            var until = timespec(tv_sec: seconds, tv_nsec: nanoseconds)
            pthread_cond_timedwait(condition, mutex, &until)
        }
        return true
    }
}

/// A joinable pthread running a Swift closure: the sources' reader and supervisor threads.
/// (pthreads rather than Foundation's `Thread`: AudioCapture, like AudioIO, does not need
/// Foundation, and a join is what `stop()` wants.)
final class CaptureThread: @unchecked Sendable {
    // @unchecked: `thread` is written once in `init` and only read by `join`, which runs once
    // (guarded by `joined` under the lock).
    private var thread = pthread_t()
    private let lock = ConditionLock()
    private var joined = false

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept by Linux).
    init(name: String, _ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            CAudioCapture_name_current_thread(box.name)
            box.body()
            return nil
        }, box)
        if result != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw CaptureError.system(what: "cannot start the \(name) thread", code: result)
        }
    }

    /// Waits for the thread to finish (once; later calls return at once). Never call it from the
    /// thread itself.
    func join() {
        let first = lock.withLock { () -> Bool in
            if joined { return false }
            joined = true
            return true
        }
        if first { pthread_join(thread, nil) }
    }

    /// True when called on this thread.
    var isCurrent: Bool { pthread_equal(thread, pthread_self()) != 0 }
}
