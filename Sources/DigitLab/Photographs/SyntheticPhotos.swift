import DigitLabEngine
import Foundation

/// Photographs of handwritten digits made from MNIST's own, to measure how the preprocessing
/// pipelines cope with what users photograph: each digit is enlarged 4-8 times, slightly rotated,
/// placed off-centre on light or dark, plain or tinted paper under uneven light with sensor noise;
/// some are redrawn with a thin pen (skeleton plus a pixel or so, wide parts kept wider), some get
/// ruled lines, some are grey.
/// Deterministic in (seed, index).
public enum SyntheticPhotos {
    public struct Photo: Sendable {
        public var image: RasterImage
        public var label: Int
        /// What was done, e.g. "light colour thin ruled rot=-7 scale=5.2".
        public var traits: String
        /// Whether the caller should save it as JPEG (half of them) rather than PNG.
        public var jpeg: Bool
    }

    /// Choices to force rather than draw; nil leaves a choice to chance.
    public struct Style: Sendable {
        public var dark: Bool?
        public var grey: Bool?
        public var thin: Bool?
        public var ruled: Bool?
        public init(dark: Bool? = nil, grey: Bool? = nil, thin: Bool? = nil, ruled: Bool? = nil) {
            self.dark = dark
            self.grey = grey
            self.thin = thin
            self.ruled = ruled
        }
    }

    /// Photograph `index` made from image `source` of `set`.
    public static func make(from set: LabeledImages, source: Int, index: Int, seed: UInt64 = 0, style: Style = Style()) -> Photo {
        var rng = Xoshiro256(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15, stream: 17)
        let start = source * set.pixelsPerImage
        let digit = Plane(width: set.width, height: set.height,
                          values: set.images[start..<start + set.pixelsPerImage].map { Float($0) / 255 })
        let scale = Double(rng.uniform(4, 8))
        let size = Int((Double(set.width) * scale).rounded())
        var coverage = digit.resizedBilinear(width: size, height: size)
        let thin = style.thin ?? (rng.below(3) == 0)
        if thin { coverage = thinPen(coverage, radius: Double(rng.uniform(0.7, 1.6))) }
        let dark = style.dark ?? (rng.below(10) < 3)
        let grey = style.grey ?? (rng.below(10) < 3)
        let ruled = style.ruled ?? (!dark && rng.below(4) == 0)
        let angle = Double(rng.uniform(-15, 15)) * .pi / 180
        let width = Int(Double(size) * Double(rng.uniform(1.4, 2.6))), height = Int(Double(size) * Double(rng.uniform(1.4, 2.6)))
        // The digit's centre, anywhere that keeps the (rotated) digit inside the picture.
        let reach = Double(size) * 0.5 * (abs(cos(angle)) + abs(sin(angle)))
        let cx = Double(rng.uniform(Float(reach), Float(max(reach, Double(width) - reach))))
        let cy = Double(rng.uniform(Float(reach), Float(max(reach, Double(height) - reach))))

        let (paper, ink) = colours(dark: dark, grey: grey, rng: &rng)
        let lightingDepth = Double(rng.uniform(0, 0.4)), lightingAngle = Double(rng.uniform(0, 2 * .pi))
        let noise = Double(rng.uniform(2, 14))
        let lineSpacing = Double(size) * Double(rng.uniform(0.45, 0.8)), lineOffset = Double(rng.uniform(0, 1))
        let lineWidth = Double(rng.uniform(1, 2.5)), lineColour = [150.0, 175, 225]

        let channels = grey ? 1 : 3
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let (c, s) = (cos(angle), sin(angle))
        let half = Double(size) / 2
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                // Into the digit's frame (rotated with the page).
                let u = c * dx + s * dy + half - 0.5, v = -s * dx + c * dy + half - 0.5
                let a = Double(sample(coverage, u, v))
                var colour = paper
                if ruled {
                    let d = (v / lineSpacing + lineOffset).truncatingRemainder(dividingBy: 1)
                    let distance = min(abs(d), 1 - abs(d)) * lineSpacing
                    let line = max(0, min(1, lineWidth / 2 + 0.5 - distance))
                    if line > 0 { colour = zip(colour, lineColour).map { $0 + ($1 - $0) * 0.8 * line } }
                }
                colour = zip(colour, ink).map { $0 + ($1 - $0) * a }
                let along = (Double(x) / Double(width) - 0.5) * cos(lightingAngle) + (Double(y) / Double(height) - 0.5) * sin(lightingAngle)
                let light = 1 - lightingDepth * (along + 0.5)
                for k in 0..<channels {
                    let value = colour[grey ? 1 : k] * light + noise * gaussian(&rng)
                    pixels[(y * width + x) * channels + k] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        var traits = [dark ? "dark" : "light", grey ? "grey" : "colour"]
        if thin { traits.append("thin") }
        if ruled { traits.append("ruled") }
        traits.append("rot=\(Int((angle * 180 / .pi).rounded()))")
        traits.append("scale=\(fixed(scale, 1))")
        return Photo(image: RasterImage(width: width, height: height, channels: channels, pixels: pixels),
                     label: Int(set.labels[source]), traits: traits.joined(separator: " "), jpeg: rng.below(2) == 0)
    }

    /// A thin pen's drawing of `coverage`: the skeleton grown by `radius`, together with the
    /// drawing eroded by as much as makes a typical stroke that thin, so that parts much wider than
    /// the strokes (a loop drawn filled, a blot) stay wider instead of thinning to a line.
    static func thinPen(_ coverage: Plane, radius: Double) -> Plane {
        let w = coverage.width, h = coverage.height
        let mask = coverage.values.map { $0 >= 0.5 }
        var drawn = StrokeWidth.dilate(thinned(mask, width: w, height: h), width: w, height: h, radius: radius)
        let erosion = max(0, (StrokeWidth.measure(mask, width: w, height: h) ?? 1) / 2 - radius)
        let inside = DistanceTransform.squared(mask.map { !$0 }, width: w, height: h)
        for i in drawn.indices where inside[i] > Float(erosion * erosion) { drawn[i] = true }
        return MNISTPipeline.binomialBlur(Plane(width: w, height: h, values: drawn.map { $0 ? 1 : 0 }))
    }

    /// Paper and ink colours (RGB, 0-255) that differ by at least 90 grey levels: dark paper with
    /// light ink or the reverse, grey when `grey`.
    static func colours(dark: Bool, grey: Bool, rng: inout Xoshiro256) -> (paper: [Double], ink: [Double]) {
        var paper: [Double], ink: [Double]
        repeat {
            if dark {
                paper = (0..<3).map { _ in Double(rng.uniform(0, 90)) }
                ink = (0..<3).map { _ in Double(rng.uniform(170, 255)) }
            } else {
                paper = (0..<3).map { _ in Double(rng.uniform(165, 255)) }
                ink = (0..<3).map { _ in Double(rng.uniform(0, 110)) }
            }
            if grey { paper = Array(repeating: paper[1], count: 3); ink = Array(repeating: ink[1], count: 3) }
        } while abs(luma(paper) - luma(ink)) < 90
        return (paper, ink)
    }

    private static func luma(_ c: [Double]) -> Double { 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] }

