import CMusCapsPlugin

/// Builds the C `muscaps_event` for a `CaptionEvent` in buffers that are reused from event to event
/// (one builder per output worker thread), so delivering an event allocates nothing once the buffers
/// have grown to the largest event seen.
final class CEventBuilder {
    private var bytes: UnsafeMutablePointer<CChar>
    private var byteCapacity: Int
    private var tags: UnsafeMutablePointer<muscaps_tag>
    private var tagCapacity: Int

    init() {
        byteCapacity = 4096
        bytes = .allocate(capacity: byteCapacity)
        tagCapacity = 64
        tags = .allocate(capacity: tagCapacity)
    }

    deinit {
        bytes.deallocate()
        tags.deallocate()
    }

    /// Calls `body` with the C form of `event`; the pointers are valid only during the call.
    func withCEvent<R>(_ event: CaptionEvent, _ body: (UnsafePointer<muscaps_event>) -> R) -> R {
        var needed = event.text.utf8.count + 1 + event.model.utf8.count + 1 + event.captionError.utf8.count + 1
        for tag in event.tags { needed += tag.name.utf8.count + 1 }
        if needed > byteCapacity {
            bytes.deallocate()
            byteCapacity = max(needed, byteCapacity * 2)
            bytes = .allocate(capacity: byteCapacity)
        }
        if event.tags.count > tagCapacity {
            tags.deallocate()
            tagCapacity = max(event.tags.count, tagCapacity * 2)
            tags = .allocate(capacity: tagCapacity)
        }
        var offset = 0
        func put(_ string: String) -> UnsafePointer<CChar> {
            let start = bytes + offset
            var length = 0
            let copied: Void? = string.utf8.withContiguousStorageIfAvailable { utf8 in
                UnsafeMutableRawPointer(start).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)
                length = utf8.count
            }
            if copied == nil {
                for byte in string.utf8 {
                    start[length] = CChar(bitPattern: byte)
                    length += 1
                }
            }
            start[length] = 0 // (a NUL inside the string ends it early for C; captions have none)
            offset += length + 1
            return UnsafePointer(start)
        }
        let text = put(event.text)
        let model = put(event.model)
        let captionError = put(event.captionError)
        for (index, tag) in event.tags.enumerated() {
            tags[index] = muscaps_tag(name: put(tag.name), score: tag.score)
        }
        let kind: UInt32
        switch event.kind {
        case .caption: kind = MUSCAPS_EVENT_CAPTION
        case .silence: kind = MUSCAPS_EVENT_SILENCE
        case .status: kind = MUSCAPS_EVENT_STATUS
        }
        var cEvent = muscaps_event()
        cEvent.struct_size = UInt32(MemoryLayout<muscaps_event>.size)
        cEvent.kind = kind
        cEvent.id = event.id
        cEvent.t0 = event.start
        cEvent.t1 = event.end
        cEvent.wall_start_ns = event.wallClockStart
        cEvent.text = text
        cEvent.tags = event.tags.isEmpty ? nil : UnsafePointer(tags)
        cEvent.tag_count = event.tags.count
        cEvent.model = model
        cEvent.latency_ms = event.latencyMilliseconds
        cEvent.final = event.isFinal ? 1 : 0
        cEvent.caption_error = captionError
        return body(&cEvent)
    }
}
