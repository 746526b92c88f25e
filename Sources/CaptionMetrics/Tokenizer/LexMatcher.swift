/// Thompson NFA over Unicode scalar values, built from `LexPattern`s. Several patterns can share one
/// automaton, each with its own tag; one run from a position reports, for every tag, where its pattern
/// can end — which is what a longest-match lexer needs (JFlex semantics: longest match wins, the
/// earlier rule wins a tie).
struct LexMatcher: Sendable {
    private var classOf: [Int32] = []    // class index on the state's one labelled edge, or -1
    private var target: [Int32] = []     // where that edge goes
    private var epsilon: [[Int32]] = []  // ε-edges
    private var tag: [Int32] = []        // pattern tag if accepting, else -1
    private var classes: [ScalarClass] = []
    private var closure: [[Int32]] = []  // ε-closure of each state (states with an edge or a tag only)
    private let start: Int32
    let tagCount: Int

    init(_ patterns: [LexPattern]) {
        tagCount = patterns.count
        var builder = Builder()
        let start = builder.newState()
        for (index, pattern) in patterns.enumerated() {
            let (s, e) = builder.build(pattern)
            builder.epsilon[Int(start)].append(s)
            builder.tag[Int(e)] = Int32(index)
        }
        self.start = start
        classOf = builder.classOf
        target = builder.target
        epsilon = builder.epsilon
        tag = builder.tag
        classes = builder.classes
        closure = (0..<classOf.count).map { LexMatcher.closure(of: Int32($0), epsilon: builder.epsilon,
                                                              classOf: builder.classOf, tag: builder.tag) }
    }

    private static func closure(of state: Int32, epsilon: [[Int32]], classOf: [Int32], tag: [Int32]) -> [Int32] {
        var seen: Set<Int32> = [state], stack = [state], result: [Int32] = []
        while let s = stack.popLast() {
            if classOf[Int(s)] >= 0 || tag[Int(s)] >= 0 { result.append(s) }
            for t in epsilon[Int(s)] where seen.insert(t).inserted { stack.append(t) }
        }
        return result.sorted()
    }

    /// Runs from `position`; calls `found(tag, end)` for every non-empty match, in increasing `end`.
    func run(_ text: [UInt32], from position: Int, scratch: inout Scratch, found: (Int, Int) -> Void) {
        scratch.prepare(states: classOf.count, classes: classes.count)
        var current: [Int32] = []
        scratch.stamp &+= 1
        for s in closure[Int(start)] where scratch.mark[Int(s)] != scratch.stamp {
            scratch.mark[Int(s)] = scratch.stamp
            current.append(s)
        }
        var pos = position
        var next: [Int32] = []
        while !current.isEmpty && pos < text.count {
            let c = text[pos]
            scratch.stamp &+= 1
            let stamp = scratch.stamp
            next.removeAll(keepingCapacity: true)
            for s in current {
                let k = Int(classOf[Int(s)])
                guard k >= 0 else { continue }
                if scratch.classStamp[k] != stamp {
                    scratch.classStamp[k] = stamp
                    scratch.classHit[k] = classes[k].contains(c)
                }
                guard scratch.classHit[k] else { continue }
                for t in closure[Int(target[Int(s)])] where scratch.mark[Int(t)] != stamp {
                    scratch.mark[Int(t)] = stamp
                    next.append(t)
                }
            }
            pos += 1
            for s in next where tag[Int(s)] >= 0 { found(Int(tag[Int(s)]), pos) }
            swap(&current, &next)
        }
    }

    /// The end of the longest match of pattern `tag` from `position`, or nil.
    func longestEnd(_ text: [UInt32], from position: Int, scratch: inout Scratch) -> Int? {
        var best: Int?
        run(text, from: position, scratch: &scratch) { _, end in best = end }
        return best
    }

    /// Reusable per-thread work arrays (so a run allocates nothing once warmed up).
    struct Scratch {
        var mark: [UInt32] = []
        var classStamp: [UInt32] = []
        var classHit: [Bool] = []
        var stamp: UInt32 = 0

        mutating func prepare(states: Int, classes: Int) {
            if mark.count < states || classStamp.count < classes || stamp > UInt32.max - 1_000_000 {
                mark = Array(repeating: 0, count: max(states, mark.count))
                classStamp = Array(repeating: 0, count: max(classes, classStamp.count))
                classHit = Array(repeating: false, count: classStamp.count)
                stamp = 0
            }
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
                classes.append(cls)
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
