import Foundation

/// Finds and removes the long thin straight lines of ruled or squared paper from an ink mask.
///
/// Candidates come from a small Radon transform: for every slant within +-20 degrees, count the ink
/// pixels along each straight line across the image; the slant with the highest count is the
/// page's, and every band of lines at that slant covering at least half the image's width, at
/// most a few pixels thick, is a ruled line. It is removed column by column, except where the ink
/// runs well beyond the band (a stroke crossing the line), so the digit is not cut apart.
/// Vertical lines (a margin) are found the same way on the transposed mask.
enum RuledLines {
    struct Line {
        /// Indices of the pixels removed, so the line can be put back.
        var pixels: [Int]
        /// The first and last column (or row, for a vertical line) the line covers.
        var start: Int
        var end: Int
        var vertical: Bool
    }

    /// Removes horizontal and vertical ruled lines from `mask`; returns what was removed.
    ///
    /// A pass that cannot remove anything is skipped, which changes no answer: `removeHorizontal`
    /// removes a line only once `covered >= width / 2` and `last - first + 1 >= Int(0.8 * width)`,
    /// where `covered` counts distinct columns in which the line's band holds ink and `first` and
    /// `last` are the outermost of them. Those columns hold ink, so `covered` is at most the number
    /// of columns holding ink and `first...last` lies within the ink's own columns. A mask with
    /// ink in fewer than half its columns, or spanning fewer than `Int(0.8 * width)` of them, gets
    /// nothing removed and comes back as it went in (`sparse`). The vertical pass is the same
    /// on the transposed mask, whose columns are the rows. A digit drawn on the try page's pad or
    /// a 28 x 28 upload (20 x 20 of MNIST's box, 71% of each side) skips both passes, which took
    /// about a fifth of the mnist pipeline's time on such images.
    /// `skipSparse: false` runs both passes whatever the mask (the tests compare the two).
    static func remove(from mask: inout [Bool], width: Int, height: Int, skipSparse: Bool = true) -> [Line] {
        var lines = skipSparse && sparse(mask, width: width, height: height, vertical: false) ? []
            : removeHorizontal(from: &mask, width: width, height: height)
        if skipSparse && sparse(mask, width: width, height: height, vertical: true) { return lines }
        var transposed = [Bool](repeating: false, count: mask.count)
        for y in 0..<height { for x in 0..<width { transposed[x * height + y] = mask[y * width + x] } }
        var vertical = removeHorizontal(from: &transposed, width: height, height: width)
        for i in vertical.indices {
            vertical[i].vertical = true
            vertical[i].pixels = vertical[i].pixels.map { p in (p % height) * width + p / height }
        }
        for y in 0..<height { for x in 0..<width { mask[y * width + x] = transposed[x * height + y] } }
        lines += vertical
        return lines
    }

    /// Whether the ink of `mask` lies in fewer than half of its columns (`vertical`: rows), or
    /// spans fewer than `Int(0.8 * width)` of them (`height` for rows): then no line can be
    /// removed in that direction (see `remove`).
    static func sparse(_ mask: [Bool], width: Int, height: Int, vertical: Bool) -> Bool {
        let (across, along) = vertical ? (height, width) : (width, height)
        var columns = 0, first = across, last = -1
        mask.withUnsafeBufferPointer { m in
            for a in 0..<across {
                var inked = false
                for b in 0..<along where m[vertical ? a * width + b : b * width + a] { inked = true; break }
                if inked { columns += 1; first = min(first, a); last = max(last, a) }
            }
        }
        return columns < across / 2 || last - first + 1 < Int(0.8 * Double(across))
    }

    static func removeHorizontal(from mask: inout [Bool], width: Int, height: Int) -> [Line] {
        var ink: [(x: Int, y: Int)] = []
        for y in 0..<height { for x in 0..<width where mask[y * width + x] { ink.append((x, y)) } }
        guard width >= 40, ink.count >= width / 2 else { return [] }
        let slopes = stride(from: -20.0, through: 20.0, by: 0.5).map { tan($0 * .pi / 180) }
        let shift = Int((Double(width) * tan(20 * Double.pi / 180)).rounded(.up)) + 1
        let bins = height + 2 * shift
        var best: (slope: Double, counts: [Int], peak: Int) = (0, [], -1)
        for slope in slopes {
            var counts = [Int](repeating: 0, count: bins)
            for p in ink { counts[Int((Double(p.y) - Double(p.x) * slope).rounded()) + shift] += 1 }
            let peak = counts.max()!
            if peak > best.peak { best = (slope, counts, peak) }
        }
        let threshold = width / 2
        guard best.peak >= threshold else { return [] }
        let thickest = max(4, Int(0.025 * Double(max(width, height))))
        var lines: [Line] = []
        var b = 0
        let counts = best.counts
        while b < bins {
            guard counts[b] >= threshold else { b += 1; continue }
            // The band: the run of offsets above the threshold, then its neighbours holding at least
            // half the band's peak count (a stroke lying along the line adds less than that).
            var lo = b, hi = b
            while hi + 1 < bins && counts[hi + 1] >= threshold { hi += 1 }
            let edge = max(threshold / 3, counts[lo...hi].max()! / 2)
            while lo - 1 >= 0 && counts[lo - 1] >= edge { lo -= 1 }
            while hi + 1 < bins && counts[hi + 1] >= edge { hi += 1 }
            b = hi + 1
            let thickness = hi - lo + 1
            guard thickness <= thickest else { continue }
            var removed: [Int] = []
            var covered = 0, first = width, last = -1
            for x in 0..<width {
                let yTop = Int((Double(lo - shift) + Double(x) * best.slope).rounded())
                let yBottom = Int((Double(hi - shift) + Double(x) * best.slope).rounded())
                let ya = max(0, yTop), yb = min(height - 1, yBottom)
                guard ya <= yb else { continue }
                var any = -1
                for y in ya...yb where mask[y * width + x] { any = y; break }
                guard any >= 0 else { continue }
                covered += 1
                first = min(first, x)
                last = max(last, x)
                var y0 = any, y1 = any
                while y0 - 1 >= 0 && mask[(y0 - 1) * width + x] { y0 -= 1 }
                while y1 + 1 < height && mask[(y1 + 1) * width + x] { y1 += 1 }
                if y1 - y0 + 1 <= 2 * thickness + 2 {
                    for y in y0...y1 { removed.append(y * width + x) }
                }
            }
            guard covered >= threshold, last - first + 1 >= Int(0.8 * Double(width)) else { continue }
            for p in removed { mask[p] = false }
            lines.append(Line(pixels: removed, start: first, end: last, vertical: false))
        }
        return lines
    }
}
