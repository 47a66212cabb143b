import DigitLabTestSupport
import CPNG
import DigitLab
import Foundation
import Testing

@Suite("PNG")
struct PNGCodecTests {
    // png.h's format flags (the combined PNG_FORMAT_* macros do not reach Swift).
    static let colour = Int32(PNG_FORMAT_FLAG_COLOR), alpha = Int32(PNG_FORMAT_FLAG_ALPHA)
    static let linear = Int32(PNG_FORMAT_FLAG_LINEAR), colormap = Int32(PNG_FORMAT_FLAG_COLORMAP)

    /// A PNG written by libpng's own writer in any simplified-API format.
    static func libpng(width: Int, height: Int, format: Int32, bytes: [UInt8], colormap: [UInt8]? = nil, entries: Int = 0) -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(format)
        image.colormap_entries = UInt32(entries)
        var size: png_alloc_size_t = 0
        _ = png_image_write_to_memory(&image, nil, &size, 0, bytes, 0, colormap)
        var out = [UInt8](repeating: 0, count: Int(size))
        let ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&image, $0.baseAddress, &size, 0, bytes, 0, colormap) }
        precondition(ok != 0)
        return Array(out.prefix(Int(size)))
    }

    @Test("grey and RGB round trip through libpng exactly")
    func roundTrip() throws {
        let dir = TestPaths.temporaryDirectory("png")
        let grey = RasterImage(width: 5, height: 3, channels: 1, pixels: (0..<15).map { UInt8($0 * 17) })
        let rgb = RasterImage(width: 2, height: 2, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56])
        for (name, image) in [("grey.png", grey), ("rgb.png", rgb)] {
            try ImageFile.write(image, to: dir + "/" + name)
            #expect(try ImageFile.read(path: dir + "/" + name) == image)
        }
    }

    @Test("16-bit, grey+alpha, RGBA and palette PNGs decode to 8-bit grey or RGB")
    func otherFormats() throws {
        // 16-bit linear grey: 0 and 65535 are black and white, in between increases.
        var sixteen: [UInt8] = []
        for v: UInt16 in [0, 16384, 65535] { sixteen += withUnsafeBytes(of: v) { Array($0) } }
        let g16 = try ImageFile.decode(Self.libpng(width: 3, height: 1, format: Self.linear, bytes: sixteen), name: "g16.png")
        #expect(g16.channels == 1 && g16.pixels[0] == 0 && g16.pixels[2] == 255 && g16.pixels[1] > 100 && g16.pixels[1] < 200)
        // Grey + alpha: transparent pixels become white paper, opaque ones keep their grey.
        let ga = try ImageFile.decode(Self.libpng(width: 2, height: 1, format: Self.alpha, bytes: [0, 0, 40, 255]), name: "ga.png")
        #expect(ga.pixels == [255, 40])
        // RGBA: the same in colour.
        let rgba = try ImageFile.decode(Self.libpng(width: 2, height: 1, format: Self.colour | Self.alpha,
                                                    bytes: [9, 9, 9, 0, 10, 20, 30, 255]), name: "rgba.png")
        #expect(rgba.channels == 3 && rgba.pixels == [255, 255, 255, 10, 20, 30])
        // Palette (colour-mapped) image.
        let palette: [UInt8] = [200, 0, 0, 0, 0, 200]
        let mapped = try ImageFile.decode(Self.libpng(width: 3, height: 1, format: Self.colour | Self.colormap,
                                                      bytes: [0, 1, 0], colormap: palette, entries: 2), name: "palette.png")
        #expect(mapped.channels == 3 && mapped.pixels == [200, 0, 0, 0, 0, 200, 200, 0, 0])
    }

    @Test("truncated and damaged PNGs give DataErrors naming the file")
    func malformed() throws {
        let image = RasterImage(width: 64, height: 64, channels: 3, pixels: (0..<64 * 64 * 3).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let dir = TestPaths.temporaryDirectory("png")
        try ImageFile.write(image, to: dir + "/good.png")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/good.png")))
        var corruptCRC = bytes
        corruptCRC[40] ^= 0xFF  // inside the IDAT data: its CRC no longer matches
        var hugeHeader = Array(bytes.prefix(33))
        hugeHeader[16...23] = [0, 0, 0x9C, 0x40, 0, 0, 0x9C, 0x40]  // 40000 x 40000, CRC now wrong too
        let cases: [(String, [UInt8])] = [
            ("signature only", Array(bytes.prefix(8))), ("header only", Array(bytes.prefix(33))),
            ("truncated", Array(bytes.prefix(bytes.count / 2))), ("corrupt", corruptCRC), ("huge", hugeHeader),
        ]
        for (name, data) in cases {
            let error = #expect(throws: DataError.self, "\(name)") { try ImageFile.decode(data, name: name + ".png") }
            #expect(error?.file == name + ".png")
        }
    }

    @Test("images over the pixel limit are refused before decoding")
    func tooLarge() throws {
        let big = RasterImage(width: 300, height: 200, channels: 1, pixels: [UInt8](repeating: 7, count: 60_000))
        let dir = TestPaths.temporaryDirectory("png")
        try ImageFile.write(big, to: dir + "/big.png")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/big.png")))
        let error = #expect(throws: DataError.self) { try ImageFile.decode(bytes, name: "big.png", maximumPixels: 50_000) }
        #expect(error?.problem.contains("300x200") == true, "\(String(describing: error))")
    }
}
