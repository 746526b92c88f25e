/// Thompson NFA over Unicode scalar values, built from `LexPattern`s. Several patterns can share one
/// automaton, each with its own tag; one run from a position reports, for every tag, where its pattern
/// can end — which is what a longest-match lexer needs (JFlex semantics: longest match wins, the
/// earlier rule wins a tie).
///
/// Runs go through a `DFA` cache: sets of NFA states become DFA states on first use (subset construction
/// on demand), so after a few captions every step is one table look-up. Outside ASCII, characters that
/// belong to exactly the same pattern classes share transitions (a few hundred such groups cover Unicode).
struct LexMatcher: Sendable {
    private let classOf: [Int32]    // class index on the state's one labelled edge, or -1
    private let target: [Int32]     // where that edge goes
    private let tag: [Int32]        // pattern tag if accepting, else -1
    private let classes: [ScalarClass]   // distinct classes; classOf indexes this
    private let startSet: [Int32]   // ε-closure of the start state
    private let closure: [[Int32]]  // ε-closure of each state (states with an edge or a tag only)

    init(_ patterns: [LexPattern]) {
        var builder = Builder()
        let start = builder.newState()
        for (index, pattern) in patterns.enumerated() {
            let (s, e) = builder.build(pattern)
            builder.epsilon[Int(start)].append(s)
            builder.tag[Int(e)] = Int32(index)
        }
        target = builder.target
        tag = builder.tag
        // One entry per distinct class, so a character's membership signature is short.
        var distinct: [ScalarClass: Int32] = [:], unique: [ScalarClass] = []
        var classOf = builder.classOf
        for (state, k) in builder.classOf.enumerated() where k >= 0 {
            let cls = builder.classes[Int(k)]
            if let id = distinct[cls] { classOf[state] = id; continue }
            distinct[cls] = Int32(unique.count)
            classOf[state] = Int32(unique.count)
            unique.append(cls)
        }
        self.classOf = classOf
        classes = unique
        closure = (0..<builder.classOf.count).map { LexMatcher.closure(of: Int32($0), builder) }
        startSet = closure[Int(start)]
    }

    private static func closure(of state: Int32, _ b: Builder) -> [Int32] {
        var seen: Set<Int32> = [state], stack = [state], result: [Int32] = []
        while let s = stack.popLast() {
            if b.classOf[Int(s)] >= 0 || b.tag[Int(s)] >= 0 { result.append(s) }
            for t in b.epsilon[Int(s)] where seen.insert(t).inserted { stack.append(t) }
        }
        return result.sorted()
    }

    /// Runs from `position`; calls `found(tag, end)` for every non-empty match, in increasing `end`.
    func run(_ text: [UInt32], from position: Int, cache: DFA, found: (Int, Int) -> Void) {
        var state: Int32 = 0
        var pos = position
        while pos < text.count {
            state = cache.step(state, text[pos])
            if state < 0 { return }
            pos += 1
            for t in cache.tags[Int(state)] { found(Int(t), pos) }
        }
    }

    /// The end of the longest match from `position`, or nil.
    func longestEnd(_ text: [UInt32], from position: Int, cache: DFA) -> Int? {
        var best: Int?
        run(text, from: position, cache: cache) { _, end in best = end }
        return best
    }

    func makeCache() -> DFA { DFA(self) }

    /// Which classes contain `c`.
    fileprivate func signature(_ c: UInt32) -> [Bool] {
        let categories = ScalarClass.Categories(c)
        return classes.map { $0.contains(c, categories) }
    }

    /// The NFA states reached from `set` on a character with membership `signature` (ε-closed, sorted, no
    /// duplicates); `mark`/`stamp` are the caller's scratch for de-duplication.
    fileprivate func step(_ set: [Int32], _ signature: [Bool], mark: inout [UInt32], stamp: UInt32) -> [Int32] {
        var next: [Int32] = []
        for s in set {
            let k = classOf[Int(s)]
            guard k >= 0, signature[Int(k)] else { continue }
            for t in closure[Int(target[Int(s)])] where mark[Int(t)] != stamp {
                mark[Int(t)] = stamp
                next.append(t)
            }
        }
        return next.sorted()
    }

    fileprivate var stateCount: Int { classOf.count }

    fileprivate func tags(of set: [Int32]) -> [Int32] {
        Array(Set(set.compactMap { tag[Int($0)] >= 0 ? tag[Int($0)] : nil })).sorted()
    }

    fileprivate var start: [Int32] { startSet }

