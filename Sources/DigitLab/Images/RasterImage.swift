/// An 8-bit image as decoded from a file: grey (one channel) or RGB (three channels, interleaved),
/// rows from top to bottom.
public struct RasterImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 for grey, 3 for RGB.
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "an image has 1 or 3 channels, not \(channels)")
        precondition(width > 0 && height > 0 && pixels.count == width * height * channels,
                     "\(pixels.count) bytes for a \(width)x\(height)x\(channels) image")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A grey image filled with one value.
    public init(width: Int, height: Int, grey: UInt8) {
        self.init(width: width, height: height, channels: 1, pixels: [UInt8](repeating: grey, count: width * height))
    }

    public var pixelCount: Int { width * height }

    /// The image's luma as OpenCV's `cvtColor(..., COLOR_RGB2GRAY)` computes it,
    /// `0.299 R + 0.587 G + 0.114 B` in 14-bit fixed point, rounded; a grey image is returned as is.
    /// (`cv2.imread(path, IMREAD_GRAYSCALE)` lets libjpeg or libpng convert instead, which can
    /// differ by one grey level.)
    public func grayscale() -> RasterImage {
        guard channels == 3 else { return self }
        var grey = [UInt8](repeating: 0, count: pixelCount)
        pixels.withUnsafeBufferPointer { rgb in
            for i in 0..<pixelCount {
                let r = Int(rgb[3 * i]), g = Int(rgb[3 * i + 1]), b = Int(rgb[3 * i + 2])
                grey[i] = UInt8((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14)
            }
        }
        return RasterImage(width: width, height: height, channels: 1, pixels: grey)
    }

    /// Channel `c` as floats, one per pixel.
    public func channel(_ c: Int) -> [Float] {
        precondition(c >= 0 && c < channels)
        var out = [Float](repeating: 0, count: pixelCount)
        pixels.withUnsafeBufferPointer { p in
            for i in 0..<pixelCount { out[i] = Float(p[i * channels + c]) }
        }
        return out
    }
}
