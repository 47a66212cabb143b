import DigitLabEngine
import Foundation

/// The standardizing options of Keras's `ImageDataGenerator` (the ones its `standardize` applies),
/// as a spec sets them. All off by default, as in the paper's annexure.
///
/// Keras's constructor changes some combinations, and so does `effective`: `zca_whitening` and
/// `featurewise_std_normalization` each turn `featurewise_center` on, and
/// `samplewise_std_normalization` turns `samplewise_center` on. (Keras also turns
/// `featurewise_std_normalization` off under `zca_whitening`; specs reject that combination
/// instead, so a run never silently ignores a key it was given.)
public struct Standardization: Sendable, Equatable {
    public var featurewiseCenter = false
    public var featurewiseStdNormalization = false
    public var samplewiseCenter = false
    public var samplewiseStdNormalization = false
    public var zcaWhitening = false
    /// Added to each singular value in the ZCA matrix (Keras's `zca_epsilon`).
    public var zcaEpsilon = 1e-6

    public init(featurewiseCenter: Bool = false, featurewiseStdNormalization: Bool = false,
                samplewiseCenter: Bool = false, samplewiseStdNormalization: Bool = false,
                zcaWhitening: Bool = false, zcaEpsilon: Double = 1e-6) {
        self.featurewiseCenter = featurewiseCenter
        self.featurewiseStdNormalization = featurewiseStdNormalization
        self.samplewiseCenter = samplewiseCenter
        self.samplewiseStdNormalization = samplewiseStdNormalization
        self.zcaWhitening = zcaWhitening
        self.zcaEpsilon = zcaEpsilon
    }

    /// The options as Keras's `ImageDataGenerator.__init__` leaves them.
    public var effective: Standardization {
        var e = self
        if zcaWhitening {
            e.featurewiseCenter = true
            e.featurewiseStdNormalization = false
        }
        if e.featurewiseStdNormalization { e.featurewiseCenter = true }
        if samplewiseStdNormalization { e.samplewiseCenter = true }
        return e
    }

    public var isEnabled: Bool {
        featurewiseCenter || featurewiseStdNormalization || samplewiseCenter || samplewiseStdNormalization || zcaWhitening
    }

    /// Whether the options need statistics of the training data (`ImageDataGenerator.fit`).
    public var needsFit: Bool { featurewiseCenter || featurewiseStdNormalization || zcaWhitening }

    /// The combination a spec may not hold, and why; nil when the options are consistent.
    public var problem: String? {
        if zcaWhitening && featurewiseStdNormalization {
            return "zca_whitening cannot be combined with featurewise_std_normalization: Keras turns "
                + "featurewise_std_normalization off under zca_whitening (it whitens the centred data only)"
        }
        return nil
    }
}

/// `ImageDataGenerator.standardize` with its fitted statistics: fitted once on the training images
/// after normalization, as `ImageDataGenerator.fit` does, then applied to every training,
/// validation and test image in Keras's order: samplewise center, samplewise std, featurewise
/// center, featurewise std, ZCA whitening.
///
/// Keras fits the featurewise statistics on the normalized images as they are, before any
/// samplewise step (so with both on, the featurewise mean is not that of the samplewise-centred
/// images); so does this. Statistics are accumulated in double precision and kept in float32,
/// and each step is computed in float32, as NumPy does on the float32 array.
public final class Standardizer: Sendable {
    /// The options in force (`Standardization.effective`).
    public let options: Standardization
    /// The mean of every pixel of every training image (one channel, so one value).
    public let mean: Float
    /// The standard deviation of the same pixels, about `mean`.
    public let std: Float
    /// The fitted whitening, when `options.zcaWhitening`.
    public let zca: ZCAWhitening?

    public init(options: Standardization, mean: Float = 0, std: Float = 1, zca: ZCAWhitening? = nil) {
        self.options = options.effective
        self.mean = mean
        self.std = std
        self.zca = zca
        precondition(!self.options.zcaWhitening || zca != nil, "ZCA whitening needs a fitted ZCAWhitening")
    }

