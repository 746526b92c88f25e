#if canImport(Glibc)
import Glibc
#endif

/// Counts heap allocations made by Swift code on the calling thread while `body` runs.
///
/// How: the Swift runtime routes every `swift_allocObject` (arrays, strings' storage, class
/// instances, boxes, escaping closure contexts) through the `_swift_allocObject` function pointer
/// when `_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly` is set — the
/// hook Instruments uses. We swap in a counting function for the duration of `body`, counting
/// only the calling thread. Raw `malloc` (`UnsafeMutablePointer.allocate`, C libraries, and the
/// generic value buffers unoptimised Swift code allocates) is not seen here: the
/// `CAllocationCounter` target counts those. Tests use both.
enum AllocationCounter {
    typealias AllocObject = @convention(c) (UnsafeRawPointer?, Int, Int) -> UnsafeMutableRawPointer?

    nonisolated(unsafe) private static var original: AllocObject?
    nonisolated(unsafe) private static var thread: pthread_t = 0
    nonisolated(unsafe) private static var count = 0

    private static let counting: AllocObject = { metadata, size, alignmentMask in
        if thread != 0, pthread_equal(thread, pthread_self()) != 0 { count &+= 1 }
        return original!(metadata, size, alignmentMask)
    }

    /// Whether the runtime exposes the hook (true for the Linux toolchains we use).
    static var isAvailable: Bool { hookSlot != nil && enableFlag != nil }

    private static var hookSlot: UnsafeMutablePointer<AllocObject>? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_swift_allocObject")?.assumingMemoryBound(to: AllocObject.self)
    }

    private static var enableFlag: UnsafeMutablePointer<Bool>? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly")?
            .assumingMemoryBound(to: Bool.self)
    }

    /// Number of Swift heap objects allocated on this thread by `body`.
    static func swiftAllocations(in body: () -> Void) -> Int {
        guard let slot = hookSlot, let flag = enableFlag else { return -1 }
        original = slot.pointee
        count = 0
        let wasEnabled = flag.pointee
        slot.pointee = counting
        flag.pointee = true
        thread = pthread_self()
        body()
        thread = 0
        flag.pointee = wasEnabled
        slot.pointee = original!
        return count
    }
}
