import Foundation

/// A chart written as standalone SVG 1.1 text: a title, axes with round tick values and a light
/// grid, axis titles, a legend above the plot, and any mix of lines, shaded bands, markers with
/// error bars and bars. Series are given in data coordinates and drawn in the order added, so a
/// band goes in before the line it surrounds.
///
/// Each axis's domain is the data's extent widened to round ticks, unless `xDomain`/`yDomain`
/// fix it. The legend sits above the plot area rather than inside it, so it never hides data;
/// series given the same label share one legend entry.
/// Output is plain text with no external references (no fonts, scripts or stylesheets), so it
/// renders the same in a browser, an image viewer or a Markdown preview.
///
/// Structure the output keeps, for readers and tests alike: each series is a
/// `<g class="series KIND">` whose `<title>` is its legend label; lines are `<polyline>`, bands
/// `<polygon>`, bars `<rect class="bar">`, error bars `<g class="error-bar">`, markers
/// `class="marker"`; each tick is a `<g class="x-tick">` or `<g class="y-tick">` holding its grid
/// line and its label.
public struct SVGChart: Sendable {
    /// The shape drawn at a point.
    public enum Marker: String, Sendable, CaseIterable { case circle, square, diamond, triangle }

    /// A tick placed by hand: a position on the axis and the text printed there.
    public struct Tick: Sendable, Equatable {
        public var value: Double
        public var label: String
        public init(_ value: Double, _ label: String) { self.value = value; self.label = label }
    }

    public var title: String
    /// Smaller lines under the title (separated by newlines), for what the reader needs to read
    /// the chart right.
    public var subtitle: String?
    public var xLabel: String
    public var yLabel: String
    public var width: Double
    public var height: Double
    /// Fixed axis ranges; nil takes the data's extent widened to round ticks.
    public var xDomain: ClosedRange<Double>?
    public var yDomain: ClosedRange<Double>?
    /// Hand-placed ticks (for categories, or epochs 1, 2, 3 ...); nil chooses round values.
    public var xTicks: [Tick]?
    public var yTicks: [Tick]?
    /// Text shown in the middle of the plot area, such as "No finished runs yet".
    public var note: String?

    private var series: [Series] = []

    public init(title: String, subtitle: String? = nil, xLabel: String = "", yLabel: String = "",
                width: Double = 720, height: Double = 420) {
        self.title = title; self.subtitle = subtitle; self.xLabel = xLabel; self.yLabel = yLabel
        self.width = width; self.height = height
    }

    // MARK: Series

    private enum Kind: Sendable {
        case line(lineWidth: Double, dashed: Bool, marker: Marker?)
        case band(opacity: Double)
        case points(marker: Marker, size: Double, hollow: Bool)
        case bars(barWidth: Double)

        var className: String {
            switch self {
            case .line: "line"
            case .band: "band"
            case .points: "points"
            case .bars: "bars"
            }
        }
    }

    /// One series. A band keeps its edges in `low`/`high` and leaves `y` empty; points and bars
    /// keep their error bars there.
    private struct Series: Sendable {
        var label: String?
        var kind: Kind
        var color: String
        var x: [Double], y: [Double]
        var low: [Double]?, high: [Double]?
    }

    /// A line through the points in the order given; non-finite points are left out.
    public mutating func addLine(label: String?, x: [Double], y: [Double], color: String, lineWidth: Double = 2,
                                 dashed: Bool = false, marker: Marker? = nil) {
        precondition(x.count == y.count, "addLine: \(x.count) x values but \(y.count) y values")
        series.append(Series(label: label, kind: .line(lineWidth: lineWidth, dashed: dashed, marker: marker),
                             color: color, x: x, y: y))
    }

    /// The area between two series sharing x values, such as the spread of several runs.
    public mutating func addBand(label: String?, x: [Double], lower: [Double], upper: [Double], color: String,
                                 opacity: Double = 0.18) {
        precondition(x.count == lower.count && x.count == upper.count, "addBand: x, lower and upper differ in length")
        series.append(Series(label: label, kind: .band(opacity: opacity), color: color, x: x, y: [], low: lower, high: upper))
    }

