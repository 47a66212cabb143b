import DigitLab
import DigitLabEngine
@testable import DigitLabServer
import DigitLabTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Predict on 28 x 28 uploads, which the mnist pipeline reads at their own size (`MNISTSized`),
/// and predict's hand-written JSON (`PredictJSON`).
@Suite("Predict on small uploads", .engineThreads)
struct SmallUploadTests {
    static let shippedModel = TestPaths.root + "/results/models/case7.safetensors"

    /// An 8-bit grey image as a binary PGM file's bytes.
    static func pgm(_ pixels: [UInt8], width: Int = 28, height: Int = 28) -> [UInt8] {
        Array("P5\n\(width) \(height)\n255\n".utf8) + pixels
    }

    @Test("1,000 MNIST test digits uploaded as 28 x 28 PGMs read through predict about as well as given to the engine directly")
    func mnistDigitsThroughPredict() async throws {
        let digits = try ServerFixture.testImages(1000)
        // The engine directly: each digit normalized as the model was trained, one forward pass each.
        let reader = try DigitReader(modelPath: Self.shippedModel)
        let set = LabeledImages(images: digits.flatMap(\.pixels), labels: digits.map { Int32($0.label) }, height: 28, width: 28)
        let normalized = reader.normalization.apply(set)
        let direct = reader.probabilities((0..<digits.count).map { Array(normalized[$0 * 784..<($0 + 1) * 784]) })
        let rightDirect = zip(direct, digits).filter { p, d in p.indices.max { p[$0] < p[$1] } == d.label }.count
        // The same digits read at their own size, not sent through the photograph steps.
        let small = digits.filter { MNISTSized.read(RasterImage(width: 28, height: 28, channels: 1, pixels: $0.pixels)) != nil }.count

        let configuration = try ServerFixture.results("small-uploads")
        let app = Application(router: DigitLabServer.router(configuration))
        try await app.test(.router) { client in
            var rightPredict = 0
            for d in digits {
                let read = try await client.execute(uri: "/api/predict?model=models/case7", method: .post,
                                                    body: ByteBuffer(bytes: Self.pgm(d.pixels))) { r -> Int? in
                    #expect(r.status == .ok)
                    let reply = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                    let mnist = (reply["readings"] as! [[String: Any]])[0]
                    #expect(mnist["pipeline"] as? String == "mnist")
                    return mnist["digit"] as? Int
                }
                if read == d.label { rightPredict += 1 }
            }
            // Most are read at their own size (948 measured; the rest, strokes one pixel wide, by
            // the pipeline), so this measures the fast path, not the pipeline.
            #expect(small >= 930, "\(small) of 1000 read at their own size")
            // Measured: 988 of 1000 both ways with the shipped model (the pipeline read 989 before
            // these digits were read at their own size). A digit read at its own size differs from
            // the engine's input only by its faintest rim and at most a pixel of centring, so the two
            // should agree but for a borderline digit or two: 3 digits (0.3 points) of room, well
            // under what reading through the photograph steps at 280 x 280 could cost.
            #expect(rightPredict >= rightDirect - 3, "of 1000: \(rightDirect) right through the engine directly, \(rightPredict) through predict")
            #expect(rightDirect >= 980, "the shipped model reads \(rightDirect) of the first 1000 test digits (98.8% measured)")
        }
    }

    @Test("predict's JSON is byte for byte JSONEncoder's, on real answers and on awkward values")
    func jsonSameAsEncoder() async throws {
        // Real answers: MNIST digits and photographs through both pipelines, a blank picture (errors).
        let inference = Inference(dataDirectory: TestPaths.mnist)
        let model = SavedModel(id: "models/case7", path: Self.shippedModel)
        var uploads = try ServerFixture.testImages(20).map { Self.pgm($0.pixels) }
        uploads.append(Self.pgm([UInt8](repeating: 0, count: 784)))
        let data = try Dataset.load(DatasetFiles.named("mnist")!, directory: TestPaths.mnist)
        for i in 0..<5 {
            let photo = SyntheticPhotos.make(from: data.test, source: i * 101, index: i).image
            uploads.append(try ServerFixture.png(photo))
        }
        var compared = 0
        for bytes in uploads {
            let response = try inference.predict(bytes: bytes, name: "upload", model: model)
            let mine = try #require(PredictJSON.encode(response))
            #expect(mine == (try Site.jsonBytes(response)))
            compared += 1
        }
        #expect(compared == 26)
        // Awkward values: tiny, whole and long probabilities, strings needing escapes, missing fields.
        // Seeded, so that a failure shows again on the next run.
        var random = Xoshiro256(seed: 20)
        var probabilities: [Double] = [0, 1, 1e-6, 3e-7, 1e-5, 0.5, 0.1, 1.0 / 3.0, 123456, 1e16, 2.5e-5, 0.000999]
        for _ in 0..<2000 { probabilities.append((Double.random(in: 0...1, using: &random) * 1e6).rounded() / 1e6) }
        for _ in 0..<200 { probabilities.append(Double.random(in: 0...1e-4, using: &random)) }
        let readings = stride(from: 0, to: probabilities.count, by: 10).map { k in
            PipelineReading(pipeline: "mnist", digit: k % 10, probabilities: Array(probabilities[k..<min(k + 10, probabilities.count)]),
                            input: (0..<784).map { UInt8(($0 * 7 + k) % 256) }, ink: k % 2 == 0 ? "dark" : "light", thickened: k % 3 == 0)
        } + [PipelineReading(pipeline: "paper", error: "found no \"digit\": a\\b/c\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f} é ✓ \u{2028}"),
             PipelineReading(pipeline: "mnist", digit: 3, probabilities: nil, input: [], ink: nil, thickened: nil)]
        for model in ["models/case7", "runs/a b/seed-0", "m\"odel\\"] {
            let response = PredictResponse(model: model, readings: readings)
            #expect(PredictJSON.encode(response) == (try Site.jsonBytes(response)), "\(model)")
        }
        // Not finite: no hand-written answer, so the caller asks JSONEncoder (which refuses).
        #expect(PredictJSON.encode(PredictResponse(model: "m", readings: [PipelineReading(pipeline: "mnist", probabilities: [.nan])])) == nil)
    }

