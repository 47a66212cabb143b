/// How strongly each pixel of a photograph departs from its paper, with the ink made positive.
///
/// 1. Background: the photograph is cut into a grid of cells, and a quadratic surface is fitted to
///    the cells' paper side by least squares, refitting without the cells it fits worst until the
///    set settles. A smooth surface follows uneven lighting (a gradient, a vignette, a shadow's
///    soft edge) but not strokes, which cover too few cells to pull it.
/// 2. Colour: the departure from the background is a vector in RGB; its principal direction over
///    the image (the ink's colour against the paper's) turns it into one number per pixel, so blue
///    ink on yellow paper stands out even where its luma barely differs.
/// 3. Polarity, decided in the paper's spirit (the paper is what most of the picture is) but on
///    the flattened image: the background is fitted once for dark ink and once for light ink; the
///    reading that leaves clearly more of the picture flat paper wins, else the one with more ink
///    on its side beyond three noise deviations, unless it calls most of the picture's frame ink
///    while the other does not. The signal is flipped so that ink is positive.
struct InkSignal {
    /// Ink strength per pixel: about 0 on paper, positive on ink.
    var plane: Plane
    /// The noise's robust standard deviation in `plane`'s units.
    var noise: Float
    /// True when the ink is darker than its background (dark pen on light paper).
    var inkIsDark: Bool

    init(channels: [Plane]) {
        let width = channels[0].width, height = channels[0].height, n = width * height
        let luma: [Float] = channels.count == 3 ? [0.299, 0.587, 0.114] : [1]
        // Fit the paper twice: supposing dark ink (the paper is the bright side of each cell), and
        // supposing light ink. Under the right supposition the paper is flat and the ink stands
        // out on its own side; under the wrong one the fit is dragged towards the ink.
        var readings: [Reading] = []
        for dark in [true, false] {
            let backgrounds = InkSignal.fitBackgrounds(channels, inkIsDark: dark)
            var grey = [Float](repeating: 0, count: n)
            for c in channels.indices {
                let w = luma[c]
                channels[c].values.withUnsafeBufferPointer { v in
                    backgrounds[c].values.withUnsafeBufferPointer { b in
                        for i in 0..<n { grey[i] += w * (v[i] - b[i]) }
                    }
                }
            }
            readings.append(Reading(grey, width: width, height: height, inkIsDark: dark, backgrounds: backgrounds))
        }
        let chosen = Reading.choose(readings[0], readings[1])
        let residuals = channels.indices.map { c in
            Plane(width: width, height: height, values: zip(channels[c].values, chosen.backgrounds[c].values).map { $0 - $1 })
        }
        let direction = InkSignal.principalDirection(residuals)
        var projected = [Float](repeating: 0, count: n)
        for c in residuals.indices {
            let weight = direction[c]
            residuals[c].values.withUnsafeBufferPointer { r in
                for i in 0..<n { projected[i] += weight * r[i] }
            }
        }
        // Orient the projection so that ink is positive: by the ink direction's luma when it has
        // some, else (ink differing from the paper in hue only) by the heavier tail.
        let sigma = InkSignal.noise(projected, width: width)
        let lumaOfDirection = zip(direction, luma).reduce(0) { $0 + $1.0 * $1.1 }
        var sign: Float
        if abs(lumaOfDirection) > 0.2 {
            sign = (lumaOfDirection < 0) == chosen.inkIsDark ? 1 : -1
        } else {
            let up = projected.reduce(0.0) { $0 + Double(max(0, $1 - 3 * sigma)) }
            let down = projected.reduce(0.0) { $0 + Double(max(0, -$1 - 3 * sigma)) }
            sign = up >= down ? 1 : -1
        }
        // The paper's level: the median of the pixels near the fitted background.
        let level = Plane.percentile(projected.filter { abs($0) <= 3 * sigma }, 0.5)
        plane = Plane(width: width, height: height, values: projected.map { sign * ($0 - level) })
        noise = sigma
        inkIsDark = chosen.inkIsDark
    }

    /// One supposition about the ink's polarity, judged on the flattened luma.
    struct Reading {
        var inkIsDark: Bool
        var backgrounds: [Plane]
        /// Pixels within three noise deviations of the fitted paper.
        var paper: Double
        /// Excess beyond three deviations on the ink's side, minus that on the other side.
        var ink: Double
        /// The share of the image's frame (its outer 3%) that lies on the ink's side.
        var inkOnFrame: Double