    /// A marker at each point, with a vertical error bar from `low` to `high` where given.
    /// A hollow marker is outlined in `color` and filled white, to tell it apart from a filled one.
    public mutating func addPoints(label: String?, x: [Double], y: [Double], color: String, marker: Marker = .circle,
                                   size: Double = 5, hollow: Bool = false, low: [Double]? = nil, high: [Double]? = nil) {
        precondition(x.count == y.count, "addPoints: \(x.count) x values but \(y.count) y values")
        precondition((low == nil) == (high == nil) && (low?.count ?? x.count) == x.count && (high?.count ?? x.count) == x.count,
                     "addPoints: low and high must both be given, one per point")
        series.append(Series(label: label, kind: .points(marker: marker, size: size, hollow: hollow), color: color,
                             x: x, y: y, low: low, high: high))
    }

    /// A bar from zero (or the bottom of the axis, when zero is below it) to each y value,
    /// `barWidth` wide in x units, with error bars from `low` to `high` where given.
    public mutating func addBars(label: String?, x: [Double], y: [Double], color: String, barWidth: Double = 0.6,
                                 low: [Double]? = nil, high: [Double]? = nil) {
        precondition(x.count == y.count, "addBars: \(x.count) x values but \(y.count) y values")
        precondition((low == nil) == (high == nil) && (low?.count ?? x.count) == x.count && (high?.count ?? x.count) == x.count,
                     "addBars: low and high must both be given, one per bar")
        series.append(Series(label: label, kind: .bars(barWidth: barWidth), color: color, x: x, y: y, low: low, high: high))
    }

    // MARK: Ticks

    /// Round tick values from at or below `lower` to at or above `upper`, about `count` intervals
    /// apart, spaced 1, 2 or 5 times a power of ten.
    public static func niceTicks(lower: Double, upper: Double, count: Int = 5) -> [Double] {
        guard lower.isFinite, upper.isFinite else { return [] }
        let (lo, hi) = lower <= upper ? (lower, upper) : (upper, lower)
        let (mantissa, exponent) = niceStepParts(span: hi - lo, count: count)
        let step = scaled(mantissa, exponent)
        let first = Int((lo / step + 1e-9).rounded(.down)), last = Int((hi / step - 1e-9).rounded(.up))
        // Each tick is a whole number scaled by one power of ten, so 0.6 comes out as the double
        // nearest 0.6, not as 3 * 0.2 = 0.6000000000000001.
        return (first...max(first, last)).map { scaled(Double($0) * mantissa, exponent) }
    }

    /// The tick spacing for `span` in about `count` intervals: 1, 2 or 5 times a power of ten.
    public static func niceStep(span: Double, count: Int) -> Double {
        let (mantissa, exponent) = niceStepParts(span: span, count: count)
        return scaled(mantissa, exponent)
    }