    @Test("uploads read on many threads at once get the bytes they get one at a time, and replacing the model file changes no answer")
    func readersAtOnce() async throws {
        // A copy of the shipped model, which the test then replaces.
        let path = TestPaths.temporaryDirectory("readers") + "/case7.safetensors"
        try FileManager.default.copyItem(atPath: Self.shippedModel, toPath: path)
        let model = SavedModel(id: "models/case7", path: path)
        let data = try Dataset.load(DatasetFiles.named("mnist")!, directory: TestPaths.mnist)
        let uploads = try ServerFixture.testImages(24).map { Self.pgm($0.pixels) }
            + (0..<4).map { try ServerFixture.png(SyntheticPhotos.make(from: data.test, source: $0 * 37, index: $0).image) }
        let inference = Inference(dataDirectory: nil)
        let oneAtATime = try uploads.map { try #require(PredictJSON.encode(try inference.predict(bytes: $0, name: "upload", model: model))) }

        // The file replaced by a model with other weights (conv1's kernel halved), atomically as runs write.
        let (loaded, metadata) = try Checkpoint.loadModel(path: path, capacity: 1)
        let conv1 = try #require(loaded.layers.first { $0.name == "conv1" }?.parameters.first)
        for i in 0..<conv1.value.count { conv1.value.data[i] *= 0.5 }
        try Checkpoint.saveModel(loaded, metadata: metadata, to: path)

        // Eight threads, each reading every upload in its own order: readers are lent to one at a time.
        let threads = 8
        nonisolated(unsafe) var answers = [[ByteBuffer?]](repeating: [ByteBuffer?](repeating: nil, count: uploads.count), count: threads)
        nonisolated(unsafe) var failures = 0
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for k in 0..<uploads.count {
                let i = (k * 5 + t * 7) % uploads.count
                let answer = try? PredictJSON.encode(inference.predict(bytes: uploads[i], name: "upload", model: model))
                lock.withLock { if answer == nil { failures += 1 } else { answers[t][i] = answer } }
            }
        }
        #expect(failures == 0)
        for t in 0..<threads {
            let differing = (0..<uploads.count).filter { answers[t][$0] != oneAtATime[$0] }
            #expect(differing.isEmpty, "thread \(t): uploads \(differing) read otherwise than one at a time")
        }
        // The lending itself: four threads each holding a reader for 20 ms at the same time get
        // four different readers, made from the first read of the file.
        nonisolated(unsafe) var inUse = Set<ObjectIdentifier>(), lent = Set<ObjectIdentifier>(), clashes = 0
        let all = DispatchGroup()
        for _ in 0..<4 {
            all.enter()
            Thread {
                _ = try? inference.readers.borrow(model) { reader in
                    let id = ObjectIdentifier(reader)
                    lock.withLock { if !inUse.insert(id).inserted { clashes += 1 }; lent.insert(id) }
                    usleep(20_000)
                    lock.withLock { _ = inUse.remove(id) }
                }
                all.leave()
            }.start()
        }
        all.wait()
        #expect(clashes == 0, "a reader was lent to two threads at once")
        #expect(lent.count == 4)
        let again = try inference.predict(bytes: uploads[0], name: "upload", model: model)
        #expect(PredictJSON.encode(again) == oneAtATime[0])
        // A new server reads the new file: the halved kernel does change answers.
        let fresh = try Inference(dataDirectory: nil).predict(bytes: uploads[0], name: "upload", model: model)
        #expect(PredictJSON.encode(fresh) != oneAtATime[0])
    }
}
