import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

@Suite("Reproduction table")
struct ReproductionTableTests {
    /// A finished run's one-row summary, as the runner writes it.
    func writeSummary(_ dir: String, _ name: String, seed: Int, test: Double, status: String = "finished") throws {
        let path = "\(dir)/runs/\(name)/seed-\(seed)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let row = [name, "1", "mnist", String(seed), "20", status, "90.0", "99.5", "97.0", "98.9", String(test), "0.05", "12.0"]
        try CSVTable(header: RunSummary.csvColumns, rows: [row]).text.write(toFile: path + "/summary.csv", atomically: true, encoding: .utf8)
    }

    @Test("aggregates seeds, sets Keras and the paper beside ours, flags paper figures outside our range")
    func aggregate() throws {
        let dir = TestPaths.temporaryDirectory("table")
        for (seed, test) in [(0, 98.7), (1, 98.9), (2, 98.8)] { try writeSummary(dir, "case1", seed: seed, test: test) }
        try writeSummary(dir, "case1", seed: 3, test: 50, status: "diverged")
        try FileManager.default.createDirectory(atPath: dir + "/keras", withIntermediateDirectories: true)
        try "{\"case\": 1, \"epoch\": 1}\nSUMMARY {\"case\": 1, \"seed\": 0, \"min_train\": 0.9, \"max_train\": 0.997, \"test_acc\": 0.9874, \"min_val\": 0.97, \"max_val\": 0.99}\n"
            .write(toFile: dir + "/keras/case1-seed-0.jsonl", atomically: true, encoding: .utf8)
        let paper = try PaperResults.read(path: TestPaths.root + "/experiments/paper-results.csv")
        let table = try ReproductionTable.collect(resultsDirectory: dir, specs: [CaseKnobs(name: "case1", paperCase: 1, epochs: 20)],
                                                  paper: paper, keras: try KerasResults.read(directory: dir + "/keras"))
        let row = try #require(table.rows.first)
        #expect(row.seeds == [0, 1, 2], "the diverged seed is left out")
        let test = try #require(row.spreads[.test])
        #expect(abs(test.mean - 98.8) < 1e-9 && abs(test.std - 0.1) < 1e-9 && test.min == 98.7 && test.max == 98.9)
        let csv = table.csv
        func cell(_ c: String) -> String { csv.rows[0][csv.column(c)!] }
        #expect(cell("test_acc_keras") == "98.740")
        #expect(cell("test_acc_paper") == "98.61" && cell("test_acc_paper_outside") == "yes")
        #expect(cell("max_val_acc_paper_outside") == "yes")   // paper 98.61 against our 98.9 on every seed
        #expect(table.markdown.contains("**98.61** ⚑") && table.markdown.contains("98.74"))
    }

    @Test("a finished run made with another spec is left out of the table, and the table says so")
    func staleRuns() throws {
        let dir = TestPaths.temporaryDirectory("table")
        for seed in 0...2 {
            try writeSummary(dir, "case1", seed: seed, test: 98.0 + Double(seed))
            let spec = seed == 1 ? "name: case1\noptimizer:\n  learning_rate: 0.01\n" : "# resolved from elsewhere\nname: case1\n"
            try spec.write(toFile: "\(dir)/runs/case1/seed-\(seed)/spec.yaml", atomically: true, encoding: .utf8)
        }
        let knobs = CaseKnobs(name: "case1", paperCase: 1, epochs: 20, resolvedSpec: { _ in "# resolved from experiments/case1.yaml\nname: case1\n" })
        let table = try ReproductionTable.collect(resultsDirectory: dir, specs: [knobs], paper: nil)
        let row = try #require(table.rows.first)
        #expect(row.seeds == [0, 2] && row.staleSeeds == [1])
        #expect(row.spreads[.test]?.mean == 99.0)
        #expect(table.markdown.contains("Not counted: case1 seed 1, finished with another spec"))
        // Without a current spec to compare with, every finished run counts, as before.
        let plain = try ReproductionTable.collect(resultsDirectory: dir, specs: [CaseKnobs(name: "case1", paperCase: 1, epochs: 20)], paper: nil)
        #expect(plain.rows.first?.seeds == [0, 1, 2])
    }

    @Test("a single seed flags nothing")
    func singleSeed() throws {
        let dir = TestPaths.temporaryDirectory("table")
        try writeSummary(dir, "case1", seed: 0, test: 98.0)
        let table = try ReproductionTable.collect(resultsDirectory: dir, specs: [CaseKnobs(name: "case1", paperCase: 1, epochs: 20)],
                                                  paper: try PaperResults.read(path: TestPaths.root + "/experiments/paper-results.csv"))
        #expect(!table.markdown.contains("⚑ |") && table.csv.rows[0][table.csv.column("test_acc_paper_outside")!] == "")
    }
}
