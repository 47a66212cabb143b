import DigitLabEngine
import Foundation

/// Photographs of numbers of 2 to 6 digits made from MNIST's test digits, with known labels, to
/// measure `NumberReader`: each digit is cut to its ink and enlarged 3-6 times (each by its own
/// 0.88-1.12 on top), set on a jittered baseline with jittered gaps, and the row turned by up to
/// 3 degrees, on light or dark, tinted or grey paper under uneven light with noise; a quarter are
/// redrawn with a thin pen. In a third of the numbers one pair of neighbours (two in numbers of
/// five digits or more) touch: the right digit is moved left until its ink overlaps its
/// neighbour's by 1-4 pixels in some row. Deterministic in (seed, index).
public enum SyntheticNumbers {
    public struct Photo: Sendable {
        public var image: RasterImage
        /// The digits, left to right.
        public var label: String
        /// The MNIST test images the digits are, in order.
        public var sources: [Int]
        /// How many pairs of neighbouring digits were made to touch.
        public var touchingPairs: Int
        /// What was done, e.g. "light colour thin rot=2 scale=4.1".
        public var traits: String
        /// Whether the caller should save it as JPEG (half of them) rather than PNG.
        public var jpeg: Bool
    }

    /// Number photograph `index`: its digits drawn from `set` (MNIST's test set) by the seed.
    public static func make(from set: LabeledImages, index: Int, seed: UInt64 = 0) -> Photo {
        var rng = Xoshiro256(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15, stream: 29)
        let count = 2 + rng.below(5)
        let sources = (0..<count).map { _ in rng.below(set.count) }
        let scale = Double(rng.uniform(3, 6))
        let touching = rng.below(3) == 0
        var touchAt = Set<Int>()
        if touching {
            touchAt.insert(rng.below(count - 1))
            if count >= 5 { touchAt.insert(rng.below(count - 1)) }
        }
        // Each digit cut to its ink and enlarged.
        let digits = sources.map { source -> Plane in
            let start = source * set.pixelsPerImage
            let pixels = set.images[start..<start + set.pixelsPerImage]
            var minX = set.width, minY = set.height, maxX = 0, maxY = 0
            for y in 0..<set.height {
                for x in 0..<set.width where pixels[start + y * set.width + x] > 0 {
                    minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                }
            }
            let w = maxX - minX + 1, h = maxY - minY + 1
            var values = [Float](repeating: 0, count: w * h)
            for y in 0..<h { for x in 0..<w { values[y * w + x] = Float(pixels[start + (y + minY) * set.width + x + minX]) / 255 } }
            let own = scale * Double(rng.uniform(0.88, 1.12))
            return Plane(width: w, height: h, values: values)
                .resizedBilinear(width: max(1, Int((Double(w) * own).rounded())), height: max(1, Int((Double(h) * own).rounded())))
        }
        let digitHeight = Double(digits.map(\.height).max()!)
        // Positions: left edges and tops on a common canvas, baseline jittered by 6% of the height.
        var lefts: [Int] = [], tops: [Int] = []
        var x = 0
        for (k, d) in digits.enumerated() {
            tops.append(Int(digitHeight - Double(d.height) + digitHeight * Double(rng.uniform(-0.06, 0.06))))
            if k > 0 {
                let gap = Int(digitHeight * Double(rng.uniform(0.08, 0.35)))
                x = lefts[k - 1] + digits[k - 1].width + gap
                if touchAt.contains(k - 1) {
                    // Ink `overlap` pixels deep into its neighbour's in the closest row.
                    let overlap = 1 + rng.below(4)
                    x += 1 - overlap - closest(digits[k - 1], top: tops[k - 1], x: lefts[k - 1], digits[k], top: tops[k], x: x)
                }
            }
            lefts.append(x)
        }
        let minTop = tops.min()!, minLeft = lefts.min()!
        lefts = lefts.map { $0 - minLeft }
        let rowWidth = zip(lefts, digits).map { $0 + $1.width }.max()!
        let rowHeight = zip(tops, digits).map { $0 - minTop + $1.height }.max()!
        var coverage = Plane(width: rowWidth, height: rowHeight)
        for (k, d) in digits.enumerated() {
            for y in 0..<d.height {
                for x in 0..<d.width {
                    let i = (tops[k] - minTop + y) * rowWidth + lefts[k] + x
                    coverage.values[i] = max(coverage.values[i], d[x, y])
                }
            }
        }
        let thin = rng.below(4) == 0
        if thin { coverage = SyntheticPhotos.thinPen(coverage, radius: Double(rng.uniform(0.8, 1.6))) }

        let dark = rng.below(10) < 3, grey = rng.below(10) < 3
        let angle = Double(rng.uniform(-3, 3)) * .pi / 180
        let marginX = Double(rowHeight) * Double(rng.uniform(0.4, 1.2)), marginY = Double(rowHeight) * Double(rng.uniform(0.4, 1.2))
        let width = rowWidth + Int(2 * marginX), height = rowHeight + Int(2 * marginY) + Int(abs(sin(angle)) * Double(rowWidth))
        let (paper, ink) = SyntheticPhotos.colours(dark: dark, grey: grey, rng: &rng)
        let lightingDepth = Double(rng.uniform(0, 0.4)), lightingAngle = Double(rng.uniform(0, 2 * .pi))
        let noise = Double(rng.uniform(2, 12))
        let channels = grey ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let (c, s) = (cos(angle), sin(angle))
        let cx = Double(width) / 2, cy = Double(height) / 2
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                let u = c * dx + s * dy + Double(rowWidth) / 2 - 0.5, v = -s * dx + c * dy + Double(rowHeight) / 2 - 0.5
                let a = Double(SyntheticPhotos.sample(coverage, u, v))
                let colour = zip(paper, ink).map { $0 + ($1 - $0) * a }
                let along = (Double(x) / Double(width) - 0.5) * cos(lightingAngle) + (Double(y) / Double(height) - 0.5) * sin(lightingAngle)
                let light = 1 - lightingDepth * (along + 0.5)
                for k in 0..<channels {
                    let value = colour[grey ? 1 : k] * light + noise * SyntheticPhotos.gaussian(&rng)
                    pixels[(y * width + x) * channels + k] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        var traits = [dark ? "dark" : "light", grey ? "grey" : "colour"]
        if thin { traits.append("thin") }
        traits.append("rot=\(Int((angle * 180 / .pi).rounded()))")
        traits.append("scale=\(fixed(scale, 1))")
        return Photo(image: RasterImage(width: width, height: height, channels: channels, pixels: pixels),
                     label: sources.map { String(set.labels[$0]) }.joined(), sources: sources,
                     touchingPairs: touchAt.count, traits: traits.joined(separator: " "), jpeg: rng.below(2) == 0)
    }

    /// The least horizontal distance, over the rows both share, from the ink (coverage at least
    /// 0.5) of digit `a` at (`ax`, `aTop`) to the ink of digit `b` at (`bx`, `bTop`) on its right.
    private static func closest(_ a: Plane, top aTop: Int, x ax: Int, _ b: Plane, top bTop: Int, x bx: Int) -> Int {
        var best = Int.max
        for y in max(aTop, bTop)..<min(aTop + a.height, bTop + b.height) {
            guard let right = (0..<a.width).last(where: { a[$0, y - aTop] >= 0.5 }),
                  let left = (0..<b.width).first(where: { b[$0, y - bTop] >= 0.5 }) else { continue }
            best = min(best, bx + left - (ax + right))
        }
        return best == Int.max ? 0 : best
    }
}