    /// Bilinear sample of `p` at (x, y); 0 outside.
    static func sample(_ p: Plane, _ x: Double, _ y: Double) -> Float {
        guard x > -1, y > -1, x < Double(p.width), y < Double(p.height) else { return 0 }
        let x0 = Int(floor(x)), y0 = Int(floor(y))
        let tx = Float(x - Double(x0)), ty = Float(y - Double(y0))
        func at(_ xx: Int, _ yy: Int) -> Float { xx < 0 || yy < 0 || xx >= p.width || yy >= p.height ? 0 : p[xx, yy] }
        return (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) + (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty
    }

    /// A standard normal draw (Box-Muller).
    static func gaussian(_ rng: inout Xoshiro256) -> Double {
        let u1 = max(rng.nextUnitDouble(), 1e-12), u2 = rng.nextUnitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Zhang and Suen's thinning: the one-pixel-wide skeleton of a binary drawing.
    static func thinned(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        var m = mask
        func at(_ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height && m[y * width + x] }
        var changed = true
        while changed {
            changed = false
            for pass in 0..<2 {
                var remove: [Int] = []
                for y in 0..<height {
                    for x in 0..<width where m[y * width + x] {
                        // Neighbours p2..p9 clockwise from north.
                        let p = [at(x, y - 1), at(x + 1, y - 1), at(x + 1, y), at(x + 1, y + 1),
                                 at(x, y + 1), at(x - 1, y + 1), at(x - 1, y), at(x - 1, y - 1)]
                        let b = p.filter { $0 }.count
                        guard b >= 2 && b <= 6 else { continue }
                        var a = 0
                        for i in 0..<8 where !p[i] && p[(i + 1) % 8] { a += 1 }
                        guard a == 1 else { continue }
                        if pass == 0 {
                            guard !(p[0] && p[2] && p[4]), !(p[2] && p[4] && p[6]) else { continue }
                        } else {
                            guard !(p[0] && p[2] && p[6]), !(p[0] && p[4] && p[6]) else { continue }
                        }
                        remove.append(y * width + x)
                    }
                }
                for i in remove { m[i] = false }
                if !remove.isEmpty { changed = true }
            }
        }
        return m
    }
}
