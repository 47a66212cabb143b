import Foundation

/// Resampling by area averaging with the rules of OpenCV's `cv2.resize(..., interpolation=INTER_AREA)`,
/// which the paper's annexure uses to bring a photograph to 28 x 28.
///
/// Shrinking (both scale factors at least 1): every destination pixel is the average of the source
/// area it covers, source pixels cut by the cell's edge counted by the fraction inside
/// (`computeResizeAreaTab`). Enlarging in either direction: OpenCV falls back to linear
/// interpolation with its "area" coefficients, reproduced here. The 8-bit variant rounds as
/// OpenCV's `saturate_cast` does (to nearest, ties to even; `(sum + 2) >> 2` for exact halving);
/// OpenCV's fixed-point arithmetic in the enlarging path can differ by one grey level.
public enum AreaResize {
    /// One destination pixel's share of one source pixel (OpenCV's `DecimateAlpha`).
    struct Tap {
        let destination: Int
        let source: Int
        let weight: Double
    }

    /// OpenCV's `computeResizeAreaTab` for one axis.
    static func areaTable(source: Int, destination: Int, scale: Double) -> [Tap] {
        var taps: [Tap] = []
        for d in 0..<destination {
            let f1 = Double(d) * scale, f2 = f1 + scale
            let cell = min(scale, Double(source) - f1)
            var s2 = Int(floor(f2))
            s2 = min(s2, source - 1)
            let s1 = min(Int(ceil(f1)), s2)
            if Double(s1) - f1 > 1e-3 { taps.append(Tap(destination: d, source: s1 - 1, weight: (Double(s1) - f1) / cell)) }
            if s1 < s2 { for s in s1..<s2 { taps.append(Tap(destination: d, source: s, weight: 1 / cell)) } }
            if f2 - Double(s2) > 1e-3 {
                taps.append(Tap(destination: d, source: s2, weight: min(min(f2 - Double(s2), 1), cell) / cell))
            }
        }
        return taps
    }

    /// OpenCV's linear taps in area mode (used when enlarging) for one axis: two per destination.
    static func linearTable(source: Int, destination: Int) -> [Tap] {
        let scale = Double(source) / Double(destination), inverse = Double(destination) / Double(source)
        var taps: [Tap] = []
        for d in 0..<destination {
            let s = Int(floor(Double(d) * scale))
            var f = Double(d + 1) - Double(s + 1) * inverse
            f = f <= 0 ? 0 : f - floor(f)
            let s0 = min(max(s, 0), source - 1), s1 = min(max(s + 1, 0), source - 1)
            taps.append(Tap(destination: d, source: s0, weight: 1 - f))
            taps.append(Tap(destination: d, source: s1, weight: f))
        }
        return taps
    }

    /// Resizes one channel of `width x height` floats to `toWidth x toHeight`, unrounded.
    public static func resize(_ source: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [Float] {
        precondition(source.count == width * height && toWidth > 0 && toHeight > 0)
        let shrinking = width >= toWidth && height >= toHeight
        let tx = shrinking ? areaTable(source: width, destination: toWidth, scale: Double(width) / Double(toWidth))
            : linearTable(source: width, destination: toWidth)
        let ty = shrinking ? areaTable(source: height, destination: toHeight, scale: Double(height) / Double(toHeight))
            : linearTable(source: height, destination: toHeight)
        // Horizontally for every source row, then vertically.
        var rows = [Double](repeating: 0, count: height * toWidth)
        source.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let row = y * width, out = y * toWidth
                for t in tx { rows[out + t.destination] += t.weight * Double(src[row + t.source]) }
            }
        }
        var out = [Double](repeating: 0, count: toHeight * toWidth)
        for t in ty {
            let o = t.destination * toWidth, r = t.source * toWidth
            for x in 0..<toWidth { out[o + x] += t.weight * rows[r + x] }
        }
        return out.map { Float($0) }
    }

    /// Resizes an 8-bit channel, rounded as OpenCV rounds.
    public static func resize(bytes source: [UInt8], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [UInt8] {
        let sx = Double(width) / Double(toWidth), sy = Double(height) / Double(toHeight)
        if sx == 2 && sy == 2 {
            // OpenCV's fast path for exact halving rounds halves up.
            var out = [UInt8](repeating: 0, count: toWidth * toHeight)
            for y in 0..<toHeight {
                for x in 0..<toWidth {
                    let a = Int(source[2 * y * width + 2 * x]) + Int(source[2 * y * width + 2 * x + 1])
                    let b = Int(source[(2 * y + 1) * width + 2 * x]) + Int(source[(2 * y + 1) * width + 2 * x + 1])
                    out[y * toWidth + x] = UInt8((a + b + 2) >> 2)
                }
            }
            return out
        }
        let values = resize(source.map { Float($0) }, width: width, height: height, toWidth: toWidth, toHeight: toHeight)
        return values.map { UInt8(max(0, min(255, $0.rounded(.toNearestOrEven)))) }
    }
}
