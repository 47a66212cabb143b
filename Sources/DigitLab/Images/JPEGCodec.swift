import CJPEGSafe

/// JPEG through libjpeg (Debian's libjpeg-turbo), run under setjmp by the small C target
/// `CJPEGSafe`: libjpeg's fatal errors, and the warnings that mean a truncated or corrupt file,
/// come back as `DataError`s instead of ending the process.
enum JPEGCodec {
    /// With `grey`, a colour JPEG is decoded straight to libjpeg's luma (as OpenCV's
    /// `IMREAD_GRAYSCALE` does); otherwise to RGB.
    static func decode(_ bytes: [UInt8], name: String, maximumPixels: Int, grey: Bool = false) throws -> RasterImage {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { text in
                digitlab_jpeg_decode(data.baseAddress, data.count, maximumPixels, grey ? 1 : 0, &pixels, &width, &height, &channels,
                                     text.baseAddress, text.count)
            }
        }
        defer { digitlab_jpeg_free(pixels) }
        switch status {
        case DIGITLAB_JPEG_OK:
            guard let pixels, width > 0, height > 0, channels == 1 || channels == 3 else {
                throw DataError(name, "JPEG decoding returned no pixels")
            }
            let count = Int(width) * Int(height) * Int(channels)
            return RasterImage(width: Int(width), height: Int(height), channels: Int(channels),
                               pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
        case DIGITLAB_JPEG_TOO_LARGE:
            try ImageFile.checkSize(width: Int(width), height: Int(height), name: name, maximumPixels: maximumPixels)
            throw DataError(name, "the JPEG is too large")
        default:
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw DataError(name, "not a valid JPEG, or a damaged one: \(reason.isEmpty ? "libjpeg gave no reason" : reason)")
        }
    }

    static func encode(_ image: RasterImage, quality: Int, name: String) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            message.withUnsafeMutableBufferPointer { text in
                digitlab_jpeg_encode(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                                     Int32(max(1, min(100, quality))), &output, &size, text.baseAddress, text.count)
            }
        }
        defer { digitlab_jpeg_free(output) }
        guard status == DIGITLAB_JPEG_OK, let output else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw DataError(name, "cannot encode as JPEG: \(reason)")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
