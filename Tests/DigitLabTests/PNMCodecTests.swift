import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

@Suite("PGM and PPM")
struct PNMCodecTests {
    static func decode(_ text: String, extra: [UInt8] = []) throws -> RasterImage {
        try ImageFile.decode(Array(text.utf8) + extra, name: "image.pnm")
    }

    @Test("P2, P3, P5 and P6, with comments, any maxval, 16-bit samples")
    func formats() throws {
        #expect(try Self.decode("P2\n# a comment\n3 1\n255\n0 128 255\n").pixels == [0, 128, 255])
        #expect(try Self.decode("P2 2 1 15 0 15").pixels == [0, 255])
        let p3 = try Self.decode("P3\n1 2\n255\n255 0 0\n0 0 255\n")
        #expect(p3.channels == 3 && p3.pixels == [255, 0, 0, 0, 0, 255])
        #expect(try Self.decode("P5\n2 2\n255\n", extra: [1, 2, 3, 4]).pixels == [1, 2, 3, 4])
        #expect(try Self.decode("P5 #c\n2 1\n65535\n", extra: [0xFF, 0xFF, 0x80, 0x00]).pixels == [255, 128])
        let p6 = try Self.decode("P6\n1 1\n255\n", extra: [9, 8, 7])
        #expect(p6.channels == 3 && p6.pixels == [9, 8, 7])
    }

    @Test("the writer's PGM and PPM read back exactly")
    func roundTrip() throws {
        let dir = TestPaths.temporaryDirectory("pnm")
        let grey = RasterImage(width: 4, height: 2, channels: 1, pixels: [0, 1, 2, 3, 252, 253, 254, 255])
        try ImageFile.write(grey, to: dir + "/a.pgm")
        #expect(try ImageFile.read(path: dir + "/a.pgm") == grey)
        let colour = RasterImage(width: 1, height: 2, channels: 3, pixels: [1, 2, 3, 4, 5, 6])
        try ImageFile.write(colour, to: dir + "/a.ppm")
        #expect(try ImageFile.read(path: dir + "/a.ppm") == colour)
    }

    @Test("malformed headers and data give DataErrors naming the problem")
    func malformed() {
        let cases: [(String, [UInt8], String)] = [
            ("bad magic", Array("P7\n1 1\n255\n\0".utf8), "magic number P7"),
            ("PBM", Array("P1\n1 1\n1\n".utf8), "PBM"),
            ("no width", Array("P5\n".utf8), "no width"),
            ("letters", Array("P5\nab 2\n255\n".utf8), "expected a number"),
            ("zero maxval", Array("P5\n1 1\n0\n\0".utf8), "maxval"),
            ("zero size", Array("P5\n0 1\n255\n".utf8), "empty image"),
            ("truncated raster", Array("P5\n4 4\n255\n".utf8) + [1, 2, 3], "truncated"),
            ("truncated 16-bit", Array("P5\n2 1\n1000\n".utf8) + [0, 1, 0], "truncated"),
            ("truncated text", Array("P2\n3 1\n255\n1 2".utf8), "truncated"),
            ("sample above maxval", Array("P2\n1 1\n10\n11".utf8), "above maxval"),
            ("absurd size", Array("P5\n100000 100000\n255\n".utf8), "megapixels"),
            ("huge number", Array("P5\n99999999999999 1\n255\n".utf8), "more than 9 digits"),
            ("text claims too much", Array("P2\n1000 1000\n255\n1 2 3".utf8), "truncated"),
        ]
        for (name, bytes, words) in cases {
            let error = #expect(throws: DataError.self, "\(name)") { try ImageFile.decode(bytes, name: name) }
            #expect(error?.file == name && error?.problem.contains(words) == true, "\(name): \(String(describing: error))")
        }
    }
}
