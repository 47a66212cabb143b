/// The geometry of an unpadded ("valid") 2-D convolution on NHWC images, with equal strides
/// along rows and columns. A padded convolution is this geometry on its padded images.
public struct ConvGeometry: Sendable, Equatable {
    public let height: Int, width: Int, channels: Int
    public let kernelHeight: Int, kernelWidth: Int
    /// Pixels between neighbouring patches, along rows and along columns.
    public let stride: Int

    public init(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1) {
        self.height = height; self.width = width; self.channels = channels
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth; self.stride = stride
    }

    public var outHeight: Int { (height - kernelHeight) / stride + 1 }
    public var outWidth: Int { (width - kernelWidth) / stride + 1 }
    /// Columns of the im2col matrix: one per kernel tap and input channel, in HWI order, which is
    /// the row order of a Keras HWIO kernel viewed as a `[kh·kw·in, out]` matrix.
    public var patchSize: Int { kernelHeight * kernelWidth * channels }
    /// Rows of the im2col matrix contributed by one image: one per output pixel.
    public var patchesPerImage: Int { outHeight * outWidth }
}

/// Unfolds the NHWC images `images` of a batch into the patch matrix
/// `col[images.count·oh·ow, kh·kw·c]` (its first row is the first image's first patch), so that a
/// convolution becomes one matrix product with the HWIO kernel. Runs on the calling thread.
///
/// Each patch row is a run of `kw·c` contiguous floats per kernel row, because NHWC keeps a pixel's
/// channels, and neighbouring pixels, next to each other.
public func im2col(_ input: UnsafePointer<Float>, images: Range<Int>, geometry g: ConvGeometry,
                   into col: UnsafeMutablePointer<Float>) {
    let rowStride = g.width * g.channels
    let imageStride = g.height * rowStride
    let run = g.kernelWidth * g.channels
    var dst = col
    for b in images {
        let image = input + b * imageStride
        for oy in 0..<g.outHeight {
            for ox in 0..<g.outWidth {
                var src = image + oy * g.stride * rowStride + ox * g.stride * g.channels
                for _ in 0..<g.kernelHeight {
                    copyFloats(src, dst, count: run)
                    dst += run
                    src += rowStride
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds each patch row of `col` back onto the pixels of `images` it was
/// read from, giving the gradient with respect to those input images, which are overwritten. Runs
/// on the calling thread.
public func col2im(_ col: UnsafePointer<Float>, images: Range<Int>, geometry g: ConvGeometry,
                   into output: UnsafeMutablePointer<Float>) {
    let rowStride = g.width * g.channels
    let imageStride = g.height * rowStride
    let run = g.kernelWidth * g.channels
    var src = col
    for b in images {
        let image = output + b * imageStride
        image.update(repeating: 0, count: imageStride)
        for oy in 0..<g.outHeight {
            for ox in 0..<g.outWidth {
                var dst = image + oy * g.stride * rowStride + ox * g.stride * g.channels
                for _ in 0..<g.kernelHeight {
                    addInPlace(src, dst, count: run)
                    src += run
                    dst += rowStride
                }
            }
        }
    }
}
