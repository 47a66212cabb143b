import DigitLab
import DigitLabTestSupport
import Foundation
import Testing

/// Both pipelines on synthetic photographs of MNIST test digits (`SyntheticPhotos`: enlarged,
/// rotated, off-centre, on tinted light or dark paper under uneven light with noise, some with thin
/// strokes or ruled lines), saved and read back as PNG and JPEG.
@Suite("Digit pipelines on photographs", .engineThreads)
struct DigitPipelineTests {
    /// Fraction of `count` photographs each pipeline reads right.
    static func accuracy(reader: DigitReader, data: LabeledImages, count: Int, offset: Int) throws -> [DigitPipeline: Double] {
        var correct: [DigitPipeline: Int] = [:]
        for i in 0..<count {
            let photo = SyntheticPhotos.make(from: data, source: (offset + i * 7919) % data.count, index: offset + i)
            let encoded = try Self.encodeAndDecode(photo)
            for pipeline in DigitPipeline.allCases {
                let prepared = try pipeline.prepare(encoded, normalization: reader.normalization)
                let p = reader.probabilities([prepared.input])[0]
                if p.indices.max(by: { p[$0] < p[$1] }) == photo.label { correct[pipeline, default: 0] += 1 }
            }
        }
        return correct.mapValues { Double($0) / Double(count) }.merging(DigitPipeline.allCases.map { ($0, 0.0) }) { a, _ in a }
    }

    /// The photograph as a file would hold it: JPEG (quality 85) or PNG, decoded again.
    static func encodeAndDecode(_ photo: SyntheticPhotos.Photo) throws -> RasterImage {
        let dir = TestPaths.temporaryDirectory("photo")
        let path = dir + (photo.jpeg ? "/photo.jpg" : "/photo.png")
        try ImageFile.write(photo.image, to: path, jpegQuality: 85)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try ImageFile.read(path: path)
    }

    @Test("with a model trained here, mnist reads at least 85% of the photographs and clearly more than paper")
    func trainedHere() throws {
        let shared = try PhotoFixtures.get()
        let reader = try DigitReader(modelPath: shared.modelPath)
        let acc = try Self.accuracy(reader: reader, data: shared.data.test, count: 60, offset: 1000)
        // The model has seen 10,000 digits once and none rotated; the shipped one does better (below).
        // Measured: 53 of 60 (0.883) through mnist, 7 (0.117) through paper; floors a few points under.
        #expect(acc[.mnist]! >= 0.85, "mnist \(acc[.mnist]!), paper \(acc[.paper]!)")
        #expect(acc[.mnist]! >= acc[.paper]! + 0.4, "mnist \(acc[.mnist]!), paper \(acc[.paper]!)")
    }

    @Test("the shipped model reads at least 93% of the photographs with the mnist pipeline (95% measured)")
    func shippedModel() throws {
        let shared = try PhotoFixtures.get()
        guard FileManager.default.fileExists(atPath: PhotoFixtures.shippedModel) else {
            Issue.record("the shipped model \(PhotoFixtures.shippedModel) is missing")
            return
        }
        let reader = try DigitReader(modelPath: PhotoFixtures.shippedModel)
        let acc = try Self.accuracy(reader: reader, data: shared.data.test, count: 100, offset: 5000)
        // Measured: 95 of 100 through mnist, 17 through paper. The floor leaves two photographs of
        // room for another CPU's rounding of a borderline one.
        #expect(acc[.mnist]! >= 0.93, "mnist \(acc[.mnist]!), paper \(acc[.paper]!)")
        #expect(acc[.mnist]! >= acc[.paper]! + 0.3, "mnist \(acc[.mnist]!), paper \(acc[.paper]!)")
    }

    @Test("MNIST's own test digits, given as images, read about as well through mnist as unprocessed")
    func mnistDigits() throws {
        let shared = try PhotoFixtures.get()
        let reader = try DigitReader(modelPath: shared.modelPath)
        let set = shared.data.test
        var raw = 0, piped = 0
        for i in stride(from: 0, to: 6000, by: 20) {
            let image = PhotoFixtures.mnistImage(set, i)
            let direct = reader.normalization.apply(LabeledImages(images: image.pixels, labels: [0], height: 28, width: 28))
            let prepared = try DigitPipeline.mnist.prepare(image, normalization: reader.normalization)
            let p = reader.probabilities([direct, prepared.input])
            if p[0].indices.max(by: { p[0][$0] < p[0][$1] }) == Int(set.labels[i]) { raw += 1 }
            if p[1].indices.max(by: { p[1][$0] < p[1][$1] }) == Int(set.labels[i]) { piped += 1 }
        }
        #expect(piped >= raw - 9, "of 300: \(raw) unprocessed, \(piped) through the mnist pipeline")
        // And read well at all: 262 of 300 through the pipeline and 264 unprocessed, measured with
        // the fixture's model (92% on the test set); the floor is a few points under.
        #expect(piped >= 252, "of 300: \(raw) unprocessed, \(piped) through the mnist pipeline")
    }

    @Test("the preview is the model's input scaled to white, and MNIST digits read as MNIST")
    func prepared() throws {
        let shared = try PhotoFixtures.get()
        let reader = try DigitReader(modelPath: shared.modelPath)
        let image = PhotoFixtures.mnistImage(shared.data.test, 0)
        let prepared = try DigitPipeline.mnist.prepare(image, normalization: reader.normalization)
        let top = prepared.input.max()!
        #expect(prepared.preview.pixels.max() == 255)
        #expect(zip(prepared.preview.pixels, prepared.input).allSatisfy { abs(Float($0) - $1 / top * 255) <= 0.5 })
        let p = reader.probabilities([prepared.input])[0]
        #expect(p.indices.max(by: { p[$0] < p[$1] }) == Int(shared.data.test.labels[0]))
    }
}
