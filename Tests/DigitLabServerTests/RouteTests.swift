import DigitLab
import DigitLabServer
import DigitLabTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Every page and endpoint of `digitlab serve`, through HummingbirdTesting, on a copy of the
/// committed results directory.
@Suite("Server routes", .engineThreads)
struct RouteTests {
    let configuration: ServerConfiguration
    let app: Application<RouterResponder<BasicRequestContext>>

    init() throws {
        configuration = try ServerFixture.results("routes")
        app = Application(router: DigitLabServer.router(configuration))
    }

    func body(_ r: TestResponse) -> String { String(buffer: r.body) }

    /// The number of `<tr>` rows in the body of the table with this id.
    func rows(_ page: String, table id: String) -> Int {
        guard let start = page.range(of: "<table id=\"\(id)\">"),
              let end = page.range(of: "</table>", range: start.upperBound..<page.endIndex),
              let tbody = page.range(of: "<tbody>", range: start.upperBound..<end.lowerBound) else { return -1 }
        return page[tbody.upperBound..<end.lowerBound].components(separatedBy: "<tr>").count - 1
    }

    @Test("the study page: the reproduction table of summary.csv (ours, Keras, paper, flags), the curve chooser, no verdicts until they exist")
    func study() async throws {
        // The committed verdicts are set aside first, to see the page without them.
        let verdicts = configuration.results + "/verdicts.csv"
        let committed = try? String(contentsOfFile: verdicts, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: verdicts)
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "text/html; charset=utf-8")
                let page = body(r)
                #expect(rows(page, table: "reproduction") == 8)
                // Case 1's test accuracy as summary.csv has it: mean ± std (min-max) · Keras · paper.
                let summary = try CSVTable.read(path: configuration.results + "/summary.csv")
                let case1 = try #require(summary.rows.first)
                func cell(_ c: String) -> String { case1[summary.column(c)!] }
                #expect(page.contains("\(cell("test_acc_mean")) ± \(cell("test_acc_std")) (\(cell("test_acc_min"))-\(cell("test_acc_max")))"
                                      + " · \(cell("test_acc_keras")) · \(cell("test_acc_paper"))"))
                #expect(page.contains("<span class=\"flag\">99.46 ⚑</span>"))
                #expect(page.contains("id=\"curves-chart\"") && page.contains("value=\"case8\""))
                #expect(!page.contains("Verdicts"))
                #expect(!page.contains("http://") && !page.contains("https://"), "the page loads nothing from the network")
            }
            // The verdicts appear once the file does: the committed one, row for row.
            let text = try #require(committed, "results/verdicts.csv is missing")
            try text.write(toFile: verdicts, atomically: true, encoding: .utf8)
            let table = try CSVTable.read(path: verdicts)
            try await client.execute(uri: "/", method: .get) { r in
                #expect(rows(body(r), table: "verdicts") == table.rows.count)
                #expect(table.rows.count > 0 && body(r).contains(table.rows[0][0]))
            }
            try await client.execute(uri: "/?study=fashion-mnist", method: .get) { r in
                #expect(r.status == .ok)
                #expect(rows(body(r), table: "reproduction") == 8)
                #expect(body(r).contains("fashion-case1"))
            }
            try await client.execute(uri: "/?study=..", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    @Test("curves: each chosen case's mean line and seed band, training solid and validation dashed; unknown cases are 404")
    func curves() async throws {
        try await app.test(.router) { client in
            try await client.execute(uri: "/study/curves.svg?cases=case1,case7&quantity=accuracy&splits=train,validation", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "image/svg+xml")
                let svg = body(r)
                #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
                // As many seeds as summary.csv counts for each case.
                let summary = try CSVTable.read(path: configuration.results + "/summary.csv")
                func seeds(_ name: String) -> Int {
                    summary.rows.first { $0[summary.column("name")!] == name }.map { $0[summary.column("seeds")!].split(separator: " ").count } ?? -1
                }
                #expect(svg.contains("case1 training (\(seeds("case1")) seeds)") && svg.contains("case1 validation (\(seeds("case1")) seeds)"))
                // Case 7 trains from the augmenting generator: no validation split, no validation line.
                #expect(svg.contains("case7 training (\(seeds("case7")) seeds)") && !svg.contains("case7 validation"))
                #expect(svg.contains("stroke-dasharray"))
            }
            try await client.execute(uri: "/study/curves.svg?cases=case2&quantity=loss&splits=train", method: .get) { r in
                #expect(body(r).contains("Loss by epoch") && body(r).contains("case2 training") && !body(r).contains("case2 validation"))
            }
            try await client.execute(uri: "/study/curves.svg?cases=case9", method: .get) { r in #expect(r.status == .notFound) }
        }
    }

    @Test("runs: every run of the results directory, filtered by spec, seed and status; a run's page shows spec, history and timing")
    func runs() async throws {
        let count = ResultsLibrary(root: configuration.results).runs().count
        #expect(count >= 70)
        try await app.test(.router) { client in
            try await client.execute(uri: "/runs", method: .get) { r in
                #expect(rows(body(r), table: "runs") == count)
                #expect(body(r).contains("fashion-case3") && body(r).contains("href=\"/run/runs/zca/seed-0\""))
            }
            try await client.execute(uri: "/runs?spec=case7&status=finished", method: .get) { r in
                let seeds = try FileManager.default.contentsOfDirectory(atPath: configuration.results + "/runs/case7").count
                #expect(rows(body(r), table: "runs") == seeds)
            }
            try await client.execute(uri: "/runs?seed=1&status=finished", method: .get) { r in
                // As many as the listing has (the eight MNIST cases, and whatever else trained a seed 1).
                let finished = ResultsLibrary(root: configuration.results).runs().filter { $0.seed == 1 && $0.status == .finished }
                #expect(finished.count >= 8 && rows(body(r), table: "runs") == finished.count)
            }
            try await client.execute(uri: "/runs?status=running", method: .get) { r in #expect(rows(body(r), table: "runs") == 0) }
            try await client.execute(uri: "/run/runs/case7/seed-0", method: .get) { r in
                #expect(r.status == .ok)
                let page = body(r)
                #expect(rows(page, table: "history") == 20)
                #expect(page.contains("98.730"), "the summary's test accuracy")
                #expect(page.contains("name: case7") && page.contains("epochs: 20"), "the resolved spec")
                #expect(page.contains("median 14.95 s per epoch") || page.contains("s per epoch"))
                #expect(page.contains("case7 seed 0: accuracy by epoch"))
            }
            try await client.execute(uri: "/api/progress/runs/case7/seed-0", method: .get) { r in
                #expect(body(r).contains("\"status\":\"finished\"") && body(r).contains("\"completedEpochs\":20"))
            }
        }
    }

    @Test("names from URLs are looked up in the directory's listing: ../ and absolute paths are 404, and the server goes on serving")
    func traversal() async throws {
        try await app.test(.router) { client in
            for uri in ["/run/../../../etc/passwd", "/run/runs/case7/seed-0/../../../../Package.swift", "/run/%2Fetc%2Fpasswd",
                        "/run/runs/case7", "/run/runs/case7/seed-99", "/files/../Package.swift", "/files/%2E%2E/%2E%2E/Package.swift",
                        "/files//etc/passwd", "/files/runs/case7/seed-0/spec.yaml", "/files/runs/case7/seed-0/../../../summary.csv",
                        "/api/progress/../results", "/sweep/..%2Fcase7", "/sweep/%2Fetc%2Fpasswd", "/try/../../etc/passwd",
                        "/study/curves.svg?cases=../case1", "/study/curves.svg?study=/etc&cases=case1"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .notFound, "\(uri): \(r.status)")
                    #expect(!body(r).contains("root:"), "\(uri)")
                }
            }
            try await client.execute(uri: "/files/plots/test-accuracy.svg", method: .get) { r in
                #expect(r.status == .ok && r.headers[.contentType] == "image/svg+xml")
            }
            try await client.execute(uri: "/files/summary.csv", method: .get) { r in #expect(body(r).hasPrefix("case,name,")) }
            try await client.execute(uri: "/", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test("sweeps: each spec in experiments/sweeps, its grid points against each other as a table and a chart")
    func sweeps() async throws {
        try await app.test(.router) { client in
            try await client.execute(uri: "/sweeps", method: .get) { r in
                #expect(body(r).contains("href=\"/sweep/smoke-lr\"") && body(r).contains("href=\"/sweep/case7-lr\""))
            }
            try await client.execute(uri: "/sweep/smoke-lr", method: .get) { r in
                #expect(r.status == .ok)
                #expect(rows(body(r), table: "grid") == 2)
                #expect(body(r).contains("optimizer.learning_rate=0.0005"))
            }
            try await client.execute(uri: "/sweep/smoke-lr/chart.svg", method: .get) { r in
                #expect(r.headers[.contentType] == "image/svg+xml")
                #expect(body(r).contains("optimizer.learning_rate") && body(r).contains("0.0005"))
            }
        }
    }

    @Test("try: the page offers every saved model; predict reads MNIST test digits uploaded as 28x28 PNGs with both pipelines")
    func predict() async throws {
        let digits = try ServerFixture.testDigits(20)
        try await app.test(.router) { client in
            try await client.execute(uri: "/try", method: .get) { r in
                #expect(body(r).contains("<canvas id=\"pad\"") && body(r).contains("value=\"models/case7\""))
            }
            var right = 0
            for d in digits {
                try await client.execute(uri: "/api/predict?model=models/case7", method: .post, body: ByteBuffer(bytes: d.png)) { r in
                    #expect(r.status == .ok)
                    let reply = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                    let readings = reply["readings"] as! [[String: Any]]
                    #expect(readings.map { $0["pipeline"] as! String } == ["mnist", "paper"])
                    let mnist = readings[0]
                    #expect((mnist["input"] as! [Int]).count == 784 && (mnist["probabilities"] as! [Double]).count == 10)
                    if mnist["digit"] as? Int == d.label { right += 1 }
                }
            }
            // The shipped model reads 20 of these 20 through the mnist pipeline on this machine.
            #expect(right >= 18, "\(right) of 20 read right")
        }
    }

    @Test("try, number mode: MNIST test digits side by side read as the number their labels make, each digit with its box and input; no number gets a 422 and one line")
    func predictNumber() async throws {
        // The first four test digits, 7 2 1 0, which the shipped model reads right.
        let number = try ServerFixture.testNumber(4)
        #expect(number.label == "7210")
        try await app.test(.router) { client in
            try await client.execute(uri: "/try?number=1", method: .get) { r in
                let page = body(r)
                #expect(page.contains("id=\"number-mode\" checked") && page.contains("<canvas id=\"pad\" width=\"700\" height=\"200\">"))
                #expect(page.contains("id=\"result-mnist\" hidden") && !page.contains("id=\"result-number\" hidden"))
            }
            try await client.execute(uri: "/try", method: .get) { r in
                #expect(body(r).contains("<canvas id=\"pad\" width=\"280\" height=\"280\">") && body(r).contains("id=\"result-number\" hidden"))
            }
            try await client.execute(uri: "/api/predict?model=models/case7&number=1", method: .post, body: ByteBuffer(bytes: number.png)) { r in
                #expect(r.status == .ok)
                let reply = try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any], "\(body(r))")
                #expect(reply["model"] as? String == "models/case7")
                let reading = try #require(reply["reading"] as? [String: Any])
                #expect(reading["number"] as? String == number.label)
                let digits = try #require(reading["digits"] as? [[String: Any]])
                #expect(digits.map { $0["digit"] as? Int } == number.label.map { Int(String($0)) })
                // Boxes left to right, each inside its 28 x 28 square (16-pixel margin, 34 pixels apart).
                let boxes = digits.compactMap { $0["box"] as? [Int] }
                #expect(boxes.count == 4 && boxes.allSatisfy { $0.count == 4 })
                for (k, b) in boxes.enumerated() {
                    #expect(b[0] >= 16 + 34 * k && b[0] + b[2] <= 16 + 34 * k + 28 && b[1] >= 16 && b[1] + b[3] <= 44, "digit \(k): \(b)")
                }
                for d in digits {
                    #expect((d["probability"] as? Double ?? 0) > 0.5 && d["runner_up"] is Int && d["runner_up_probability"] is Double)
                    #expect(d["split"] as? Bool == false && d["input"] == nil)
                }
                // What the model read of each digit: 784 bytes with a stroke in them.
                let inputs = try #require(reply["inputs"] as? [[Int]])
                #expect(inputs.count == 4 && inputs.allSatisfy { $0.count == 784 && $0.filter { $0 > 128 }.count > 20 })
            }
            // No number: a blank picture, and more than 20 candidate digits.
            let blank = try ServerFixture.png(RasterImage(width: 120, height: 60, channels: 1, pixels: [UInt8](repeating: 0, count: 120 * 60)))
            let many = try ServerFixture.testNumber(22)
            for (what, png, words) in [("blank", blank, "found no digit"), ("22 digits", many.png, "22 candidate digits, more than 20")] {
                try await client.execute(uri: "/api/predict?model=models/case7&number=1", method: .post, body: ByteBuffer(bytes: png)) { r in
                    #expect(r.status == .unprocessableContent, "\(what): \(r.status)")
                    let text = body(r)
                    #expect(text.hasPrefix("upload: ") && text.contains(words), "\(what): \(text)")
                    #expect(text.hasSuffix("\n") && text.dropLast().split(separator: "\n").count == 1, "\(what): one line: \(text)")
                }
            }
            // Not an image is the same 4xx in number mode.
            try await client.execute(uri: "/api/predict?model=models/case7&number=1", method: .post, body: ByteBuffer(string: "not an image at all")) { r in
                #expect(r.status == .unsupportedMediaType)
            }
        }
    }

    @Test("bad uploads get a 4xx and one line: over 10 MB, over the decoders' pixel limit, not an image, an unknown model; serving goes on")
    func badUploads() async throws {
        try await app.test(.router) { client in
            let cases: [(String, [UInt8], HTTPResponse.Status, String)] = [
                ("too big", [UInt8](repeating: 0x41, count: ServerConfiguration.maximumUploadBytes + 1), .contentTooLarge, "larger than 10 MB"),
                ("pixels", Array("P5\n100000 100000\n255\n".utf8) + [0, 0, 0], .contentTooLarge, "megapixels"),
                ("text", Array("not an image at all".utf8), .unsupportedMediaType, "not a PNG, JPEG, PGM or PPM image"),
                ("empty", [], .unsupportedMediaType, "empty"),
                ("truncated PNG", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0], .unsupportedMediaType, "upload"),
            ]
            for (what, bytes, status, words) in cases {
                try await client.execute(uri: "/api/predict?model=models/case7", method: .post, body: ByteBuffer(bytes: bytes)) { r in
                    #expect(r.status == status, "\(what): \(r.status)")
                    let text = body(r)
                    #expect(text.contains(words), "\(what): \(text)")
                    #expect(text.hasSuffix("\n") && text.dropLast().split(separator: "\n").count == 1, "\(what): one line: \(text)")
                }
            }
            try await client.execute(uri: "/api/predict?model=../models/case7", method: .post, body: ByteBuffer(string: "x")) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    @Test("evaluate: a saved model's confusion matrix and misclassified digits, computed once, cached under evaluate/ as digitlab evaluate writes them")
    func evaluate() async throws {
        let cache = configuration.results + "/evaluate/case7"
        try? FileManager.default.removeItem(atPath: cache)
        try await app.test(.router) { client in
            try await client.execute(uri: "/evaluate/models/case7", method: .post) { r in
                #expect(r.status == .seeOther)
            }
            let evaluation = try CSVTable.read(path: cache + "/evaluation.csv")
            #expect(evaluation.rows.first?[evaluation.column("accuracy")!] == "98.730", "the model's recorded test accuracy")
            for file in ["confusion.csv", "confusion.svg", "misclassified.csv", "misclassified.svg"] {
                #expect(FileManager.default.fileExists(atPath: cache + "/" + file), "\(file)")
            }
            try await client.execute(uri: "/files/evaluate/case7/confusion.svg", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/evaluate/models/nothing", method: .post) { r in #expect(r.status == .notFound) }
        }
    }
}
