import DigitLab
import DigitLabServer
import DigitLabTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The study page's and predict's caches through HummingbirdTesting: hits and misses, pages made
/// again when a file they read changes, and answers the same bytes as computed afresh.
@Suite("Server caches", .engineThreads)
struct CacheTests {
    static let pageCache = HTTPFields.Element.Name("X-Page-Cache")!, answerCache = HTTPFields.Element.Name("X-Answer-Cache")!
    let configuration: ServerConfiguration

    init() throws {
        configuration = try ServerFixture.results("caches")
        // The copied files are new; pages made from files changed this recently are not kept.
        Thread.sleep(forTimeInterval: 0.2)
    }

    func app() -> some ApplicationProtocol { Application(router: DigitLabServer.router(configuration)) }

    /// A request's status, `header`'s value and body.
    func get(_ client: some TestClientProtocol, _ uri: String, header: HTTPFields.Element.Name = Self.pageCache) async throws
        -> (status: HTTPResponse.Status, cache: String?, body: String) {
        try await client.execute(uri: uri, method: .get) { r in (r.status, r.headers[header], String(buffer: r.body)) }
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ bytes: [UInt8]) async throws
        -> (status: HTTPResponse.Status, cache: String?, body: [UInt8]) {
        try await client.execute(uri: uri, method: .post, body: ByteBuffer(bytes: bytes)) { r in
            (r.status, r.headers[Self.answerCache], Array(r.body.readableBytesView))
        }
    }

