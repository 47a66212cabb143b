import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

@Suite("Image files")
struct ImageFileTests {
    @Test("the format is recognised from the first bytes, whatever the name")
    func sniffing() throws {
        let dir = TestPaths.temporaryDirectory("images")
        let image = RasterImage(width: 3, height: 2, channels: 1, pixels: [0, 50, 100, 150, 200, 250])
        try ImageFile.write(image, to: dir + "/a.png")
        try FileManager.default.moveItem(atPath: dir + "/a.png", toPath: dir + "/a.jpg")
        #expect(try ImageFile.read(path: dir + "/a.jpg") == image)
        #expect(ImageFile.format(of: [0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(ImageFile.format(of: Array("P5\n".utf8)) == .pnm)
        #expect(ImageFile.format(of: Array("GIF89a".utf8)) == nil)
    }

    @Test("unreadable files: missing, a directory, empty, not an image; each error names the file")
    func unreadable() throws {
        let dir = TestPaths.temporaryDirectory("images")
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.png"))
        try Data("GIF89a not really".utf8).write(to: URL(fileURLWithPath: dir + "/picture.gif"))
        for (path, words) in [(dir + "/missing.png", "no such file"), (dir, "directory"),
                              (dir + "/empty.png", "empty"), (dir + "/picture.gif", "not a PNG, JPEG, PGM or PPM")] {
            let error = #expect(throws: DataError.self) { try ImageFile.read(path: path) }
            #expect(error?.file == path && error?.problem.contains(words) == true, "\(String(describing: error))")
        }
    }

    @Test("grey as the paper's cv2.imread(path, IMREAD_GRAYSCALE) reads PNGs: in linear light when they declare sRGB")
    func greyAsOpenCV() throws {
        let colours: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 150, 200, 50, 50, 50, 10, 200, 30]
        let path = TestPaths.temporaryDirectory("images") + "/colours.png"
        try ImageFile.write(RasterImage(width: 6, height: 1, channels: 3, pixels: colours), to: path)
        let declared = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // The same file without its colour-space chunks.
        var plain = Array(declared.prefix(8)), p = 8
        while p + 12 <= declared.count {
            let length = declared[p..<p + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: declared[p + 4..<p + 8], as: UTF8.self)
            if !["sRGB", "gAMA", "cHRM", "iCCP"].contains(type) { plain += declared[p..<p + 12 + length] }
            p += 12 + length
        }
        #expect(plain.count < declared.count, "the writer declares sRGB")
        // What OpenCV 5.0 with its libpng 1.6 returns for these two files.
        #expect(try ImageFile.decodeGreyAsOpenCV(declared, name: "a.png").pixels == [147, 200, 95, 144, 50, 157])
        #expect(try ImageFile.decodeGreyAsOpenCV(plain, name: "b.png").pixels == [76, 149, 29, 140, 50, 123])
    }

    @Test("luma as OpenCV computes it")
    func grayscale() {
        let rgb = RasterImage(width: 4, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30])
        // cv2.cvtColor(..., COLOR_RGB2GRAY): 76, 150, 29, round(0.299*10 + 0.587*200 + 0.114*30) = 124.
        #expect(rgb.grayscale().pixels == [76, 150, 29, 124])
    }
}
