import Foundation

/// The per-epoch CSV log of a training run.
public enum TrainingLog {
    public static let header = "epoch,train_loss,val_loss,val_cider_d,lr,seconds"

    /// One line per epoch; `val_cider_d` is empty for epochs where it was not computed.
    public static func csv(_ history: [EpochRecord]) -> String {
        var lines = [header]
        for r in history {
            lines.append([String(r.epoch), format(r.trainLoss), format(r.validationLoss), r.validationCIDEr.map(format) ?? "",
                          String(format: "%.6g", r.learningRate), String(format: "%.3f", r.seconds)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func format(_ value: Double) -> String { String(format: "%.6f", value) }
}

/// The learning curve of a run as a standalone SVG: top panel train and validation loss, bottom panel
/// validation CIDEr-D, against epochs; the best epoch is marked.
public enum LearningCurvePlot {
    public static func svg(_ history: [EpochRecord], title: String) -> String {
        let epochs = history.map { Double($0.epoch) }
        var loss = SVGLinePlot.Panel(title: "Cross-entropy loss", yLabel: "loss", series: [
            .init(name: "train", color: "#1f77b4", points: Array(zip(epochs, history.map(\.trainLoss)))),
            .init(name: "validation", color: "#d62728", points: Array(zip(epochs, history.map(\.validationLoss)))),
        ])
        if let best = history.filter(\.improved).last {
            loss.markers.append(.init(x: Double(best.epoch), label: "best (epoch \(best.epoch))"))
        }
        let ciderPoints = history.compactMap { r in r.validationCIDEr.map { (Double(r.epoch), $0) } }
        let cider = SVGLinePlot.Panel(title: "Validation CIDEr-D (greedy)", yLabel: "CIDEr-D", series: [
            .init(name: "val CIDEr-D", color: "#2ca02c", points: ciderPoints),
        ], emptyNote: "CIDEr-D not computed")
        return SVGLinePlot.render(title: title, xLabel: "epoch", panels: [loss, cider])
    }
}

/// A small SVG line-plot writer: stacked panels sharing the x axis, each with its own y scale, "nice"
/// ticks (1, 2, 5 × 10ⁿ), grid lines, a legend and optional vertical markers.
public enum SVGLinePlot {
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(Double, Double)]
        public init(name: String, color: String, points: [(Double, Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    public struct Marker {
        public var x: Double
        public var label: String
    }

    public struct Panel {
        public var title: String
        public var yLabel: String
        public var series: [Series]
        public var markers: [Marker] = []
        public var emptyNote = "no data"
        public init(title: String, yLabel: String, series: [Series], emptyNote: String = "no data") {
            self.title = title
            self.yLabel = yLabel
            self.series = series
            self.emptyNote = emptyNote
        }
    }

    /// Tick values covering [low, high] at a 1/2/5 × 10ⁿ step giving about `count` intervals.
    public static func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard low.isFinite, high.isFinite else { return [] }
        var lo = low, hi = high
        if hi - lo < 1e-12 { lo -= max(abs(lo) * 0.1, 0.5); hi += max(abs(hi) * 0.1, 0.5) }
        let raw = (hi - lo) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var values: [Double] = []
        var v = floor(lo / step) * step
        while v <= hi + step * 1e-9 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        if let last = values.last, last < hi { values.append(last + step) }
        return values
    }

    static func label(_ v: Double, step: Double) -> String {
        let digits = max(0, min(6, Int(-floor(log10(step)))))
        return String(format: "%.\(digits)f", v)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func render(title: String, xLabel: String, panels: [Panel], width: Double = 760, panelHeight: Double = 260) -> String {
        let left = 70.0, right = 20.0, top = 40.0, gap = 50.0, bottomAxis = 45.0
        let height = top + Double(panels.count) * panelHeight + Double(max(0, panels.count - 1)) * gap + bottomAxis
        let plotWidth = width - left - right
        let xs = panels.flatMap { $0.series.flatMap { $0.points.map(\.0) } }
        let xTicks = ticks(xs.min() ?? 0, xs.max() ?? 1, count: 8)
        let xLow = xTicks.first ?? 0, xHigh = xTicks.last ?? 1
        func px(_ x: Double) -> Double { left + (x - xLow) / max(xHigh - xLow, 1e-12) * plotWidth }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="22" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

        """
        for (index, panel) in panels.enumerated() {
            let y0 = top + Double(index) * (panelHeight + gap)
            let plotTop = y0 + 18, plotBottom = y0 + panelHeight
            let ys = panel.series.flatMap { $0.points.map(\.1) }.filter(\.isFinite)
            let yTicks = ticks(ys.min() ?? 0, ys.max() ?? 1)
            let yLow = yTicks.first ?? 0, yHigh = yTicks.last ?? 1
            let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
            let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
            func py(_ y: Double) -> Double { plotBottom - (y - yLow) / max(yHigh - yLow, 1e-12) * (plotBottom - plotTop) }

            svg += "<g class=\"panel\">\n"
            svg += "<text x=\"\(f(left))\" y=\"\(f(y0 + 10))\" font-size=\"13\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
            for t in yTicks {
                svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(t)))\" stroke=\"#e0e0e0\"/>\n"
                svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(label(t, step: yStep))</text>\n"
            }
            for t in xTicks {
                svg += "<line x1=\"\(f(px(t)))\" y1=\"\(f(plotBottom))\" x2=\"\(f(px(t)))\" y2=\"\(f(plotBottom + 5))\" stroke=\"black\"/>\n"
                svg += "<text x=\"\(f(px(t)))\" y=\"\(f(plotBottom + 18))\" text-anchor=\"middle\">\(label(t, step: xStep))</text>\n"
            }
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(plotTop))\" x2=\"\(f(left))\" y2=\"\(f(plotBottom))\" stroke=\"black\"/>\n"
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(plotBottom))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(plotBottom))\" stroke=\"black\"/>\n"
            let midY = (plotTop + plotBottom) / 2
            svg += "<text x=\"18\" y=\"\(f(midY))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(midY)))\">\(escape(panel.yLabel))</text>\n"
            if ys.isEmpty {
                svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(midY))\" text-anchor=\"middle\" fill=\"#888\">\(escape(panel.emptyNote))</text>\n"
            }
            for marker in panel.markers {
                svg += "<line x1=\"\(f(px(marker.x)))\" y1=\"\(f(plotTop))\" x2=\"\(f(px(marker.x)))\" y2=\"\(f(plotBottom))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n"
                svg += "<text x=\"\(f(px(marker.x) + 4))\" y=\"\(f(plotTop + 12))\" fill=\"#555\" font-size=\"11\">\(escape(marker.label))</text>\n"
            }
            for series in panel.series {
                let points = series.points.filter { $0.0.isFinite && $0.1.isFinite }
                guard !points.isEmpty else { continue }
                let path = points.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
                if points.count <= 60 {
                    for p in points { svg += "<circle cx=\"\(f(px(p.0)))\" cy=\"\(f(py(p.1)))\" r=\"2.5\" fill=\"\(series.color)\"/>\n" }
                }
            }
            // Legend, top right.
            let named = panel.series.filter { !$0.points.isEmpty }
            for (i, series) in named.enumerated() {
                let ly = plotTop + 8 + Double(i) * 16, lx = left + plotWidth - 130
                svg += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 22))\" y2=\"\(f(ly))\" stroke=\"\(series.color)\" stroke-width=\"2\"/>\n"
                svg += "<text x=\"\(f(lx + 28))\" y=\"\(f(ly + 4))\">\(escape(series.name))</text>\n"
            }
            svg += "</g>\n"
        }
        let axisY = top + Double(panels.count) * panelHeight + Double(max(0, panels.count - 1)) * gap + 38
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(axisY))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "</svg>\n"
        return svg
    }
}
