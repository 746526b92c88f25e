/// A manually managed, 64-byte-aligned float32 buffer for workspaces and parameters.
///
/// It only ever grows (`reserve`), so a workspace sized by the first (or largest) batch is reused by every
/// later one without touching the heap. Not `Sendable`: a buffer belongs to one model or state at a time.
public final class FloatBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = FloatBuffer.allocate(self.capacity)
    }

    deinit { pointer.deallocate() }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        let typed = raw.bindMemory(to: Float.self, capacity: count)
        typed.initialize(repeating: 0, count: count)
        return typed
    }

    /// Makes room for `count` floats and returns the storage. Growing discards the contents (zeros).
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = FloatBuffer.allocate(count)
        }
        return pointer
    }

    /// Sets the first `count` floats to zero.
    @inlinable
    public func zero(_ count: Int) {
        precondition(count <= capacity)
        pointer.update(repeating: 0, count: count)
    }
}

/// The same for `Int32` token ids.
public final class Int32Buffer {
    public private(set) var pointer: UnsafeMutablePointer<Int32>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = .allocate(capacity: self.capacity)
        pointer.initialize(repeating: 0, count: self.capacity)
    }

    deinit { pointer.deallocate() }

    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Int32> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
        }
        return pointer
    }
}
