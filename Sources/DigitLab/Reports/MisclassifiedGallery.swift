import Foundation

/// An SVG sheet of misclassified digits: each image (embedded as a PNG) with its true and predicted
/// labels and its index in the test set.
public struct MisclassifiedGallery: Sendable {
    public struct Entry: Sendable {
        public var index: Int
        public var label: Int
        public var predicted: Int
        /// 28 x 28 bytes, as the dataset stores them.
        public var pixels: [UInt8]

        public init(index: Int, label: Int, predicted: Int, pixels: [UInt8]) {
            self.index = index
            self.label = label
            self.predicted = predicted
            self.pixels = pixels
        }
    }

    public var entries: [Entry]
    /// At most this many images are drawn; the title says how many there were.
    public var limit = 600

    public init(entries: [Entry]) { self.entries = entries }

    /// The entries as CSV: `index,true,predicted`.
    public var csv: String {
        CSVTable(header: ["index", "true", "predicted"],
                 rows: entries.map { [String($0.index), String($0.label), String($0.predicted)] }).text
    }

    public func svg(title: String) throws -> String {
        let shown = Array(entries.prefix(limit))
        let columns = 20, scale = 2.0, image = 28 * scale, cellWidth = image + 8, cellHeight = image + 30
        let rows = max(1, (shown.count + columns - 1) / columns)
        let width = 20 + Double(columns) * cellWidth, height = 64 + Double(rows) * cellHeight
        var heading = "\(title): \(entries.count) misclassified"
        if shown.count < entries.count { heading += " (the first \(shown.count) shown)" }
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="24" font-size="16" fill="#222">\(svgEscape(heading))</text>
            <text x="10" y="44" font-size="12" fill="#555">under each image: true → predicted, and its index in the test set</text>

            """
        for (k, e) in shown.enumerated() {
            let x = 10 + Double(k % columns) * cellWidth, y = 56 + Double(k / columns) * cellHeight
            let png = try PNGCodec.encode(RasterImage(width: 28, height: 28, channels: 1, pixels: e.pixels), name: "gallery")
            s += "<image x=\"\(x)\" y=\"\(y)\" width=\"\(image)\" height=\"\(image)\" style=\"image-rendering:pixelated\" "
                + "href=\"data:image/png;base64,\(Data(png).base64EncodedString())\"/>\n"
            s += "<text x=\"\(x + image / 2)\" y=\"\(y + image + 13)\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222\">"
                + "\(e.label) → <tspan fill=\"#c81e1e\" font-weight=\"bold\">\(e.predicted)</tspan></text>\n"
            s += "<text x=\"\(x + image / 2)\" y=\"\(y + image + 25)\" font-size=\"9\" text-anchor=\"middle\" fill=\"#777\">#\(e.index)</text>\n"
        }
        return s + "</svg>\n"
    }
}