    /// Fits the options' statistics on every image of `set` after `normalization`
    /// (`ImageDataGenerator.fit(x)` with `augment=False`).
    public static func fit(_ options: Standardization, on set: LabeledImages, normalization: Normalization) throws -> Standardizer {
        let options = options.effective
        let pixels = set.pixelsPerImage
        guard options.needsFit, set.count > 0 else { return Standardizer(options: options) }
        let image = UnsafeMutablePointer<Float>.allocate(capacity: pixels)
        defer { image.deallocate() }
        // Keras: mean over images and pixels; then x -= mean (float32); std of the centred x.
        var sum = 0.0
        for n in 0..<set.count {
            normalization.apply(set, index: n, into: image)
            var s = 0.0
            for i in 0..<pixels { s += Double(image[i]) }
            sum += s
        }
        let count = Double(set.count * pixels)
        let mean = Float(sum / count)
        var std: Float = 1
        if options.featurewiseStdNormalization {
            var s1 = 0.0, s2 = 0.0
            for n in 0..<set.count {
                normalization.apply(set, index: n, into: image)
                for i in 0..<pixels {
                    let d = Double(image[i] - mean)
                    s1 += d; s2 += d * d
                }
            }
            let m = s1 / count
            std = Float((max(s2 / count - m * m, 0)).squareRoot())
        }
        var zca: ZCAWhitening?
        if options.zcaWhitening {
            zca = try ZCAWhitening.fit(count: set.count, dimension: pixels, epsilon: options.zcaEpsilon) { n, out in
                normalization.apply(set, index: n, into: image)
                for i in 0..<pixels { out[i] = Double(image[i] - mean) }
            }
        }
        return Standardizer(options: options, mean: mean, std: std, zca: zca)
    }

    /// Whether `whiten` has anything to do; the per-image steps are in `standardizeImage`.
    public var whitens: Bool { zca != nil }

    /// The per-image steps of `standardize`, in place: samplewise center and std, featurewise
    /// center and std. ZCA whitening, which mixes pixels, is `whiten`, applied after this.
    @inline(__always)
    public func standardizeImage(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let o = options
        if o.samplewiseCenter {
            // x -= np.mean(x, keepdims=True)
            var s = 0.0
            for i in 0..<count { s += Double(x[i]) }
            let m = Float(s / Double(count))
            for i in 0..<count { x[i] -= m }
        }
        if o.samplewiseStdNormalization {
            // x /= np.std(x, keepdims=True) + 1e-6, the std about the (already near-zero) mean
            var s1 = 0.0, s2 = 0.0
            for i in 0..<count { let v = Double(x[i]); s1 += v; s2 += v * v }
            let m = s1 / Double(count)
            let sd = Float(max(s2 / Double(count) - m * m, 0).squareRoot())
            let divisor = sd + Float(1e-6)
            for i in 0..<count { x[i] /= divisor }
        }
        if o.featurewiseCenter {
            let m = mean
            for i in 0..<count { x[i] -= m }
        }
        if o.featurewiseStdNormalization {
            let divisor = std + Float(1e-6)
            for i in 0..<count { x[i] /= divisor }
        }
    }

    /// ZCA whitening of `n` standardized images at `x`, in place; `scratch` holds
    /// `2 · n · pixels` doubles. Does nothing without ZCA.
    public func whiten(_ x: UnsafeMutablePointer<Float>, count n: Int, scratch: UnsafeMutablePointer<Double>) {
        zca?.apply(x, count: n, scratch: scratch)
    }

    /// All of `standardize` on `n` images (`n · pixels` floats), returning a new array; for tests
    /// and one-off use (the training path works in place, in `BatchAssembler`).
    public func standardize(_ images: [Float], count n: Int) -> [Float] {
        var out = images
        let pixels = n == 0 ? 0 : images.count / n
        out.withUnsafeMutableBufferPointer { b in
            for k in 0..<n { standardizeImage(b.baseAddress! + k * pixels, count: pixels) }
            if let zca {
                let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 2 * n * pixels)
                defer { scratch.deallocate() }
                zca.apply(b.baseAddress!, count: n, scratch: scratch)
            }
        }
        return out
    }
}
