/// One image's random transform as Keras's `ImageDataGenerator.apply_transform` applies it: the
/// affine part (rotation, shifts) first, then the flips. A horizontal flip reverses the columns
/// (`flip_axis(x, col_axis)`, left becomes right), a vertical flip reverses the rows.
public struct ImageTransform: Sendable, Equatable {
    public var affine: AffineTransform
    public var flipHorizontal: Bool
    public var flipVertical: Bool

    public init(affine: AffineTransform = AffineTransform(), flipHorizontal: Bool = false, flipVertical: Bool = false) {
        self.affine = affine
        self.flipHorizontal = flipHorizontal
        self.flipVertical = flipVertical
    }

    public var isIdentity: Bool { affine.isIdentity && !flipHorizontal && !flipVertical }

    /// Transforms one single-channel `height × width` image from `src` into `dst` (distinct buffers).
    public func apply(_ src: UnsafePointer<Float>, height h: Int, width w: Int, into dst: UnsafeMutablePointer<Float>) {
        affine.apply(src, height: h, width: w, into: dst)
        if flipHorizontal {
            for i in 0..<h {
                let row = dst + i * w
                for j in 0..<w / 2 { swap(&row[j], &row[w - 1 - j]) }
            }
        }
        if flipVertical {
            for i in 0..<h / 2 {
                let a = dst + i * w, b = dst + (h - 1 - i) * w
                for j in 0..<w { swap(&a[j], &b[j]) }
            }
        }
    }
}
