import DigitLabTestSupport
import DigitLab
import DigitLabServer
import Foundation
import Testing

/// The results directory the server's tests serve (paths to the package, MNIST and the tool are
/// `TestPaths`'s): a copy of the repository's committed `results/`, so the pages show the real study.
enum ServerFixture {
    /// A fresh copy of the committed results directory (about 3 MB), and the configuration serving it.
    static func results(_ label: String) throws -> ServerConfiguration {
        let dir = TestPaths.temporaryDirectory("serve-\(label)")
        try FileManager.default.copyItem(atPath: TestPaths.root + "/results", toPath: dir + "/results")
        return ServerConfiguration(results: dir + "/results", experiments: TestPaths.root + "/experiments", data: TestPaths.mnist, port: 0)
    }

    /// The first `count` MNIST test digits: 28 x 28 bytes each (white on black, row by row), with their labels.
    static func testImages(_ count: Int) throws -> [(pixels: [UInt8], label: Int)] {
        let data = try Dataset.load(DatasetFiles.named("mnist")!, directory: TestPaths.mnist)
        return (0..<count).map { i in (Array(data.test.images[i * 784..<(i + 1) * 784]), Int(data.test.labels[i])) }
    }

    /// The first `count` MNIST test digits, each as a PNG file's bytes, with their labels.
    static func testDigits(_ count: Int) throws -> [(png: [UInt8], label: Int)] {
        try testImages(count).map { (try png(RasterImage(width: 28, height: 28, channels: 1, pixels: $0.pixels)), $0.label) }
    }

    /// The first `count` MNIST test digits side by side on one black picture (a 16-pixel margin, 6
    /// pixels between their 28 x 28 squares), as a PNG file's bytes, and the number their labels make.
    static func testNumber(_ count: Int) throws -> (png: [UInt8], label: String) {
        let digits = try testImages(count)
        let margin = 16, gap = 6
        let width = 2 * margin + count * 28 + (count - 1) * gap, height = 2 * margin + 28
        var pixels = [UInt8](repeating: 0, count: width * height)
        for (k, d) in digits.enumerated() {
            let left = margin + k * (28 + gap)
            for y in 0..<28 { for x in 0..<28 { pixels[(margin + y) * width + left + x] = d.pixels[y * 28 + x] } }
        }
        let label = digits.map { String($0.label) }.joined()
        return (try png(RasterImage(width: width, height: height, channels: 1, pixels: pixels)), label)
    }

    /// An image as a PNG file's bytes (written by `ImageFile`, as the tool writes them).
    static func png(_ image: RasterImage) throws -> [UInt8] {
        let dir = TestPaths.temporaryDirectory("serve-png"), path = dir + "/image.png"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ImageFile.write(image, to: path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