        init(_ grey: [Float], width: Int, height: Int, inkIsDark: Bool, backgrounds: [Plane]) {
            self.inkIsDark = inkIsDark
            self.backgrounds = backgrounds
            // Three noise deviations, but at least 4 grey levels: a flawless synthetic picture has
            // no noise, and a misfit of a level or two is still paper.
            let t = max(3 * InkSignal.noise(grey, width: width), 4)
            var flat = 0, inkward = 0.0, opposite = 0.0
            for v in grey {
                let d = inkIsDark ? -v : v
                if abs(d) <= t { flat += 1 } else if d > t { inkward += Double(d - t) } else { opposite += Double(-d - t) }
            }
            paper = Double(flat) / Double(grey.count)
            ink = inkward - opposite
            let frame = max(1, max(width, height) * 3 / 100)
            var onFrame = 0, framePixels = 0
            for y in 0..<height {
                for x in 0..<width where x < frame || y < frame || x >= width - frame || y >= height - frame {
                    framePixels += 1
                    if (inkIsDark ? -grey[y * width + x] : grey[y * width + x]) > t { onFrame += 1 }
                }
            }
            inkOnFrame = Double(onFrame) / Double(framePixels)
        }

        /// The reading that leaves clearly more of the image flat paper; if both do about as well,
        /// the one with more ink on its side. Either way, not one that makes most of the frame ink
        /// while the other leaves it clear: paper surrounds a digit.
        static func choose(_ a: Reading, _ b: Reading) -> Reading {
            var chosen: Reading
            if abs(a.paper - b.paper) > 0.15 { chosen = a.paper > b.paper ? a : b } else { chosen = a.ink >= b.ink ? a : b }
            let other = chosen.inkIsDark == a.inkIsDark ? b : a
            if chosen.inkOnFrame >= 0.5 && other.inkOnFrame <= 0.2 { chosen = other }
            return chosen
        }
    }

    /// The noise's standard deviation, from the differences between horizontal neighbours (strokes
    /// and lighting change slowly from one pixel to the next, noise does not), robustly.
    static func noise(_ values: [Float], width: Int) -> Float {
        let stride = max(1, values.count / 200_000)
        var differences: [Float] = []
        differences.reserveCapacity(values.count / stride)
        var i = 0
        while i + 1 < values.count {
            if (i + 1) % width != 0 { differences.append(abs(values[i + 1] - values[i])) }
            i += stride
        }
        return max(0.5, 1.4826 * Plane.percentile(differences, 0.5) / Float(2).squareRoot())
    }

