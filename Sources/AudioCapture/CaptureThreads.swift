#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CAudioCapture
import Synchronization

/// A joinable pthread running a Swift closure: the sources' reader and supervisor threads.
/// (pthreads rather than Foundation's `Thread`: AudioCapture, like AudioIO, does not need
/// Foundation, and a join is what `stop()` wants.)
final class CaptureThread: @unchecked Sendable {
    // @unchecked: `thread` is written once in `init` and only read by `join`, which runs once
    // (guarded by `joined`).
    private var thread = pthread_t()
    private let joined = Mutex(false)

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
        let first = joined.withLock { joined -> Bool in
            if joined { return false }
            joined = true
            return true
        }
        if first { pthread_join(thread, nil) }
    }

    /// True when called on this thread.
    var isCurrent: Bool { pthread_equal(thread, pthread_self()) != 0 }
}
