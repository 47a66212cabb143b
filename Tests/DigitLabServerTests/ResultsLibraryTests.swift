import DigitLabTestSupport
import DigitLab
import DigitLabServer
import Foundation
import Testing

/// The server's one-name lookups (`run(id:)`, `model(id:)`, `isServable`) find exactly what the
/// full listings (`runs()`, `models()`, `servableFiles()`) find, on the committed results, and
/// nothing outside them.
@Suite("Server: results lookups")
struct ResultsLibraryTests {
    @Test("each run, model and file the listings have is found by name; traversal and near misses are not")
    func lookupsAgreeWithListings() throws {
        let configuration = try ServerFixture.results("lookups")
        let library = ResultsLibrary(root: configuration.results)
        let runs = library.runs()
        #expect(runs.count >= 64)
        for run in runs {
            let found = library.run(id: run.id)
            #expect(found?.directory == run.directory && found?.status == run.status, "\(run.id)")
        }
        let models = library.models()
        #expect(models.contains { $0.id == "models/case7" })
        for model in models { #expect(library.model(id: model.id) == model, "\(model.id)") }
        let files = library.servableFiles()
        #expect(files.contains("summary.csv") && files.contains("plots/test-accuracy.svg"))
        for file in files { #expect(library.isServable(file), "\(file)") }
        let misses = ["../results/summary.csv", "/etc/passwd", "runs/../summary.csv", "./summary.csv", "plots//test-accuracy.svg",
                      "runs", "runs/case1", "runs/case1/seed-0/spec.yaml", "runs/case1/seed-00/history.csv", "summary.csv/"]
        for path in misses { #expect(!library.isServable(path), "\(path)") }
        for id in ["runs/case1/seed-00", "runs/case1/seed-+0", "runs/../runs/case1/seed-0", "runs/case1", "summary.csv/runs/case1/seed-0",
                   "/runs/case1/seed-0", "runs/case1/seed-0/"] {
            #expect(library.run(id: id) == nil, "\(id)")
        }
        for id in ["models/../models/case7", "models/case7.safetensors", "models/", "runs/case1/seed-0"] {
            #expect(library.model(id: id) == nil, "\(id)")
        }
    }
}
