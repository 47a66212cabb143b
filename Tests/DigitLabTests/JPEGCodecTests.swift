import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

@Suite("JPEG")
struct JPEGCodecTests {
    static func smooth(_ width: Int, _ height: Int, channels: Int) -> RasterImage {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { pixels.append(UInt8(min(255, 20 + x * 2 + y * 2 + c * 30))) } } }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    static func jpegBytes(_ image: RasterImage, quality: Int = 95) throws -> [UInt8] {
        let path = TestPaths.temporaryDirectory("jpeg") + "/image.jpg"
        try ImageFile.write(image, to: path, jpegQuality: quality)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("grey and colour JPEGs written by libjpeg decode to nearly the same pixels")
    func roundTrip() throws {
        for channels in [1, 3] {
            let image = Self.smooth(48, 40, channels: channels)
            let decoded = try ImageFile.decode(try Self.jpegBytes(image), name: "image.jpg")
            #expect(decoded.width == 48 && decoded.height == 40 && decoded.channels == channels)
            let worst = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max()!
            let mean = Double(zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(image.pixels.count)
            #expect(mean < 3 && worst < 40, "channels \(channels): mean error \(mean), worst \(worst)")
        }
    }

    @Test("truncated and corrupt JPEGs give DataErrors, never a crash or a silent grey image")
    func malformed() throws {
        let bytes = try Self.jpegBytes(Self.smooth(64, 64, channels: 3))
        var garbageHeader = bytes
        for i in 4..<min(200, bytes.count) { garbageHeader[i] = UInt8(truncatingIfNeeded: i * 37) }
        var corruptEntropy = bytes
        if let sos = (2..<bytes.count - 1).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA }) {
            for i in sos + 20..<min(sos + 400, bytes.count - 2) { corruptEntropy[i] = 0xFF }
        }
        var badHuffman = bytes
        if let dht = (2..<bytes.count - 1).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC4 }) {
            for i in dht + 5..<dht + 21 { badHuffman[i] = 0xFF }  // code counts far beyond what 16 bits allow
        }
        let cases: [(String, [UInt8])] = [
            ("soi only", [0xFF, 0xD8, 0xFF]), ("header garbage", garbageHeader),
            ("truncated half", Array(bytes.prefix(bytes.count / 2))), ("truncated header", Array(bytes.prefix(100))),
            ("corrupt entropy data", corruptEntropy), ("bad huffman table", badHuffman),
        ]
        for (name, data) in cases {
            do {
                _ = try ImageFile.decode(data, name: name + ".jpg")
                Issue.record("\(name): decoded without an error")
            } catch let e as DataError {
                #expect(e.file == name + ".jpg")
                #expect(!e.problem.isEmpty)
            }
        }
    }

    @Test("a JPEG declaring more pixels than allowed is refused before decoding")
    func tooLarge() throws {
        let bytes = try Self.jpegBytes(Self.smooth(300, 200, channels: 1))
        let error = #expect(throws: DataError.self) { try ImageFile.decode(bytes, name: "big.jpg", maximumPixels: 50_000) }
        #expect(error?.problem.contains("300x200") == true, "\(String(describing: error))")
    }
}