    /// Lazily built deterministic automaton for one matcher. Not thread-safe: one per tokenizer run.
    final class DFA {
        private let matcher: LexMatcher
        private var index: [[Int32]: Int32] = [:]
        private var sets: [[Int32]] = []
        fileprivate var tags: [[Int32]] = []
        private var ascii: [[Int32]] = []              // per state, per ASCII character; -2 unknown, -1 dead
        private var other: [[Int32: Int32]] = []       // per state, per character group (non-ASCII)
        private var groupOf: [UInt32: Int32] = [:]     // non-ASCII character -> group
        private var groupIndex: [[Bool]: Int32] = [:]  // membership signature -> group
        private var groupSignature: [[Bool]] = []
        private var mark: [UInt32]
        private var stamp: UInt32 = 0

        fileprivate init(_ matcher: LexMatcher) {
            self.matcher = matcher
            mark = [UInt32](repeating: 0, count: matcher.stateCount)
            _ = intern(matcher.start)
        }

        private func intern(_ set: [Int32]) -> Int32 {
            if set.isEmpty { return -1 }
            if let i = index[set] { return i }
            let i = Int32(sets.count)
            index[set] = i
            sets.append(set)
            tags.append(matcher.tags(of: set))
            ascii.append([Int32](repeating: -2, count: 128))
            other.append([:])
            return i
        }

        private func advance(_ s: Int, _ signature: [Bool]) -> Int32 {
            stamp &+= 1
            if stamp == 0 { mark = [UInt32](repeating: 0, count: mark.count); stamp = 1 }
            return intern(matcher.step(sets[s], signature, mark: &mark, stamp: stamp))
        }

        fileprivate func step(_ state: Int32, _ c: UInt32) -> Int32 {
            let s = Int(state)
            if c < 128 {
                let known = ascii[s][Int(c)]
                if known != -2 { return known }
                let next = advance(s, matcher.signature(c))
                ascii[s][Int(c)] = next
                return next
            }
            let group: Int32
            if let g = groupOf[c] {
                group = g
            } else {
                let signature = matcher.signature(c)
                if let g = groupIndex[signature] {
                    group = g
                } else {
                    group = Int32(groupSignature.count)
                    groupIndex[signature] = group
                    groupSignature.append(signature)
                }
                groupOf[c] = group
            }
            if let known = other[s][group] { return known }
            let next = advance(s, groupSignature[Int(group)])
            other[s][group] = next
            return next
        }
    }

    private struct Builder {
        var classOf: [Int32] = []
        var target: [Int32] = []
        var epsilon: [[Int32]] = []
        var tag: [Int32] = []
        var classes: [ScalarClass] = []

        mutating func newState() -> Int32 {
            classOf.append(-1)
            target.append(-1)
            epsilon.append([])
            tag.append(-1)
            return Int32(classOf.count - 1)
        }

        /// Thompson construction: returns (entry, exit) of a fragment whose exit has no edges yet.
        mutating func build(_ pattern: LexPattern) -> (Int32, Int32) {
            switch pattern {
            case let .scalar(cls):
                let s = newState(), e = newState()
                classes.append(cls.normalized())
                classOf[Int(s)] = Int32(classes.count - 1)
                target[Int(s)] = e
                return (s, e)
            case let .sequence(items):
                let s = newState()
                var last = s
                for item in items {
                    let (a, b) = build(item)
                    epsilon[Int(last)].append(a)
                    last = b
                }
                return (s, last)
            case let .choice(options):
                let s = newState(), e = newState()
                for option in options {
                    let (a, b) = build(option)
                    epsilon[Int(s)].append(a)
                    epsilon[Int(b)].append(e)
                }
                return (s, e)
            case let .repeated(inner, min, max):
                let s = newState()
                var last = s
                for _ in 0..<min {
                    let (a, b) = build(inner)
                    epsilon[Int(last)].append(a)
                    last = b
                }
                if let max {
                    // Optional copies: each may be skipped to the common exit.
                    let e = newState()
                    epsilon[Int(last)].append(e)
                    for _ in min..<max {
                        let (a, b) = build(inner)
                        epsilon[Int(last)].append(a)
                        epsilon[Int(b)].append(e)
                        last = b
                    }
                    return (s, e)
                }
                let (a, b) = build(inner)
                let e = newState()
                epsilon[Int(last)].append(a)
                epsilon[Int(last)].append(e)
                epsilon[Int(b)].append(a)
                epsilon[Int(b)].append(e)
                return (s, e)
            }
        }
    }
}
