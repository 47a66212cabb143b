/// Stroke width of a binary drawing, and thickening by a disc, both from distance transforms.
enum StrokeWidth {
    /// The typical width of the strokes in pixels: along the strokes' middle (the ridge of the
    /// distance to the paper, where a pixel is at least as far from the paper as its eight
    /// neighbours) the median distance d gives a width of 2d - 1. Nil for an empty mask.
    static func measure(_ mask: [Bool], width: Int, height: Int) -> Double? {
        let inside = DistanceTransform.squared(mask.map { !$0 }, width: width, height: height)
        var ridge: [Float] = []
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let d = inside[y * width + x]
                var isRidge = true
                for dy in -1...1 where isRidge {
                    for dx in -1...1 where dx != 0 || dy != 0 {
                        let xx = x + dx, yy = y + dy
                        // Outside the mask's frame counts as paper.
                        let n: Float = (xx < 0 || yy < 0 || xx >= width || yy >= height) ? 0 : inside[yy * width + xx]
                        if n > d { isRidge = false; break }
                    }
                }
                if isRidge { ridge.append(min(d, Float(x + 1) * Float(x + 1), Float(y + 1) * Float(y + 1),
                                              Float(width - x) * Float(width - x), Float(height - y) * Float(height - y))) }
            }
        }
        guard !ridge.isEmpty else { return nil }
        ridge.sort()
        return 2 * Double(ridge[ridge.count / 2].squareRoot()) - 1
    }

    /// The mask grown by a disc of `radius` pixels (every pixel within `radius` of the ink).
    static func dilate(_ mask: [Bool], width: Int, height: Int, radius: Double) -> [Bool] {
        guard radius > 0 else { return mask }
        let outside = DistanceTransform.squared(mask, width: width, height: height)
        let r2 = Float(radius * radius)
        return outside.map { $0 <= r2 }
    }
}
