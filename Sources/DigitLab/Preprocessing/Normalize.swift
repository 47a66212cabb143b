import Foundation

/// How raw pixel bytes become the network's float input.
public enum Normalization: String, Sendable, CaseIterable, Codable {
    /// `tf.keras.utils.normalize(x, axis=1)` on an `N × 28 × 28` stack, as the paper does: each
    /// column of each image divided by its L2 norm (a column of zeros is left as zeros).
    case kerasNormalize = "keras-normalize"
    /// `x / 255`, the usual scaling to [0, 1].
    case scale = "scale"

    /// Writes image `index` of `set` into `out` (`height × width` floats).
    ///
    /// The column norms are recomputed per image rather than stored, which keeps the training set
    /// in memory as bytes (47 MB instead of 188 MB of floats). The norm is summed in float32 and
    /// the pixel divided by it, as NumPy does for the paper's float32 array.
    public func apply(_ set: LabeledImages, index: Int, into out: UnsafeMutablePointer<Float>) {
        let (h, w) = (set.height, set.width)
        set.images.withUnsafeBufferPointer { all in
            let px = all.baseAddress! + index * h * w
            switch self {
            case .scale:
                for i in 0..<h * w { out[i] = Float(px[i]) / 255 }
            case .kerasNormalize:
                for j in 0..<w {
                    var sum: Float = 0
                    for i in 0..<h { let v = Float(px[i * w + j]); sum += v * v }
                    let norm = sum == 0 ? 1 : sum.squareRoot()
                    for i in 0..<h { out[i * w + j] = Float(px[i * w + j]) / norm }
                }
            }
        }
    }

    /// The whole set as floats, `count × height × width`.
    public func apply(_ set: LabeledImages) -> [Float] {
        var out = [Float](repeating: 0, count: set.count * set.pixelsPerImage)
        out.withUnsafeMutableBufferPointer { buffer in
            for n in 0..<set.count { apply(set, index: n, into: buffer.baseAddress! + n * set.pixelsPerImage) }
        }
        return out
    }
}
