/// The caption-quality statistics the paper reports beside the metrics (§IV-D4): how often `<unk>` is
/// generated and how often captions repeat themselves ("and strings and strings", "rock rock",
/// "bass bass and bass").
///
/// Per caption (word ids without `<sos>`/`<eos>`):
/// - `unknownCount`: words that are `<unk>`;
/// - `repetitions`: immediate word repeats ("rock rock": 1) plus bigram occurrences that repeat an
///   earlier bigram of the same caption ("and strings and strings": 1). "bass bass and bass" counts 1.
public struct CaptionStatistics: Sendable, Equatable {
    public var captions = 0
    public var words = 0
    public var unknownWords = 0
    /// Captions with at least one repetition.
    public var captionsWithRepetition = 0
    public var repetitions = 0
    /// Captions cut at the length limit without `<eos>`.
    public var unfinished = 0

    public init() {}

    public init<S: Sequence>(_ captions: S) where S.Element == DecodedCaption {
        self.init()
        for caption in captions { add(caption) }
    }

    public mutating func add(_ caption: DecodedCaption) {
        add(tokenIds: caption.tokenIds)
        if !caption.finished { unfinished += 1 }
    }

    public mutating func add(tokenIds ids: [Int]) { add(ids, unknown: Vocabulary.unknownIndex) }

    /// A caption given as words (e.g. one not decoded by a model): `<unk>` is the literal word.
    public mutating func add(words: [String]) { add(words, unknown: Vocabulary.unknown) }

    private mutating func add<T: Hashable>(_ items: [T], unknown: T) {
        captions += 1
        words += items.count
        unknownWords += items.filter { $0 == unknown }.count
        let r = Self.repetitions(in: items)
        repetitions += r
        if r > 0 { captionsWithRepetition += 1 }
    }

    /// Fraction of generated words that are `<unk>`.
    public var unknownRate: Double { words == 0 ? 0 : Double(unknownWords) / Double(words) }
    /// Fraction of captions with at least one repetition.
    public var repetitionRate: Double { captions == 0 ? 0 : Double(captionsWithRepetition) / Double(captions) }
    /// Mean repetitions per caption.
    public var repetitionsPerCaption: Double { captions == 0 ? 0 : Double(repetitions) / Double(captions) }
    public var meanLength: Double { captions == 0 ? 0 : Double(words) / Double(captions) }

    public static func repetitions<T: Hashable>(in words: [T]) -> Int {
        var count = 0
        var seen = Set<[T]>()
        for i in words.indices {
            if i > 0 && words[i] == words[i - 1] { count += 1 }
            if i + 1 < words.count && !seen.insert([words[i], words[i + 1]]).inserted && words[i] != words[i + 1] { count += 1 }
        }
        return count
    }
}
