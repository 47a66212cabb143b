/// Netpbm's portable anymaps: PGM (grey, P2 text and P5 binary) and PPM (colour, P3 and P6), with
/// any maxval up to 65535 (binary samples above 255 take two bytes, most significant first).
/// Samples are rescaled to 8 bits.
enum PNMCodec {
    static func decode(_ bytes: [UInt8], name: String, maximumPixels: Int) throws -> RasterImage {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P") else { throw DataError(name, "not a PGM or PPM file: bad magic number") }
        let kind = bytes[1]
        let binary: Bool, channels: Int
        switch kind {
        case UInt8(ascii: "2"): (binary, channels) = (false, 1)
        case UInt8(ascii: "3"): (binary, channels) = (false, 3)
        case UInt8(ascii: "5"): (binary, channels) = (true, 1)
        case UInt8(ascii: "6"): (binary, channels) = (true, 3)
        case UInt8(ascii: "1"), UInt8(ascii: "4"):
            throw DataError(name, "PBM bitmaps (P1, P4) are not supported; save the image as PGM, PNG or JPEG")
        default:
            throw DataError(name, "not a PGM or PPM file: magic number P\(Character(UnicodeScalar(kind))) is not P2, P3, P5 or P6")
        }
        var reader = Reader(bytes: bytes, position: 2, name: name)
        let width = try reader.headerNumber("width")
        let height = try reader.headerNumber("height")
        let maxval = try reader.headerNumber("maxval")
        guard (1...65535).contains(maxval) else { throw DataError(name, "maxval \(maxval) is outside 1...65535") }
        try ImageFile.checkSize(width: width, height: height, name: name, maximumPixels: maximumPixels)
        let samples = width * height * channels
        var pixels: [UInt8]
        if binary {
            // Exactly one whitespace byte separates the header from the raster.
            guard reader.position < bytes.count, isSpace(bytes[reader.position]) else {
                throw DataError(name, "no pixel data after the header")
            }
            reader.position += 1
            let bytesPerSample = maxval > 255 ? 2 : 1
            let needed = samples * bytesPerSample, available = bytes.count - reader.position
            guard available >= needed else {
                throw DataError(name, "truncated: a \(width)x\(height) image needs \(needed) bytes of pixels, the file has \(available)")
            }
            pixels = [UInt8](repeating: 0, count: samples)
            let start = reader.position
            for i in 0..<samples {
                let v = bytesPerSample == 1 ? Int(bytes[start + i])
                    : Int(bytes[start + 2 * i]) << 8 | Int(bytes[start + 2 * i + 1])
                guard v <= maxval else { throw DataError(name, "sample \(i) is \(v), above maxval \(maxval)") }
                pixels[i] = scale(v, maxval)
            }
        } else {
            // Each text sample takes at least one digit and one separator: refuse before allocating.
            guard samples <= (bytes.count - reader.position + 1) / 2 else {
                throw DataError(name, "truncated: a \(width)x\(height) image needs \(samples) samples, the file is too short to hold them")
            }
            pixels = [UInt8](repeating: 0, count: samples)
            for i in 0..<samples {
                guard let v = try reader.number(allowComments: true) else {
                    throw DataError(name, "truncated: found \(i) of the \(samples) samples a \(width)x\(height) image needs")
                }
                guard v <= maxval else { throw DataError(name, "sample \(i) is \(v), above maxval \(maxval)") }
                pixels[i] = scale(v, maxval)
            }
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Binary PGM (P5) or PPM (P6) with maxval 255.
    static func encode(_ image: RasterImage) -> [UInt8] {
        let header = "P\(image.channels == 3 ? 6 : 5)\n\(image.width) \(image.height)\n255\n"
        return Array(header.utf8) + image.pixels
    }

    private static func scale(_ v: Int, _ maxval: Int) -> UInt8 {
        maxval == 255 ? UInt8(v) : UInt8((v * 255 + maxval / 2) / maxval)
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    private struct Reader {
        let bytes: [UInt8]
        var position: Int
        let name: String

        /// A header field: whitespace and `#` comments may precede it; it must be followed by whitespace.
        mutating func headerNumber(_ field: String) throws -> Int {
            guard let n = try number(allowComments: true) else { throw DataError(name, "bad header: no \(field)") }
            guard position < bytes.count, isSpace(bytes[position]) || bytes[position] == UInt8(ascii: "#") else {
                throw DataError(name, "bad header: the \(field) is not followed by whitespace")
            }
            return n
        }

        /// The next decimal number, or nil at the end of the data; anything else is an error.
        mutating func number(allowComments: Bool) throws -> Int? {
            while position < bytes.count {
                let b = bytes[position]
                if isSpace(b) { position += 1 } else if b == UInt8(ascii: "#") && allowComments {
                    while position < bytes.count && bytes[position] != 0x0A && bytes[position] != 0x0D { position += 1 }
                } else { break }
            }
            guard position < bytes.count else { return nil }
            var value = 0, digits = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                digits += 1
                position += 1
                guard digits <= 9 else { throw DataError(name, "bad header or data: a number with more than 9 digits") }
            }
            guard digits > 0 else {
                let c = bytes[position]
                let shown = (0x21...0x7E).contains(c) ? "'\(Character(UnicodeScalar(c)))'" : "byte 0x" + String(c, radix: 16, uppercase: true)
                throw DataError(name, "bad header or data: expected a number at byte \(position), found \(shown)")
            }
            return value
        }
    }
}
