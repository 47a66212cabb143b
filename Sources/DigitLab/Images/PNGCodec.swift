import CPNG
import Foundation

/// PNG through libpng's simplified API (`png_image_*`), which handles every colour type and bit
/// depth, catches libpng's errors itself and reports them in `png_image.message`.
enum PNGCodec {
    /// Decodes to 8-bit grey (grey and grey-alpha images) or RGB (everything in colour). Alpha is
    /// composited onto white, as a drawing on transparent paper would look printed; 16-bit samples
    /// are reduced to 8 bits.
    static func decode(_ bytes: [UInt8], name: String, maximumPixels: Int) throws -> RasterImage {
        let (width, height, channels, pixels) = try read(bytes, name: name, maximumPixels: maximumPixels) { colour in
            // Without alpha in the output format libpng composites onto the background given.
            (colour ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY), colour ? 3 : 1, png_color(red: 255, green: 255, blue: 255))
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Reads the header, checks the size, then the pixels in the format `format` picks from whether
    /// the file is in colour: (libpng output format, channels, background to composite onto or nil).
    private static func read(_ bytes: [UInt8], name: String, maximumPixels: Int,
                             format: (_ colour: Bool) -> (UInt32, Int, png_color?)) throws
        -> (width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        try bytes.withUnsafeBytes { source in
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            guard png_image_begin_read_from_memory(&image, source.baseAddress, source.count) != 0 else {
                throw DataError(name, "not a valid PNG: \(message(of: &image))")
            }
            defer { png_image_free(&image) }
            let width = Int(image.width), height = Int(image.height)
            try ImageFile.checkSize(width: width, height: height, name: name, maximumPixels: maximumPixels)
            let (outputFormat, channels, background) = format(image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0)
            image.format = outputFormat
            var pixels = [UInt8](repeating: 0, count: width * height * channels)
            var colour = background ?? png_color()
            let ok = pixels.withUnsafeMutableBytes { out in
                withUnsafeMutablePointer(to: &colour) { colour in
                    png_image_finish_read(&image, background == nil ? nil : colour, out.baseAddress, Int32(width * channels), nil)
                }
            }
            guard ok != 0 else { throw DataError(name, "damaged PNG: \(message(of: &image))") }
            return (width, height, channels, pixels)
        }
    }

    /// The file as `cv2.imread(path, cv2.IMREAD_GRAYSCALE)` reads it: OpenCV strips any alpha
    /// channel (no compositing) and lets libpng convert colour to grey with
    /// `png_set_rgb_to_gray(png, 1, 0.299, 0.587)`. libpng does that in linear light, through its
    /// 8-bit gamma tables, when the file declares a gamma (an sRGB or gAMA chunk), and on the stored
    /// values, truncating, when it does not. Reproduced here for 8-bit files; 16-bit files are
    /// first reduced to 8 bits by the simplified API, where OpenCV keeps the high byte.
    static func decodeGreyAsOpenCV(_ bytes: [UInt8], name: String, maximumPixels: Int) throws -> RasterImage {
        // With alpha in the output format libpng composites nothing, so the colour is as stored.
        let (width, height, channels, pixels) = try read(bytes, name: name, maximumPixels: maximumPixels) { colour in
            ((colour ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | UInt32(PNG_FORMAT_FLAG_ALPHA), colour ? 4 : 2, nil)
        }
        let colour = channels == 4
        var grey = [UInt8](repeating: 0, count: width * height)
        guard colour else {
            for i in 0..<width * height { grey[i] = pixels[2 * i] }
            return RasterImage(width: width, height: height, channels: 1, pixels: grey)
        }
        // png_set_rgb_to_gray_fixed's coefficients, truncated to 15 bits as libpng does.
        let rc = 29900 * 32768 / 100000, gc = 58700 * 32768 / 100000, bc = 32768 - rc - gc
        let gamma = fileGamma(bytes)  // in units of 1/100000, or nil
        if let gamma, abs(gamma - 100_000) > 5000 {
            let toLinear = gammaTable(exponent: 1e5 / Double(gamma)), fromLinear = gammaTable(exponent: Double(gamma) / 1e5)
            for i in 0..<width * height {
                let r = Int(pixels[4 * i]), g = Int(pixels[4 * i + 1]), b = Int(pixels[4 * i + 2])
                if r == g && r == b { grey[i] = UInt8(r); continue }
                let y = (rc * Int(toLinear[r]) + gc * Int(toLinear[g]) + bc * Int(toLinear[b]) + 16384) >> 15
                grey[i] = fromLinear[y]
            }
        } else {
            for i in 0..<width * height {
                let r = Int(pixels[4 * i]), g = Int(pixels[4 * i + 1]), b = Int(pixels[4 * i + 2])
                grey[i] = r == g && r == b ? UInt8(r) : UInt8((rc * r + gc * g + bc * b) >> 15)
            }
        }
        return RasterImage(width: width, height: height, channels: 1, pixels: grey)
    }

    /// libpng's `png_gamma_8bit_correct` table: `floor(255 (i/255)^exponent + 0.5)`, 0 and 255 fixed.
    static func gammaTable(exponent: Double) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 256)
        for i in 1..<255 {
            let v: Double = floor(255 * pow(Double(i) / 255, exponent) + 0.5)
            table[i] = UInt8(v)
        }
        table[255] = 255
        return table
    }

    /// The gamma a PNG declares before its image data, in units of 1/100000: 45455 for an sRGB
    /// chunk, else a gAMA chunk's value; nil when it declares none.
    static func fileGamma(_ bytes: [UInt8]) -> Int? {
        var p = 8, gamma: Int?
        while p + 8 <= bytes.count {
            let length = bigEndian(bytes, at: p)
            let type = String(decoding: bytes[p + 4..<p + 8], as: UTF8.self)
            if type == "IDAT" || type == "IEND" || length < 0 || p + 12 + length > bytes.count { break }
            if type == "sRGB" { return 45455 }
            if type == "gAMA" && length == 4 {
                let v = bigEndian(bytes, at: p + 8)
                if v > 0 { gamma = v }
            }
            p += 12 + length
        }
        return gamma
    }

    private static func bigEndian(_ bytes: [UInt8], at p: Int) -> Int {
        var v = 0
        for k in 0..<4 { v = v << 8 | Int(bytes[p + k]) }
        return v
    }

    /// Encodes an 8-bit grey or RGB image.
    static func encode(_ picture: RasterImage, name: String) throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(picture.width)
        image.height = UInt32(picture.height)
        image.format = picture.channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        let stride = Int32(picture.width * picture.channels)
        var size: png_alloc_size_t = 0
        let sized = picture.pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard sized != 0, size > 0 else { throw DataError(name, "cannot encode as PNG: \(message(of: &image))") }
        var out = [UInt8](repeating: 0, count: Int(size))
        let written = out.withUnsafeMutableBytes { buffer in
            picture.pixels.withUnsafeBytes { png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard written != 0 else { throw DataError(name, "cannot encode as PNG: \(message(of: &image))") }
        return Array(out.prefix(Int(size)))
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.isEmpty ? "libpng gave no reason" : text
        }
    }
}
