import Foundation

/// A forest plot as SVG: one row per comparison, its mean difference as a dot and its 95%
/// interval as a line (the bootstrap's, with the t interval as a thin grey line beneath), a
/// vertical line at zero, the verdict coloured: better blue, worse red, no difference grey.
public enum ForestPlot {
    public static func svg(title: String, subtitle: String, rows: [SeedComparison]) -> String {
        let labelWidth = 330.0, plotWidth = 420.0, rightWidth = 170.0, rowHeight = 26.0, top = 62.0, bottom = 46.0
        let width = labelWidth + plotWidth + rightWidth, height = top + rowHeight * Double(max(rows.count, 1)) + bottom
        let values = rows.flatMap { [$0.statistics.bootstrap.lower, $0.statistics.bootstrap.upper, $0.statistics.t.lower, $0.statistics.t.upper] }
            .filter(\.isFinite) + [0]
        let span = max((values.max() ?? 0.5) - (values.min() ?? -0.5), 0.2)
        let lo = (values.min() ?? -0.5) - 0.08 * span, hi = (values.max() ?? 0.5) + 0.08 * span
        let ticks = SVGChart.niceTicks(lower: lo, upper: hi, count: 6).filter { $0 >= lo && $0 <= hi }
        func px(_ x: Double) -> Double { labelWidth + (x - lo) / (hi - lo) * plotWidth }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        let colors: [Verdict: String] = [.better: "#1f77b4", .worse: "#d62728", .noDifference: "#7f7f7f"]
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" "
            + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(Markup.escape(title))</text>\n"
        s += "<text x=\"12\" y=\"40\" fill=\"#555\">\(Markup.escape(subtitle))</text>\n"
        let plotBottom = top + rowHeight * Double(rows.count)
        for t in ticks {
            s += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top - 6))\" x2=\"\(n(px(t)))\" y2=\"\(n(plotBottom))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(n(px(t)))\" y=\"\(n(plotBottom + 16))\" text-anchor=\"middle\" fill=\"#333\">\(VerdictReport.signed(t, 2))</text>\n"
        }
        s += "<line x1=\"\(n(px(0)))\" y1=\"\(n(top - 10))\" x2=\"\(n(px(0)))\" y2=\"\(n(plotBottom))\" stroke=\"black\" stroke-width=\"1.2\"/>\n"
        s += "<text x=\"\(n(labelWidth + plotWidth / 2))\" y=\"\(n(plotBottom + 34))\" text-anchor=\"middle\">A − B, test accuracy (points)</text>\n"
        s += "<text x=\"\(n(labelWidth + plotWidth + 10))\" y=\"\(n(top - 12))\" fill=\"#555\">verdict (Holm p)</text>\n"
        for (i, row) in rows.enumerated() {
            let y = top + rowHeight * (Double(i) + 0.5), st = row.statistics
            let color = colors[row.verdict] ?? "#7f7f7f"
            if i % 2 == 0 { s += "<rect x=\"0\" y=\"\(n(y - rowHeight / 2))\" width=\"\(n(width))\" height=\"\(n(rowHeight))\" fill=\"#f7f7f7\"/>\n" }
            s += "<text x=\"12\" y=\"\(n(y + 4))\">\(Markup.escape("\(row.a) − \(row.b): \(row.label)"))</text>\n"
            if st.t.lower.isFinite {
                s += "<line x1=\"\(n(px(st.t.lower)))\" y1=\"\(n(y + 5))\" x2=\"\(n(px(st.t.upper)))\" y2=\"\(n(y + 5))\" stroke=\"#bbb\" stroke-width=\"1.5\"/>\n"
            }
            if st.bootstrap.lower.isFinite {
                s += "<line x1=\"\(n(px(st.bootstrap.lower)))\" y1=\"\(n(y))\" x2=\"\(n(px(st.bootstrap.upper)))\" y2=\"\(n(y))\" stroke=\"\(color)\" stroke-width=\"2.5\"/>\n"
            }
            s += "<circle cx=\"\(n(px(st.meanDifference)))\" cy=\"\(n(y))\" r=\"4.5\" fill=\"\(color)\"/>\n"
            s += "<text x=\"\(n(labelWidth + plotWidth + 10))\" y=\"\(n(y + 4))\" fill=\"\(color)\">"
                + "\(Markup.escape(row.verdict.rawValue)) (\(VerdictReport.pText(st.adjustedP)))</text>\n"
        }
        s += "<text x=\"12\" y=\"\(n(height - 8))\" fill=\"#777\" font-size=\"10\">Thick: bootstrap (BCa) interval; thin grey: t interval; "
            + "blue better, red worse, grey no difference detected.</text>\n"
        return s + "</svg>\n"
    }
}
