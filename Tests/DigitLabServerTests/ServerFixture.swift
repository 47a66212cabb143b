import DigitLab
import DigitLabServer
import Foundation
import Testing

/// Where the server's tests find the package, MNIST and the tool, and the results directory they
/// serve: a copy of the repository's committed `results/`, so the pages show the real study.
enum ServerFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static var mnist: String {
        if let env = ProcessInfo.processInfo.environment["DIGITLAB_DATA"], !env.isEmpty { return env }
        return root + "/data/mnist"
    }

    /// The `digitlab` executable built beside the test bundle.
    static var tool: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("digitlab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return root + "/.build/release/digitlab"
    }

    /// A fresh copy of the committed results directory (about 3 MB), and the configuration serving it.
    static func results(_ label: String) throws -> ServerConfiguration {
        let dir = NSTemporaryDirectory() + "digitlab-serve-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/results", toPath: dir + "/results")
        return ServerConfiguration(results: dir + "/results", experiments: root + "/experiments", data: mnist, port: 0)
    }

    /// The first `count` MNIST test digits, each as a PNG file's bytes, with their labels.
    static func testDigits(_ count: Int) throws -> [(png: [UInt8], label: Int)] {
        let data = try Dataset.load(DatasetFiles.named("mnist")!, directory: mnist)
        let dir = NSTemporaryDirectory() + "digitlab-serve-digits-\(UUID().uuidString.prefix(8))"
        return try (0..<count).map { i in
            let pixels = Array(data.test.images[i * 784..<(i + 1) * 784])
            let path = "\(dir)/\(i).png"
            try ImageFile.write(RasterImage(width: 28, height: 28, channels: 1, pixels: pixels), to: path)
            return (Array(try Data(contentsOf: URL(fileURLWithPath: path))), Int(data.test.labels[i]))
        }
    }
}