    /// Replaces `old` by `new` (of the same length) in the file, in place: same inode, same size,
    /// only the modification time tells.
    func rewriteInPlace(_ path: String, _ old: String, _ new: String) throws {
        precondition(old.utf8.count == new.utf8.count)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(old), "\(path) holds \(old)")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(text.replacingOccurrences(of: old, with: new).utf8))
        try handle.close()
    }

    @Test("the study page: a miss, then the same bytes as a hit; a changed summary.csv (even in place, same size) or verdicts.csv shows at once")
    func studyPage() async throws {
        let summary = configuration.results + "/summary.csv"
        let table = try CSVTable.read(path: summary)
        let mean = table.rows[0][table.column("test_acc_mean")!]
        let changed = String(mean.reversed()) == mean ? "00.00" : String(mean.reversed())
        try await app().test(.router) { client in
            let first = try await get(client, "/")
            #expect(first.status == .ok && first.cache == "miss")
            let second = try await get(client, "/")
            #expect(second.cache == "hit" && second.body == first.body)
            // Another query is another page.
            let loss = try await get(client, "/?quantity=loss")
            #expect(loss.cache == "miss" && loss.body != first.body)

            // summary.csv rewritten in place, same size: the page shows the new figure at once, and
            // is kept again once the file has settled (how soon depends on this machine's pace).
            try rewriteInPlace(summary, "," + mean + ",", "," + changed + ",")
            let fresh = try await get(client, "/")
            #expect(fresh.cache == "miss" && fresh.body.contains(changed + " ± ") && !fresh.body.contains(mean + " ± "))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await get(client, "/").body == fresh.body)
            let kept = try await get(client, "/")
            #expect(kept.cache == "hit" && kept.body == fresh.body)

            // The verdicts go when their file does, and come back with it (written atomically).
            let verdicts = configuration.results + "/verdicts.csv"
            let text = try String(contentsOfFile: verdicts, encoding: .utf8)
            try FileManager.default.removeItem(atPath: verdicts)
            let without = try await get(client, "/")
            #expect(without.cache == "miss" && !without.body.contains("<h2>Verdicts</h2>"))
            try text.write(toFile: verdicts, atomically: true, encoding: .utf8)
            let with = try await get(client, "/")
            #expect(with.cache == "miss" && with.body.contains("<h2>Verdicts</h2>"))
        }
    }

    @Test("the curves: kept until a run's history changes; a new study directory shows on the page")
    func curvesAndStudies() async throws {
        let uri = "/study/curves.svg?cases=case1&quantity=accuracy&splits=train"
        try await app().test(.router) { client in
            let first = try await get(client, uri)
            #expect(first.status == .ok && first.cache == "miss")
            #expect(try await get(client, uri).cache == "hit")
            // A seed's history grows by an epoch of 100% accuracy: the chart changes.
            let history = configuration.results + "/runs/case1/seed-0/history.csv"
            let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n").map(String.init)
            let header = lines[0].split(separator: ",").map(String.init)
            let last = lines[lines.count - 1].split(separator: ",").map(String.init)
            let epoch = header.firstIndex(of: "epoch")!
            let extra = zip(header, last).map { name, value in
                name == "epoch" ? String(Int(value)! + 1) : (name.contains("acc") ? "1.0" : value)
            }.joined(separator: ",")
            try (lines + [extra]).joined(separator: "\n").appending("\n").write(toFile: history, atomically: true, encoding: .utf8)
            #expect(epoch >= 0)
            let grown = try await get(client, uri)
            #expect(grown.cache == "miss" && grown.body != first.body)

            // A study of its own appears in the page's study list when its directory does.
            let page = try await get(client, "/")
            #expect(!page.body.contains("?study=another"))
            let another = configuration.results + "/another"
            try FileManager.default.createDirectory(atPath: another + "/runs", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: configuration.results + "/summary.csv", toPath: another + "/summary.csv")
            let listed = try await get(client, "/")
            #expect(listed.cache == "miss" && listed.body.contains("?study=another"))
        }
    }

    @Test("predict: the same upload again is a hit with the same bytes; other uploads, models and modes get their own answers, the same as a server that never saw them")
    func answers() async throws {
        let all = try ServerFixture.testDigits(7)
        let digits = Array(all.prefix(6)), extra = all[6]
        let uri = "/api/predict?model=models/case7"
        let computed = try await app().test(.router) { client -> [[UInt8]] in
            var computed: [[UInt8]] = []
            for d in digits {
                let first = try await post(client, uri, d.png)
                #expect(first.status == .ok && first.cache == "miss")
                let again = try await post(client, uri, d.png)
                #expect(again.cache == "hit" && again.body == first.body)
                computed.append(first.body)
            }
            #expect(Set(computed).count == digits.count, "each upload its own answer")
            // Eight clients sending one new upload at once: one computes it, the others wait for its answer.
            let together = try await withThrowingTaskGroup(of: (cache: String?, body: [UInt8]).self) { group in
                for _ in 0..<8 { group.addTask { let r = try await post(client, uri, extra.png); return (r.cache, r.body) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(together.filter { $0.cache == "miss" }.count == 1 && together.filter { $0.cache == "hit" }.count == 7)
            #expect(Set(together.map(\.body)).count == 1)
            // The same bytes in number mode, or read by another model, are other questions.
            let number = try await post(client, uri + "&number=1", digits[0].png)
            #expect(number.status == .ok && number.cache == "miss" && number.body != computed[0])
            #expect(try await post(client, uri + "&number=1", digits[0].png).cache == "hit")
            let other = try await post(client, "/api/predict?model=runs/zca/seed-0", digits[0].png)
            #expect(other.status == .ok && other.cache == "miss" && other.body != computed[0])
            // Not an image: never kept, the same 415 each time.
            for _ in 0..<2 {
                let bad = try await post(client, uri, Array("not an image at all".utf8))
                #expect(bad.status == .unsupportedMediaType && bad.cache == nil)
            }
            return computed
        }
        // A server that never saw these uploads answers each with the same bytes, in another order.
        try await app().test(.router) { client in
            for (d, answer) in zip(digits, computed).reversed() {
                let fresh = try await post(client, uri, d.png)
                #expect(fresh.cache == "miss" && fresh.body == answer)
            }
        }
    }

    @Test("predict: an upload over 64 KB is answered afresh each time, the same answer")
    func largeUploads() async throws {
        // A 28 x 28 digit centred on a 300 x 300 picture of faint noise, as a PGM over 64 KB.
        let digit = try ServerFixture.testImages(1)[0]
        var pixels = [UInt8](repeating: 0, count: 300 * 300)
        for i in pixels.indices { pixels[i] = UInt8((i * 7919) % 5) }
        for y in 0..<28 { for x in 0..<28 { pixels[(136 + y) * 300 + 136 + x] = digit.pixels[y * 28 + x] } }
        let pgm = Array("P5\n300 300\n255\n".utf8) + pixels
        #expect(pgm.count > 64 << 10)
        try await app().test(.router) { client in
            let first = try await post(client, "/api/predict?model=models/case7", pgm)
            let second = try await post(client, "/api/predict?model=models/case7", pgm)
            #expect(first.status == .ok && first.cache == "miss" && second.cache == "miss" && second.body == first.body)
        }
    }
}
