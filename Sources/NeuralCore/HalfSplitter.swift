import Foundation

/// Runs a computation in two halves at once: half 0 on the calling thread, half 1 on a persistent helper
/// thread. For one window at a time on two cores (the daemon's live path): the large GEMMs split by output
/// rows, each half single-threaded BLAS. No allocation per call — the helper waits on a semaphore between
/// calls (so it costs nothing while idle), and the work is an object already holding its arguments (a closure
/// handed to another thread would need a heap context) — where OpenBLAS's own threaded driver mallocs a job
/// array on every call.
///
/// Not reentrant: one `run` at a time (one inference thread owns a splitter).
public final class HalfSplitter: @unchecked Sendable {
    private let start = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    /// The current call's work; written by the caller before `start` is posted and cleared after `done`
    /// (the semaphores order the accesses).
    private var task: (any HalfSplitWork)?
    private var stopping = false
    private var helper = pthread_t()

    public init() {
        sem_init(start, 0, 0)
        sem_init(done, 0, 0)
        let context = Unmanaged.passRetained(HelperContext(splitter: self)).toOpaque()
        let status = pthread_create(&helper, nil, { raw in
            let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
            context.splitter.helperLoop()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    deinit {
        stopping = true
        sem_post(start)
        pthread_join(helper, nil)
        sem_destroy(start)
        sem_destroy(done)
        start.deallocate()
        done.deallocate()
    }

    /// Calls `work.runHalf(0)` here and `work.runHalf(1)` on the helper thread, and returns when both have finished.
    public func run(_ work: any HalfSplitWork) {
        task = work
        sem_post(start)
        work.runHalf(0)
        Self.wait(done)
        task = nil
    }

    /// The helper holds only an unowned reference, so the splitter can be released (and its deinit stop it).
    private final class HelperContext {
        unowned let splitter: HalfSplitter
        init(splitter: HalfSplitter) { self.splitter = splitter }
    }

    private func helperLoop() {
        while true {
            Self.wait(start)
            if stopping { return }
            task?.runHalf(1)
            sem_post(done)
        }
    }

    private static func wait(_ semaphore: UnsafeMutablePointer<sem_t>) {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }
}

/// Work a `HalfSplitter` runs: both halves together do the whole job, and they touch disjoint outputs.
public protocol HalfSplitWork: AnyObject {
    func runHalf(_ half: Int)
}
