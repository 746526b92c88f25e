#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A mutex with one condition variable that waits on the `Monotonic` clock.
///
/// The project's lock is `Synchronization.Mutex`. This is the one other primitive, kept for the places
/// that must *sleep until state changes, or a deadline passes*: a capture source's start-up handshake and
/// interruptible back-off, an output plugin's worker waiting for events and its callers waiting for a
/// flush or shutdown with a timeout. `Mutex` has no condition variable and cannot be paired with one
/// (on Linux it is a futex word, not a `pthread_mutex_t`), so this wraps a pthread mutex and a condition
/// set to CLOCK_MONOTONIC — a wall-clock jump cannot stretch a timeout. Both live in their own
/// allocations so their addresses never move, as pthreads requires. One condition serves every waiter:
/// state changes `broadcast`, and each waiter re-checks its own predicate.
public final class ConditionLock: @unchecked Sendable {
    // @unchecked: every access to the pthread objects goes through pthread calls.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
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

    // MARK: Scoped use (preferred)

    /// Runs `body` holding the lock.
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Runs `body` holding the lock, then wakes every waiter.
    public func withLockBroadcast<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }

    /// Takes the lock and waits until `predicate` (evaluated under it) holds or the `Monotonic`
    /// `deadline` passes; returns the predicate's final value.
    @discardableResult
    public func wait(until deadline: UInt64, _ predicate: () -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !predicate() {
            if !waitLocked(until: deadline) { return predicate() }
        }
        return true
    }

    // MARK: Explicit use, for loops that drop the lock around work (an output plugin's worker)

    /// Takes the lock; pair with `unlock()`.
    public func lock() { pthread_mutex_lock(mutex) }

    /// Releases the lock taken by `lock()`.
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Wakes every waiter. Call with the lock held.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Sleeps until woken, releasing the lock meanwhile. Call with the lock held; wakes may be spurious.
    public func waitLocked() { pthread_cond_wait(condition, mutex) }

    /// Sleeps until woken or `deadline`, releasing the lock meanwhile. Call with the lock held.
    /// Returns false, without sleeping, once the deadline has passed; wakes may be spurious.
    public func waitLocked(until deadline: UInt64) -> Bool {
        if Monotonic.now() >= deadline { return false }
        var time = Monotonic.cTime(at: deadline)
        pthread_cond_timedwait(condition, mutex, &time)
        return true
    }
}
