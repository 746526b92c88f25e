import Foundation
import ThreadSupport

/// A one-line progress bar with rate and ETA on standard error, drawn only when stderr is a terminal
/// (so pipes and logs stay clean) and redrawn at most ten times a second.
final class ProgressBar {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private let start = Monotonic.now()
    private var lastDraw: UInt64 = 0
    private var current = 0

    init(total: Int, label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
    }

    func advance(by step: Int = 1, detail: String = "") {
        current = min(current + step, total)
        guard enabled else { return }
        let now = Monotonic.now()
        if current < total && Double(now - lastDraw) / 1e9 < 0.1 { return }
        lastDraw = now
        FileHandle.standardError.write(Data(Self.render(label: label, current: current, total: total,
                                                         elapsed: Double(now - start) / 1e9, detail: detail).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// `label [#####.....]  42/100  3.1 s elapsed, ETA 4.3 s  detail` (pure, for tests).
    static func render(label: String, current: Int, total: Int, elapsed: TimeInterval, detail: String, width: Int = 30) -> String {
        let fraction = Double(current) / Double(max(total, 1))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let eta = current > 0 ? elapsed / Double(current) * Double(total - current) : 0
        return "\r\(label) [\(bar)] \(current)/\(total)  \(formatDuration(elapsed)) elapsed, ETA \(formatDuration(eta))  \(detail)\u{1B}[K"
    }

    static func formatDuration(_ seconds: TimeInterval) -> String {
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds)
        return whole < 3600 ? String(format: "%d:%02d", whole / 60, whole % 60)
                            : String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
    }
}
