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

    /// The first `count` MNIST test digits, each as a PNG file's bytes, with their labels.
    static func testDigits(_ count: Int) throws -> [(png: [UInt8], label: Int)] {
        let data = try Dataset.load(DatasetFiles.named("mnist")!, directory: TestPaths.mnist)
        let dir = TestPaths.temporaryDirectory("serve-digits")
        return try (0..<count).map { i in
            let pixels = Array(data.test.images[i * 784..<(i + 1) * 784])
            let path = "\(dir)/\(i).png"
            try ImageFile.write(RasterImage(width: 28, height: 28, channels: 1, pixels: pixels), to: path)
            return (Array(try Data(contentsOf: URL(fileURLWithPath: path))), Int(data.test.labels[i]))
        }
    }
}
