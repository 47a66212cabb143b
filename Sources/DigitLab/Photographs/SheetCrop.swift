/// Finds a sheet of paper photographed on a darker surface (a desk, a table), so that the digit is
/// looked for on the sheet only: a smooth background cannot follow the sheet's sharp edge, and the
/// surface around it would pass for ink.
///
/// The picture's grey levels are split in two by Otsu's threshold; if the largest bright region
/// covers between a fifth and 97% of the picture and at least 70% of its own bounding box, most of
/// the picture's frame is dark, and the two classes differ by at least 40 grey levels, the sheet
/// is that region's bounding box, inset by 2% of its size. Otherwise (paper filling the picture, light ink on a dark board, uneven
/// light) there is no sheet to crop to.
enum SheetCrop {
    struct Box: Equatable {
        var minX, minY, maxX, maxY: Int
    }

    static func sheet(_ grey: Plane) -> Box? {
        let w = grey.width, h = grey.height, n = w * h
        guard w >= 32 && h >= 32 else { return nil }
        var histogram = [Int](repeating: 0, count: 256)
        for v in grey.values { histogram[Int(max(0, min(255, v.rounded())))] += 1 }
        // Otsu: the threshold maximizing the between-class variance.
        let total = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) }
        var best = (t: 0, score: -1.0), countBelow = 0, sumBelow = 0.0
        for t in 0..<255 {
            countBelow += histogram[t]
            sumBelow += Double(t * histogram[t])
            let countAbove = n - countBelow
            guard countBelow > 0 && countAbove > 0 else { continue }
            let m0 = sumBelow / Double(countBelow), m1 = (total - sumBelow) / Double(countAbove)
            let score = Double(countBelow) * Double(countAbove) * (m0 - m1) * (m0 - m1)
            if score > best.score { best = (t, score) }
        }
        let threshold = Float(best.t) + 0.5
        let bright = grey.values.map { $0 > threshold }
        let brightCount = bright.filter { $0 }.count
        guard brightCount > 0 && brightCount < n else { return nil }
        var darkSum = 0.0, brightSum = 0.0
        for (v, b) in zip(grey.values, bright) { if b { brightSum += Double(v) } else { darkSum += Double(v) } }
        guard brightSum / Double(brightCount) - darkSum / Double(n - brightCount) >= 40 else { return nil }
        var frameDark = 0, framePixels = 0
        let frame = max(1, max(w, h) / 50)
        for y in 0..<h {
            for x in 0..<w where x < frame || y < frame || x >= w - frame || y >= h - frame {
                framePixels += 1
                if !bright[y * w + x] { frameDark += 1 }
            }
        }
        guard Double(frameDark) >= 0.6 * Double(framePixels) else { return nil }
        let regions = ConnectedComponents(bright, width: w, height: h)
        guard let sheet = regions.components.max(by: { $0.area < $1.area }) else { return nil }
        let share = Double(sheet.area) / Double(n)
        guard share >= 0.2 && share <= 0.97 else { return nil }
        // A sheet is solid: it fills most of its bounding box (a rectangle turned by 10 degrees
        // fills 75%), where a bold light digit on a dark ground, its strokes, fills far less.
        guard Double(sheet.area) >= 0.7 * Double(sheet.boxWidth * sheet.boxHeight) else { return nil }
        let insetX = sheet.boxWidth / 50, insetY = sheet.boxHeight / 50
        let box = Box(minX: sheet.minX + insetX, minY: sheet.minY + insetY, maxX: sheet.maxX - insetX, maxY: sheet.maxY - insetY)
        guard box.maxX - box.minX >= 31 && box.maxY - box.minY >= 31 else { return nil }
        return box
    }

    /// `plane` cut to `box`.
    static func crop(_ plane: Plane, to box: Box) -> Plane {
        let w = box.maxX - box.minX + 1, h = box.maxY - box.minY + 1
        var values = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w { values[y * w + x] = plane.values[(y + box.minY) * plane.width + x + box.minX] }
        }
        return Plane(width: w, height: h, values: values)
    }
}
