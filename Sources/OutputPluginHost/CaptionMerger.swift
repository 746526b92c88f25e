/// Turns the per-window output of the captioner into caption events without repeating itself: when a
/// window says the same as the caption before it, that caption's end is extended instead of emitting
/// a duplicate. The pipeline calls `add` for every analysed window and `finish` when the stream ends.
///
/// How `isFinal` works (the interim/final pattern of live speech recognisers):
/// - A new caption is announced at once with `isFinal == false` and the span of its first window, so
///   live displays show it without waiting (`announcesInterim`; off, only finals are emitted).
/// - Identical windows that follow (same kind and text; for tags-only captions the same set of top
///   tag names; at most `gapTolerance` seconds apart) extend it silently.
/// - When something different arrives, the stream finishes, or the caption would exceed
///   `maximumDuration`, it is emitted again, same `id`, full span, `isFinal == true`. Every id gets
///   exactly one final; subtitle files are written from finals only.
/// - Status events pass straight through (final, with an id of their own) and do not end a caption.
///
/// Not thread-safe: one merger per pipeline, used from its inference loop. `add` takes a non-escaping
/// closure rather than returning an array, so the steady state allocates nothing here.
public struct CaptionMerger: Sendable {
    /// A merged caption is finalised after this many seconds even if it goes on, so that outputs that
    /// write only finals (subtitle files) stay at most this far behind.
    public var maximumDuration: Double
    /// Windows further apart than this are not merged.
    public var gapTolerance: Double
    /// Emit the first window of each caption immediately as a non-final revision.
    public var announcesInterim: Bool
    /// Tags-only captions compare this many top tag names (as a set: ranks of close scores swap).
    public var comparedTags: Int

    /// The caption being extended, as last emitted or to be finalised.
    public private(set) var open: CaptionEvent?
    private var nextID: UInt64 = 1

    public init(maximumDuration: Double = 30, gapTolerance: Double = 0.5, announcesInterim: Bool = true, comparedTags: Int = 3) {
        self.maximumDuration = maximumDuration
        self.gapTolerance = gapTolerance
        self.announcesInterim = announcesInterim
        self.comparedTags = comparedTags
    }

    /// Adds one window's event (its `id` and `isFinal` are ignored and assigned here).
    public mutating func add(_ event: CaptionEvent, emit: (CaptionEvent) -> Void) {
        if event.kind == .status {
            var status = event
            status.id = takeID()
            status.isFinal = true
            emit(status)
            return
        }
        if var current = open, sameCaption(current, event), event.start - current.end <= gapTolerance,
           max(current.end, event.end) - current.start <= maximumDuration {
            current.end = max(current.end, event.end)
            open = current
            return
        }
        finishOpen(emit: emit)
        var next = event
        next.id = takeID()
        next.isFinal = false
        open = next
        if announcesInterim { emit(next) }
    }

    /// Finalises the open caption (end of stream, or before a pause in captioning).
    public mutating func finish(emit: (CaptionEvent) -> Void) {
        finishOpen(emit: emit)
    }

    /// Whether two windows say the same thing.
    public func sameCaption(_ a: CaptionEvent, _ b: CaptionEvent) -> Bool {
        guard a.kind == b.kind else { return false }
        switch a.kind {
        case .silence: return true
        case .status: return false
        case .caption:
            if !a.text.isEmpty || !b.text.isEmpty { return a.text == b.text }
            return Set(a.tags.prefix(comparedTags).map(\.name)) == Set(b.tags.prefix(comparedTags).map(\.name))
        }
    }

    private mutating func finishOpen(emit: (CaptionEvent) -> Void) {
        guard var last = open else { return }
        last.isFinal = true
        open = nil
        emit(last)
    }

    private mutating func takeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }
}