    private static func niceStepParts(span: Double, count: Int) -> (mantissa: Double, exponent: Int) {
        let raw = (span > 0 && span.isFinite ? span : 1) / Double(max(count, 1))
        let exponent = Int(log10(raw).rounded(.down))
        let f = raw / scaled(1, exponent)
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10, exponent)
    }

    /// `m` times ten to the `e`; dividing for negative powers keeps decimals exact where they can be.
    private static func scaled(_ m: Double, _ e: Int) -> Double {
        e >= 0 ? m * pow(10, Double(e)) : m / pow(10, Double(-e))
    }

    /// Enough decimals to tell ticks `step` apart, and no more.
    private static func tickLabel(_ v: Double, step: Double) -> String {
        fixed(v, max(0, Int((-log10(step) - 1e-9).rounded(.up))))
    }

    /// The domain and ticks of one axis.
    private struct Axis {
        var lo: Double, hi: Double
        var ticks: [Tick]
    }

    private static func axis(domain: ClosedRange<Double>?, ticks: [Tick]?, extent: (Double, Double)?) -> Axis {
        if let domain {
            var lo = domain.lowerBound, hi = domain.upperBound
            if hi <= lo { lo -= 0.5; hi += 0.5 }
            if let ticks { return Axis(lo: lo, hi: hi, ticks: ticks) }
            let step = niceStep(span: hi - lo, count: 5), eps = (hi - lo) * 1e-9
            let values = niceTicks(lower: lo, upper: hi).filter { $0 >= lo - eps && $0 <= hi + eps }
            return Axis(lo: lo, hi: hi, ticks: values.map { Tick($0, tickLabel($0, step: step)) })
        }
        var (lo, hi) = extent ?? (0, 1)
        if let ticks, let a = ticks.map(\.value).min(), let b = ticks.map(\.value).max() {
            lo = min(lo, a); hi = max(hi, b)
            if hi <= lo { lo -= 0.5; hi += 0.5 }
            return Axis(lo: lo, hi: hi, ticks: ticks)
        }
        if hi <= lo {
            let pad = lo == 0 ? 1 : abs(lo) * 0.05
            lo -= pad; hi += pad
        }
        let values = niceTicks(lower: lo, upper: hi)
        let step = niceStep(span: hi - lo, count: 5)
        return Axis(lo: values.first ?? lo, hi: values.last ?? hi, ticks: values.map { Tick($0, tickLabel($0, step: step)) })
    }

    /// The smallest and largest finite value, if any.
    private static func extent(_ values: [Double]) -> (Double, Double)? {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return nil }
        return (lo, hi)
    }

    // MARK: Rendering

    private static let fontFamily = "system-ui, -apple-system, 'Segoe UI', 'Helvetica Neue', Helvetica, Arial, sans-serif"
    private static let ink = "#222222", muted = "#555555", gridColor = "#e6e6e6", axisColor = "#888888"

    /// An estimate of the width of `text` at `size` in a proportional sans-serif font; SVG text
    /// cannot be measured without a renderer, and the legend and margins need only a close guess.
    private static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.56 }

    /// The complete SVG document.
    public func render() -> String {
        // Axis domains: data extents, with bars reaching down to zero.
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            xs += s.x
            ys += s.y + (s.low ?? []) + (s.high ?? [])
            if case let .bars(w) = s.kind {
                xs += s.x.flatMap { [$0 - w / 2, $0 + w / 2] }
                ys.append(0)
            }
        }
        let xAxis = Self.axis(domain: xDomain, ticks: xTicks, extent: Self.extent(xs))
        let yAxis = Self.axis(domain: yDomain, ticks: yTicks, extent: Self.extent(ys))

        // Margins: room on the left for the widest y tick label and the rotated axis title.
        let tickFont = 11.0, legendFont = 12.0
        let widestYTick = yAxis.ticks.map { Self.textWidth($0.label, size: tickFont) }.max() ?? 0
        let left = (yLabel.isEmpty ? 12 : 34) + widestYTick + 10
        let right = 24.0, bottom = xLabel.isEmpty ? 30.0 : 50.0
        let plotWidth = max(width - left - right, 10)

        // The legend: one entry per label, in order of first use, its swatches overlaid (a mean
        // line over the band around it reads as one thing). Entries flow left to right above the
        // plot, wrapping onto new rows.
        var labels: [String] = [], members: [String: [Series]] = [:]
        for s in series {
            guard let label = s.label else { continue }
            if members[label] == nil { labels.append(label) }
            members[label, default: []].append(s)
        }
        var legendRows: [[(label: String, x: Double)]] = []
        var cursor = 0.0
        for label in labels {
            let w = 26 + Self.textWidth(label, size: legendFont)
            if legendRows.isEmpty || (cursor > 0 && cursor + w > plotWidth) {
                legendRows.append([]); cursor = 0
            }
            legendRows[legendRows.count - 1].append((label, cursor))
            cursor += w + 24
        }
        let subtitleLines = subtitle.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? []
        let legendTop = 44.0 + 17 * Double(subtitleLines.count), rowHeight = 18.0
        let top = legendTop + Double(legendRows.count) * rowHeight + (legendRows.isEmpty ? 0 : 8)
        let plotHeight = max(height - top - bottom, 10)
        let plotRight = left + plotWidth, plotBottom = top + plotHeight

        func px(_ x: Double) -> Double { left + (x - xAxis.lo) / (xAxis.hi - xAxis.lo) * plotWidth }
        func py(_ y: Double) -> Double { plotBottom - (y - yAxis.lo) / (yAxis.hi - yAxis.lo) * plotHeight }
        let n = Self.number, e = Markup.escape

        var out: [String] = []
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        out.append("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(n(width))\" height=\"\(n(height))\" "
                   + "viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"\(Self.fontFamily)\" font-size=\"12\">")
        out.append("<title>\(e(title))</title>")
        out.append("<defs><clipPath id=\"plot-area\"><rect x=\"\(n(left - 6))\" y=\"\(n(top - 6))\" "
                   + "width=\"\(n(plotWidth + 12))\" height=\"\(n(plotHeight + 12))\"/></clipPath></defs>")
        out.append("<rect class=\"background\" x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>")
        out.append("<text class=\"chart-title\" x=\"\(n(left))\" y=\"26\" font-size=\"16\" font-weight=\"bold\" fill=\"\(Self.ink)\">\(e(title))</text>")
        for (i, line) in subtitleLines.enumerated() {
            out.append("<text class=\"subtitle\" x=\"\(n(left))\" y=\"\(n(46 + 17 * Double(i)))\" fill=\"\(Self.muted)\">\(e(line))</text>")
        }

        // Grid and tick labels first, so the data is drawn over them.
        out.append("<g class=\"grid\" font-size=\"\(n(tickFont))\" fill=\"\(Self.muted)\">")
        for t in yAxis.ticks where t.value >= yAxis.lo - 1e-9 && t.value <= yAxis.hi + 1e-9 {
            let y = py(t.value)
            out.append("<g class=\"y-tick\"><line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(plotRight))\" y2=\"\(n(y))\" "
                       + "stroke=\"\(Self.gridColor)\" stroke-width=\"1\"/>"
                       + "<text x=\"\(n(left - 7))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(e(t.label))</text></g>")
        }
        for t in xAxis.ticks where t.value >= xAxis.lo - 1e-9 && t.value <= xAxis.hi + 1e-9 {
            let x = px(t.value)
            out.append("<g class=\"x-tick\"><line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(plotBottom))\" "
                       + "stroke=\"\(Self.gridColor)\" stroke-width=\"1\"/>"
                       + "<text x=\"\(n(x))\" y=\"\(n(plotBottom + 17))\" text-anchor=\"middle\">\(e(t.label))</text></g>")
        }
        out.append("</g>")
        out.append("<g class=\"axes\" stroke=\"\(Self.axisColor)\" stroke-width=\"1\">"
                   + "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(plotBottom))\"/>"
                   + "<line x1=\"\(n(left))\" y1=\"\(n(plotBottom))\" x2=\"\(n(plotRight))\" y2=\"\(n(plotBottom))\"/></g>")

        // The data, clipped to the plot area (with a little room for markers on its edges).
        out.append("<g class=\"data\" clip-path=\"url(#plot-area)\">")
        for s in series {
            out.append("<g class=\"series \(s.kind.className)\">" + (s.label.map { "<title>\(e($0))</title>" } ?? ""))
            switch s.kind {
            case let .line(lineWidth, dashed, marker):
                let points = zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite }
                out.append("<polyline points=\"\(points.map { "\(n(px($0.0))),\(n(py($0.1)))" }.joined(separator: " "))\" "
                           + "fill=\"none\" stroke=\"\(e(s.color))\" stroke-width=\"\(n(lineWidth))\" "
                           + "stroke-linejoin=\"round\" stroke-linecap=\"round\"" + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>")
                if let marker {
                    for (x, y) in points {
                        out.append(Self.marker(marker, x: px(x), y: py(y), size: lineWidth + 1.5, color: s.color, hollow: false))
                    }
                }
            case let .band(opacity):
                let edges = (0..<s.x.count).filter { s.x[$0].isFinite && s.low![$0].isFinite && s.high![$0].isFinite }
                let upper = edges.map { "\(n(px(s.x[$0]))),\(n(py(s.high![$0])))" }
                let lower = edges.reversed().map { "\(n(px(s.x[$0]))),\(n(py(s.low![$0])))" }
                out.append("<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(e(s.color))\" "
                           + "fill-opacity=\"\(n(opacity))\" stroke=\"none\"/>")
            case let .points(marker, size, hollow):
                for i in s.x.indices where s.x[i].isFinite && s.y[i].isFinite {
                    if let low = s.low?[i], let high = s.high?[i] {
                        out.append(Self.errorBar(x: px(s.x[i]), low: py(low), high: py(high), cap: size + 2, color: s.color))
                    }
                    out.append(Self.marker(marker, x: px(s.x[i]), y: py(s.y[i]), size: size, color: s.color, hollow: hollow))
                }
            case let .bars(barWidth):
                // Bars start at zero, or at the axis's bottom when zero is off the chart.
                let base = py(min(max(0, yAxis.lo), yAxis.hi))
                for i in s.x.indices where s.x[i].isFinite && s.y[i].isFinite {
                    let x0 = px(s.x[i] - barWidth / 2), x1 = px(s.x[i] + barWidth / 2), y = py(s.y[i])
                    out.append("<rect class=\"bar\" x=\"\(n(x0))\" y=\"\(n(min(y, base)))\" width=\"\(n(x1 - x0))\" "
                               + "height=\"\(n(abs(base - y)))\" fill=\"\(e(s.color))\" fill-opacity=\"0.85\"/>")
                    if let low = s.low?[i], let high = s.high?[i] {
                        out.append(Self.errorBar(x: px(s.x[i]), low: py(low), high: py(high),
                                                 cap: min(10, (x1 - x0) / 3), color: Self.ink))
                    }
                }
            }
            out.append("</g>")
        }
        out.append("</g>")

        if let note {
            out.append("<text class=\"note\" x=\"\(n(left + plotWidth / 2))\" y=\"\(n(top + plotHeight / 2))\" "
                       + "text-anchor=\"middle\" font-size=\"14\" fill=\"\(Self.muted)\">\(e(note))</text>")
        }
        if !xLabel.isEmpty {
            out.append("<text class=\"x-label\" x=\"\(n(left + plotWidth / 2))\" y=\"\(n(plotBottom + 40))\" "
                       + "text-anchor=\"middle\" font-size=\"13\" fill=\"\(Self.ink)\">\(e(xLabel))</text>")
        }
        if !yLabel.isEmpty {
            // Rotating by -90 degrees maps (x, y) to (y, -x): this puts the text at (16, plot middle).
            out.append("<text class=\"y-label\" transform=\"rotate(-90)\" x=\"\(n(-(top + plotHeight / 2)))\" y=\"16\" "
                       + "text-anchor=\"middle\" font-size=\"13\" fill=\"\(Self.ink)\">\(e(yLabel))</text>")
        }

        if !legendRows.isEmpty {
            out.append("<g class=\"legend\" font-size=\"\(n(legendFont))\" fill=\"\(Self.ink)\">")
            for (row, entries) in legendRows.enumerated() {
                let y = legendTop + Double(row) * rowHeight
                for (label, offset) in entries {
                    out.append("<g class=\"legend-entry\">" + members[label]!.map { Self.swatch($0, x: left + offset, y: y) }.joined()
                               + "<text x=\"\(n(left + offset + 26))\" y=\"\(n(y + 4))\">\(e(label))</text></g>")
                }
            }
            out.append("</g>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The legend's sample of a series, 20 px wide, centred vertically on `y`.
    private static func swatch(_ s: Series, x: Double, y: Double) -> String {
        let n = number, color = Markup.escape(s.color)
        switch s.kind {
        case let .line(lineWidth, dashed, marker):
            return "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x + 20))\" y2=\"\(n(y))\" stroke=\"\(color)\" "
                + "stroke-width=\"\(n(lineWidth))\"" + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>"
                + (marker.map { Self.marker($0, x: x + 10, y: y, size: lineWidth + 1.5, color: s.color, hollow: false) } ?? "")
        case let .band(opacity):
            return "<rect x=\"\(n(x))\" y=\"\(n(y - 6))\" width=\"20\" height=\"12\" fill=\"\(color)\" fill-opacity=\"\(n(opacity))\"/>"
        case let .points(marker, size, hollow):
            return (s.low == nil ? "" : errorBar(x: x + 10, low: y + 7, high: y - 7, cap: size + 2, color: s.color))
                + Self.marker(marker, x: x + 10, y: y, size: size, color: s.color, hollow: hollow)
        case .bars:
            return "<rect x=\"\(n(x + 2))\" y=\"\(n(y - 6))\" width=\"16\" height=\"12\" fill=\"\(color)\" fill-opacity=\"0.85\"/>"
        }
    }

    /// A marker of radius about `size` centred on (x, y), in pixels.
    private static func marker(_ shape: Marker, x: Double, y: Double, size r: Double, color: String, hollow: Bool) -> String {
        let n = number, c = Markup.escape(color)
        let paint = hollow ? "fill=\"#ffffff\" stroke=\"\(c)\" stroke-width=\"2\"" : "fill=\"\(c)\" stroke=\"#ffffff\" stroke-width=\"1\""
        switch shape {
        case .circle:
            return "<circle class=\"marker\" cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" \(paint)/>"
        case .square:
            let h = r * 0.9
            return "<rect class=\"marker\" x=\"\(n(x - h))\" y=\"\(n(y - h))\" width=\"\(n(2 * h))\" height=\"\(n(2 * h))\" \(paint)/>"
        case .diamond:
            // A square on its corner looks smaller than a circle of the same radius; widen it.
            let h = r * 1.3
            return "<path class=\"marker\" d=\"M\(n(x)),\(n(y - h)) L\(n(x + h)),\(n(y)) L\(n(x)),\(n(y + h)) L\(n(x - h)),\(n(y)) Z\" \(paint)/>"
        case .triangle:
            let h = r * 1.25
            return "<path class=\"marker\" d=\"M\(n(x)),\(n(y - h)) L\(n(x + h)),\(n(y + h * 0.75)) L\(n(x - h)),\(n(y + h * 0.75)) Z\" \(paint)/>"
        }
    }

    /// A vertical bar from pixel `low` to pixel `high` at `x`, with caps `cap` pixels wide.
    private static func errorBar(x: Double, low: Double, high: Double, cap: Double, color: String) -> String {
        let n = number, c = Markup.escape(color), h = cap / 2
        return "<g class=\"error-bar\" stroke=\"\(c)\" stroke-width=\"1.5\">"
            + "<line x1=\"\(n(x))\" y1=\"\(n(low))\" x2=\"\(n(x))\" y2=\"\(n(high))\"/>"
            + "<line x1=\"\(n(x - h))\" y1=\"\(n(low))\" x2=\"\(n(x + h))\" y2=\"\(n(low))\"/>"
            + "<line x1=\"\(n(x - h))\" y1=\"\(n(high))\" x2=\"\(n(x + h))\" y2=\"\(n(high))\"/></g>"
    }

    /// A pixel coordinate with at most two decimals, trailing zeros dropped.
    private static func number(_ v: Double) -> String {
        var s = fixed(v, 2)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}
