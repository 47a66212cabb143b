import Foundation

/// The geometric part of Keras's `ImageDataGenerator`: `apply_affine_transform` with a rotation
/// `theta` (degrees) and shifts `tx`, `ty` (pixels), about the image centre, bilinear (order 1),
/// with `fill_mode="nearest"` (coordinates outside the image take the nearest edge pixel).
///
/// Keras builds the matrix in (row, column) coordinates, offsets it to the centre
/// `((h-1)/2, (w-1)/2)`, then swaps the two axes (its `M' = PMP`) before handing it to
/// `scipy.ndimage.affine_transform`, which maps each output pixel to the input position it is
/// sampled from. Computed in double precision, as NumPy and SciPy do.
public struct AffineTransform: Sendable, Equatable {
    public var theta: Double
    public var tx: Double
    public var ty: Double

    public init(theta: Double = 0, tx: Double = 0, ty: Double = 0) {
        self.theta = theta; self.tx = tx; self.ty = ty
    }

    public var isIdentity: Bool { theta == 0 && tx == 0 && ty == 0 }

    /// Transforms one single-channel `height × width` image from `src` into `dst`.
    public func apply(_ src: UnsafePointer<Float>, height h: Int, width w: Int, into dst: UnsafeMutablePointer<Float>) {
        if isIdentity { dst.update(from: src, count: h * w); return }
        // Keras: M = R · T in (x = row, y = column), centred; then swapped to M' = P M P.
        let t = theta * .pi / 180
        let (c, s) = (cos(t), sin(t))
        // R·T = [[c, -s, c·tx - s·ty], [s, c, s·tx + c·ty]]
        let m00 = c, m01 = -s, m02 = c * tx - s * ty
        let m10 = s, m11 = c, m12 = s * tx + c * ty
        let ox = Double(h) / 2 - 0.5, oy = Double(w) / 2 - 0.5
        // Centre: offset · M · reset, whose translation is o + M₀₂ - (M·o).
        let cx = ox + m02 - (m00 * ox + m01 * oy)
        let cy = oy + m12 - (m10 * ox + m11 * oy)
        // Swap the axes: M' = P M P, so the first output coordinate (row) uses M's second row.
        let a00 = m11, a01 = m10, a10 = m01, a11 = m00
        let b0 = cy, b1 = cx
        for i in 0..<h {
            for j in 0..<w {
                let r = a00 * Double(i) + a01 * Double(j) + b0
                let q = a10 * Double(i) + a11 * Double(j) + b1
                dst[i * w + j] = Float(bilinearNearest(src, h, w, r, q))
            }
        }
    }
}

/// Bilinear sample at (row r, column q); neighbours beyond the edge take the edge pixel.
@inline(__always)
private func bilinearNearest(_ src: UnsafePointer<Float>, _ h: Int, _ w: Int, _ r: Double, _ q: Double) -> Double {
    let r0 = r.rounded(.down), q0 = q.rounded(.down)
    let fr = r - r0, fq = q - q0
    let i0 = Int(r0), j0 = Int(q0)
    let ia = min(max(i0, 0), h - 1), ib = min(max(i0 + 1, 0), h - 1)
    let ja = min(max(j0, 0), w - 1), jb = min(max(j0 + 1, 0), w - 1)
    let v00 = Double(src[ia * w + ja]), v01 = Double(src[ia * w + jb])
    let v10 = Double(src[ib * w + ja]), v11 = Double(src[ib * w + jb])
    return (1 - fr) * ((1 - fq) * v00 + fq * v01) + fr * ((1 - fq) * v10 + fq * v11)
}