    /// The smooth background of each channel: a quadratic surface fitted to the cells' paper side
    /// (their 80th percentile for dark ink, 20th for light ink): starting from a flat paper at that
    /// quantile over all cells, refitted without the cells that lie more than 2.5 robust deviations
    /// towards the ink (or 7.5 away from it) until the set settles.
    static func fitBackgrounds(_ channels: [Plane], inkIsDark: Bool) -> [Plane] {
        let width = channels[0].width, height = channels[0].height
        let cell = max(2, (max(width, height) + 23) / 24)
        let nx = (width + cell - 1) / cell, ny = (height + cell - 1) / cell
        let quantile = inkIsDark ? 0.8 : 0.2
        var points: [(u: Double, v: Double)] = []
        var levels: [[Double]] = Array(repeating: [], count: channels.count)
        var buffer: [Float] = []
        for gy in 0..<ny {
            for gx in 0..<nx {
                let x0 = gx * cell, x1 = min(width, x0 + cell), y0 = gy * cell, y1 = min(height, y0 + cell)
                guard (x1 - x0) * (y1 - y0) >= max(1, cell * cell / 4) else { continue }
                points.append((2 * (Double(x0 + x1) / 2) / Double(width) - 1, 2 * (Double(y0 + y1) / 2) / Double(height) - 1))
                for c in channels.indices {
                    buffer.removeAll(keepingCapacity: true)
                    for y in y0..<y1 { for x in x0..<x1 { buffer.append(channels[c].values[y * width + x]) } }
                    // The cell's quantile by selection, not a full sort: the same value.
                    let k = Int(Double(buffer.count - 1) * quantile)
                    levels[c].append(Double(buffer.withUnsafeMutableBufferPointer { Plane.select($0, k) }))
                }
            }
        }
        func basis(_ u: Double, _ v: Double) -> [Double] { [1, u, v, u * u, u * v, v * v] }
        let terms = 6
        func flat(_ m: [Double]) -> [Double] { [m.sorted()[Int(Double(m.count - 1) * quantile)], 0, 0, 0, 0, 0] }
        // Start from a flat paper at the cells' paper-side quantile, so that the first inliers are
        // chosen against the paper, not against a surface already pulled towards the ink.
        var coefficients: [[Double]] = levels.map(flat)
        if points.count >= 3 * terms {
            var inlier: [Bool] = []
            for _ in 0..<12 {
                // Residuals towards the ink (darker for dark ink) and away from it, worst channel.
                var towards = [Double](repeating: 0, count: points.count), away = towards
                for i in points.indices {
                    let b = basis(points[i].u, points[i].v)
                    for c in levels.indices {
                        let r = levels[c][i] - zip(b, coefficients[c]).reduce(0) { $0 + $1.0 * $1.1 }
                        let inkward = inkIsDark ? -r : r
                        towards[i] = max(towards[i], inkward)
                        away[i] = max(away[i], -inkward)
                    }
                }
                let spread = zip(towards, away).map { max($0, $1) }.sorted()
                let limit = max(2.5 * 1.4826 * spread[spread.count / 2], 2)
                let next = points.indices.map { towards[$0] <= limit && away[$0] <= 3 * limit }
                if next == inlier || next.filter({ $0 }).count < 2 * terms { break }
                inlier = next
                let rows = points.indices.filter { inlier[$0] }
                coefficients = levels.map { m in
                    leastSquares(rows.map { basis(points[$0].u, points[$0].v) }, rows.map { m[$0] }) ?? flat(m)
                }
            }
        }
        return coefficients.map { k in
            var values = [Float](repeating: 0, count: width * height)
            for y in 0..<height {
                let v = 2 * (Double(y) + 0.5) / Double(height) - 1
                for x in 0..<width {
                    let u = 2 * (Double(x) + 0.5) / Double(width) - 1
                    values[y * width + x] = Float(k[0] + k[1] * u + k[2] * v + k[3] * u * u + k[4] * u * v + k[5] * v * v)
                }
            }
            return Plane(width: width, height: height, values: values)
        }
    }

    /// Least squares by the normal equations (with a whisper of ridge), solved by Gaussian
    /// elimination with partial pivoting; nil if singular.
    static func leastSquares(_ rows: [[Double]], _ targets: [Double]) -> [Double]? {
        guard let m = rows.first?.count else { return nil }
        var a = [[Double]](repeating: [Double](repeating: 0, count: m + 1), count: m)
        for (row, t) in zip(rows, targets) {
            for i in 0..<m {
                for j in 0..<m { a[i][j] += row[i] * row[j] }
                a[i][m] += row[i] * t
            }
        }
        for i in 0..<m { a[i][i] += 1e-9 * Double(rows.count) }
        for col in 0..<m {
            let pivot = (col..<m).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            guard abs(a[pivot][col]) > 1e-12 else { return nil }
            a.swapAt(col, pivot)
            for r in 0..<m where r != col {
                let f = a[r][col] / a[col][col]
                if f != 0 { for c in col...m { a[r][c] -= f * a[col][c] } }
            }
        }
        return (0..<m).map { a[$0][m] / a[$0][$0] }
    }

    /// The unit direction along which the residual colour vectors vary most (power iteration on
    /// their covariance), starting from grey so that a grey image keeps (1, 1, 1)/sqrt(3).
    static func principalDirection(_ residuals: [Plane]) -> [Float] {
        let k = residuals.count
        guard k > 1 else { return [1] }
        let n = residuals[0].values.count, stride = max(1, n / 200_000)
        var cov = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        var i = 0
        while i < n {
            for a in 0..<k { for b in 0..<k { cov[a][b] += Double(residuals[a].values[i]) * Double(residuals[b].values[i]) } }
            i += stride
        }
        var d = [Double](repeating: 1 / Double(k).squareRoot(), count: k)
        for _ in 0..<50 {
            var next = (0..<k).map { a in (0..<k).reduce(0.0) { $0 + cov[a][$1] * d[$1] } }
            let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0 else { break }
            next = next.map { $0 / norm }
            d = next
        }
        return d.map { Float($0) }
    }
}
