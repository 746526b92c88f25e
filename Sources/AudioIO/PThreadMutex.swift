#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain pthread mutex, for guarding C libraries with process-wide state (libsndfile's open
/// error slot; FFTW's planner in MusicTagging).
///
/// Why not `Synchronization.Mutex`: it needs macOS 15 while the package declares macOS 13, and
/// AudioIO does not otherwise need Foundation for `NSLock`. The mutex lives in its own allocation
/// so its address never moves, as pthreads requires.
public final class PThreadMutex: @unchecked Sendable {
    // @unchecked: all access to the pthread mutex goes through pthread_mutex_lock/unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` while holding the mutex.
    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
