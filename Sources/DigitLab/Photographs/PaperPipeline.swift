/// The paper's preprocessing of a photograph, step for step as its annexure (section 8) runs it:
///
/// ```python
/// img1 = cv2.imread(i, cv2.IMREAD_GRAYSCALE)
/// thresh = img1.mean(axis=0).mean(axis=0)
/// img_binary = cv2.threshold(img1, thresh, 255, cv2.THRESH_BINARY)[1]
/// ...                                   # written to PNG and read back as BGR
/// if d[0] < d[255]: img2 = util.invert(img2)
/// gray2 = cv2.cvtColor(img2, cv2.COLOR_BGR2GRAY)
/// resized2 = cv2.resize(gray2, (28, 28), interpolation=cv2.INTER_AREA)
/// newimg2 = tf.keras.utils.normalize(resized2, axis=1)
/// ```
///
/// The last line is reproduced as written: on a single 2-D image, axis 1 is the column index, so
/// each *row* is scaled to unit L2 norm, while training (axis 1 of an `N x 28 x 28` stack) scaled
/// each *column*. The photograph reaches the model normalized along the other axis.
public enum PaperPipeline {
    /// Every intermediate result, for tests and for showing what happened.
    public struct Steps: Sendable {
        /// The photograph in grey.
        public var grey: RasterImage
        /// `cv2.threshold` on 8-bit input compares with the floor of the threshold: a pixel becomes
        /// 255 when it is above this value.
        public var threshold: Int
        /// True when there were more white than black pixels, so the binary image was inverted.
        public var inverted: Bool
        /// The binary image after the inversion, 0 or 255.
        public var binary: RasterImage
        /// `resized2`: the binary image shrunk to 28 x 28 by area averaging, 8-bit.
        public var resized: [UInt8]
        /// `newimg2`: each row of `resized` divided by its L2 norm (zero rows stay zero), the model's input.
        public var input: [Float]
    }

    /// Runs the steps on `image`. For the annexure's exact grey image read the file with
    /// `ImageFile.readGreyAsOpenCV` (as `DigitPipeline.paper.read` does); a colour image is
    /// converted with OpenCV's `cvtColor` luma, which for PNG and JPEG files can differ a little.
    public static func run(_ image: RasterImage) -> Steps {
        let grey = image.grayscale()
        let n = grey.pixelCount
        // img1.mean(axis=0).mean(axis=0): the mean of the column means.
        var columnMeans = 0.0
        grey.pixels.withUnsafeBufferPointer { p in
            for x in 0..<grey.width {
                var sum = 0.0
                for y in 0..<grey.height { sum += Double(p[y * grey.width + x]) }
                columnMeans += sum / Double(grey.height)
            }
        }
        let mean = columnMeans / Double(grey.width)
        let threshold = Int(mean.rounded(.down))
        var binary = grey.pixels.map { Int($0) > threshold ? UInt8(255) : 0 }
        let white = binary.reduce(0) { $0 + ($1 == 255 ? 1 : 0) }
        // d[0] < d[255]: more white than black pixels (an image with no black at all counts as
        // lighter; the annexure's dictionary lookup would raise KeyError on a one-valued image).
        let inverted = n - white < white
        if inverted { binary = binary.map { 255 - $0 } }
        let binaryImage = RasterImage(width: grey.width, height: grey.height, channels: 1, pixels: binary)
        let resized = AreaResize.resize(bytes: binary, width: grey.width, height: grey.height, toWidth: 28, toHeight: 28)
        return Steps(grey: grey, threshold: threshold, inverted: inverted, binary: binaryImage, resized: resized,
                     input: normalizeRows(resized, width: 28, height: 28))
    }

    /// `tf.keras.utils.normalize(x, axis=1)` on one 2-D image: every row divided by its L2 norm,
    /// computed in float64 as NumPy's `linalg.norm` does for integer input.
    public static func normalizeRows(_ image: [UInt8], width: Int, height: Int) -> [Float] {
        var out = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            var sum = 0.0
            for x in 0..<width { let v = Double(image[y * width + x]); sum += v * v }
            let norm = sum == 0 ? 1 : sum.squareRoot()
            for x in 0..<width { out[y * width + x] = Float(Double(image[y * width + x]) / norm) }
        }
        return out
    }
}
