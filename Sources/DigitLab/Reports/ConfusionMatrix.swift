import Foundation

/// Counts of (true class, predicted class) pairs, with a CSV and an SVG heat map.
public struct ConfusionMatrix: Sendable, Equatable {
    public let classes: Int
    /// `counts[t][p]`: images of class t predicted as p.
    public private(set) var counts: [[Int]]

    public init(classes: Int) {
        self.classes = classes
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    public init(labels: [Int32], predictions: [Int32], classes: Int) {
        self.init(classes: classes)
        for (t, p) in zip(labels, predictions) { counts[Int(t)][Int(p)] += 1 }
    }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    public var correct: Int { (0..<classes).reduce(0) { $0 + counts[$1][$1] } }

    /// Rows are true classes, columns predicted classes: `true,0,1,...,9`.
    public var csv: String {
        CSVTable(header: ["true"] + (0..<classes).map(String.init),
                 rows: (0..<classes).map { t in [String(t)] + counts[t].map(String.init) }).text
    }

    /// A heat map: correct predictions on the diagonal shaded green by the class's recall, errors
    /// shaded red by their count relative to the most frequent error, every non-zero count printed.
    public func svg(title: String, subtitle: String = "") -> String {
        let cell = 46.0, left = 70.0, top = 110.0
        let size = cell * Double(classes)
        let width = left + size + 30, height = top + size + 30
        let maxError = max(1, (0..<classes).flatMap { t in (0..<classes).filter { $0 != t }.map { counts[t][$0] } }.max() ?? 1)
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="20" y="26" font-size="16" fill="#222">\(svgEscape(title))</text>
            <text x="20" y="48" font-size="13" fill="#555">\(svgEscape(subtitle))</text>
            <text x="\(left + size / 2)" y="\(top - 34)" font-size="13" text-anchor="middle" fill="#555">predicted</text>
            <text x="22" y="\(top + size / 2)" font-size="13" text-anchor="middle" fill="#555" transform="rotate(-90 22 \(top + size / 2))">true</text>

            """
        for k in 0..<classes {
            let c = Double(k) * cell + cell / 2
            s += "<text x=\"\(left + c)\" y=\"\(top - 10)\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222\">\(k)</text>\n"
            s += "<text x=\"\(left - 10)\" y=\"\(top + c + 5)\" font-size=\"13\" text-anchor=\"end\" fill=\"#222\">\(k)</text>\n"
        }
        for t in 0..<classes {
            let rowTotal = max(1, counts[t].reduce(0, +))
            for p in 0..<classes {
                let n = counts[t][p]
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                let fill: String, textColour: String
                if t == p {
                    let recall = Double(n) / Double(rowTotal)
                    fill = blend(from: (255, 255, 255), to: (26, 127, 55), amount: recall)
                    textColour = recall > 0.5 ? "white" : "#222"
                } else if n == 0 {
                    fill = "#f7f7f7"
                    textColour = "#222"
                } else {
                    let amount = 0.15 + 0.85 * Double(n) / Double(maxError)
                    fill = blend(from: (255, 255, 255), to: (200, 30, 30), amount: amount)
                    textColour = amount > 0.6 ? "white" : "#222"
                }
                s += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(fill)\" stroke=\"white\"/>\n"
                if n > 0 {
                    s += "<text x=\"\(x + cell / 2)\" y=\"\(y + cell / 2 + 4)\" font-size=\"\(n >= 1000 ? 11 : 12)\" text-anchor=\"middle\" fill=\"\(textColour)\">\(n)</text>\n"
                }
            }
        }
        return s + "</svg>\n"
    }

    private func blend(from a: (Int, Int, Int), to b: (Int, Int, Int), amount: Double) -> String {
        let t = max(0, min(1, amount))
        func mix(_ x: Int, _ y: Int) -> Int { Int((Double(x) + (Double(y) - Double(x)) * t).rounded()) }
        return "rgb(\(mix(a.0, b.0)),\(mix(a.1, b.1)),\(mix(a.2, b.2)))"
    }
}

/// Text made safe for SVG (XML) content and attribute values.
func svgEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
