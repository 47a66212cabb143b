import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

@Suite("IDX reader")
struct IDXTests {
    static let trainLabels = TestPaths.mnist + "/train-labels-idx1-ubyte.gz"
    static let testImages = TestPaths.mnist + "/t10k-images-idx3-ubyte.gz"

    @Test("reads the real MNIST test images and training labels, with their canonical checksums")
    func realFiles() throws {
        let images = try IDX.read(path: Self.testImages, expectedDimensions: 3)
        #expect(images.shape == [10000, 28, 28])
        #expect(images.md5 == DatasetFiles.mnist.testImages.md5)
        let labels = try IDX.read(path: Self.trainLabels, expectedDimensions: 1)
        #expect(labels.shape == [60000])
        #expect(labels.bytes.allSatisfy { $0 <= 9 })
        #expect(labels.md5 == DatasetFiles.mnist.trainLabels.md5)
        // The first training labels of MNIST, well known: 5 0 4 1 9 2 1 3 1 4.
        #expect(Array(labels.bytes.prefix(10)) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    }

    @Test("plain (uncompressed) files read the same as gzip ones")
    func plain() throws {
        let dir = TestPaths.temporaryDirectory("idx")
        let gz = try IDX.read(path: Self.trainLabels)
        let path = dir + "/labels-idx1-ubyte"
        try Data(gz.header + gz.bytes).write(to: URL(fileURLWithPath: path))
        let plain = try IDX.read(path: path)
        #expect(plain.shape == gz.shape && plain.bytes == gz.bytes)
    }

    /// Writes `bytes` to a temporary file and returns the reader's error message.
    func error(reading bytes: [UInt8], name: String = "bad-idx", rank: Int? = nil) -> String? {
        let path = TestPaths.temporaryDirectory("idx") + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        do {
            _ = try IDX.read(path: path, expectedDimensions: rank)
            return nil
        } catch let e as DataError {
            #expect(e.file == path, "the error names the file")
            return e.problem
        } catch {
            return "\(error)"
        }
    }

    @Test("rejects bad magic, wrong type, wrong rank, short data, trailing data and absurd sizes")
    func malformed() throws {
        #expect(error(reading: [1, 2, 3, 4, 0, 0, 0, 1, 7])?.contains("magic") == true)
        #expect(error(reading: [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0])?.contains("type") == true)
        #expect(error(reading: [0, 0, 8, 1, 0, 0, 0, 2, 5, 6], rank: 3)?.contains("dimensions") == true)
        #expect(error(reading: [0, 0, 8, 1, 0, 0, 0, 5, 1, 2])?.contains("truncated") == true)
        #expect(error(reading: [0, 0, 8, 1, 0, 0, 0, 1, 1, 2])?.contains("beyond") == true)
        // 0xFFFFFFFF x 0xFFFFFFFF images: refused from the header, before any allocation.
        #expect(error(reading: [0, 0, 8, 2, 255, 255, 255, 255, 255, 255, 255, 255])?.contains("limit") == true)
        #expect(error(reading: [0, 0])?.contains("truncated") == true)
    }

    @Test("rejects a truncated and a corrupt gzip file")
    func badGzip() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: Self.trainLabels))
        let truncated = Array(whole.prefix(whole.count / 2))
        let message = error(reading: truncated, name: "truncated.gz")
        #expect(message?.contains("truncated") == true, "got \(message ?? "no error")")
        var corrupt = Array(whole)
        for i in stride(from: 40, to: min(corrupt.count, 4000), by: 7) { corrupt[i] ^= 0x5A }
        let corruptMessage = error(reading: corrupt, name: "corrupt.gz")
        #expect(corruptMessage != nil, "a corrupt .gz must not read")
    }

    @Test("a dataset directory without the files says how to point the harness at them")
    func missingDirectory() {
        do {
            _ = try Dataset.load(.mnist, directory: "/nonexistent/mnist")
            Issue.record("loading from a missing directory succeeded")
        } catch let e as DataError {
            #expect(e.problem.contains("--data") && e.problem.contains("DIGITLAB_DATA") && e.problem.contains("make data"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
