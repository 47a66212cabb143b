/// The geometry of a stride-1, unpadded ("valid") 2-D convolution on NHWC images.
public struct ConvGeometry: Sendable, Equatable {
    public let height: Int, width: Int, channels: Int
    public let kernelHeight: Int, kernelWidth: Int

    public init(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int) {
        self.height = height; self.width = width; self.channels = channels
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
    }

    public var outHeight: Int { height - kernelHeight + 1 }
    public var outWidth: Int { width - kernelWidth + 1 }
    /// Columns of the im2col matrix: one per kernel tap and input channel, in HWI order, which is
    /// the row order of a Keras HWIO kernel viewed as a `[kh·kw·in, out]` matrix.
    public var patchSize: Int { kernelHeight * kernelWidth * channels }
    /// Rows of the im2col matrix contributed by one image: one per output pixel.
    public var patchesPerImage: Int { outHeight * outWidth }
}

/// Unfolds a batch of NHWC images into the patch matrix `col[batch·oh·ow, kh·kw·c]`, so that a
/// convolution becomes one matrix product with the HWIO kernel.
///
/// Each patch row is a run of `kw·c` contiguous floats per kernel row, because NHWC keeps a pixel's
/// channels, and neighbouring pixels, next to each other.
public func im2col(_ input: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
                   into col: UnsafeMutablePointer<Float>) {
    let rowStride = g.width * g.channels
    let imageStride = g.height * rowStride
    let run = g.kernelWidth * g.channels
    parallelFor(batch) { b in
        var dst = col + b * g.patchesPerImage * g.patchSize
        let image = input + b * imageStride
        for oy in 0..<g.outHeight {
            for ox in 0..<g.outWidth {
                var src = image + oy * rowStride + ox * g.channels
                for _ in 0..<g.kernelHeight {
                    dst.update(from: src, count: run)
                    dst += run
                    src += rowStride
                }
            }
        }
    }
}

/// The adjoint of `im2col`: adds each patch row of `col` back onto the pixels it was read from,
/// giving the gradient with respect to the input images. `output` is overwritten.
public func col2im(_ col: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
                   into output: UnsafeMutablePointer<Float>) {
    let rowStride = g.width * g.channels
    let imageStride = g.height * rowStride
    let run = g.kernelWidth * g.channels
    parallelFor(batch) { b in
        let image = output + b * imageStride
        image.update(repeating: 0, count: imageStride)
        var src = col + b * g.patchesPerImage * g.patchSize
        for oy in 0..<g.outHeight {
            for ox in 0..<g.outWidth {
                var dst = image + oy * rowStride + ox * g.channels
                for _ in 0..<g.kernelHeight {
                    for i in 0..<run { dst[i] += src[i] }
                    src += run
                    dst += rowStride
                }
            }
        }
    }
}
