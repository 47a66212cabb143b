import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The verdicts on the committed runs (the twelve one-knob pairs, the paper's claims, its figures
/// against one run), the claims file read strictly, and what each run records of its making.
@Suite("Verdicts")
struct VerdictTests {
    static let root = TestPaths.root

    static func caseSpecs() throws -> [ExperimentSpec] {
        try Reproduction.caseSpecs(experimentsDirectory: root + "/experiments")
    }

    @Test("the eight cases give twelve one-knob pairs, four per knob, each pair differing in that knob only")
    func twelvePairs() throws {
        let pairs = SeedComparison.oneKnobPairs(try Self.caseSpecs())
        #expect(pairs.count == 12)
        for knob in SeedComparison.Knob.allCases { #expect(pairs.filter { $0.knob == knob }.count == 4, "\(knob)") }
        let names = Set(pairs.map { "\($0.a.name)-\($0.b.name)" })
        for expected in ["case2-case1", "case4-case3", "case6-case5", "case8-case7", "case3-case1", "case4-case2", "case7-case5",
                         "case8-case6", "case5-case1", "case6-case2", "case7-case3", "case8-case4"] {
            #expect(names.contains(expected), "\(expected) missing from \(names.sorted())")
        }
    }

    @Test("the report on the committed runs: twelve pairs over their shared seeds, every claim judged, a figure check per paper figure, files that parse")
    func committedReport() throws {
        let specs = try Self.caseSpecs()
        var report = try VerdictReport.collect(specs: specs, resultsDirectory: Self.root + "/results",
                                               claimsPath: Self.root + "/experiments/paper-claims.yaml",
                                               paperResultsPath: Self.root + "/experiments/paper-results.csv")
        #expect(report.pairs.count == 12)
        for p in report.pairs {
            let a = try #require(report.sets.first { $0.name == p.a }), b = try #require(report.sets.first { $0.name == p.b })
            #expect(p.seeds == Set(a.seeds).intersection(b.seeds).sorted())
            #expect(p.seeds.count >= 3, "the record has at least three seeds of every case")
            #expect(p.statistics.adjustedP >= p.statistics.pValue)
            #expect(p.statistics.t.contains(p.statistics.meanDifference))
        }
        let claims = try PaperClaims.load(path: Self.root + "/experiments/paper-claims.yaml")
        #expect(report.claims.count == claims.claims.count && report.claims.count >= 5)
        #expect(report.claims.allSatisfy { $0.items.allSatisfy { $0.comparison != nil && $0.paperDifference != nil } })
        // 8 cases: 5 figures each without augmentation, 3 with.
        #expect(report.figures.count == 4 * 5 + 4 * 3)
        let case1MinTrain = try #require(report.figures.first { $0.paperCase == 1 && $0.column == "min_train_acc" })
        #expect(!case1MinTrain.inside, "the paper's 99.46% first-epoch figure is far outside any run of ours")

        let out = TestPaths.temporaryDirectory("verdicts")
        defer { try? FileManager.default.removeItem(atPath: out) }
        report.resultsDirectory = out
        let written = try report.write()
        #expect(written.count == 4)
        let csv = try CSVTable.read(path: out + "/verdicts.csv")
        #expect(csv.header == VerdictReport.csvHeader)
        #expect(csv.rows.filter { $0[0] == "one-knob" }.count == 12)
        let svg = try #require(FileManager.default.contents(atPath: out + "/plots/verdicts-forest.svg"))
        final class Counter: NSObject, XMLParserDelegate {
            var circles = 0
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
                if name == "circle" { circles += 1 }
            }
        }
        let parser = XMLParser(data: svg), counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "the forest plot is not well-formed XML")
        #expect(counter.circles == 12)
        let md = try String(contentsOfFile: out + "/verdicts.md", encoding: .utf8)
        for claim in claims.claims { #expect(md.contains(claim.text)) }
        #expect(try CSVTable.read(path: out + "/verdicts-figures.csv").rows.count == report.figures.count)
    }

    @Test("claims: better/worse follow the verdict; same and not-worse the interval against the margin")
    func judging() throws {
        let claims = PaperClaims(margin: 0.1, claims: [])
        let up = [0.5, 0.6, 0.55, 0.45, 0.52, 0.58, 0.49, 0.51, 0.6, 0.5]
        let zero = [Double](repeating: 0, count: 10)
        let tiny = [0.01, -0.01, 0.02, -0.02, 0.0, 0.01, -0.01, 0.015, -0.005, 0.0]
        let big = PairedComparison(a: up, b: zero), same = PairedComparison(a: tiny, b: zero)
        #expect(claims.judge(.better, big) == .supported)
        #expect(claims.judge(.worse, big) == .contradicted)
        #expect(claims.judge(.same, big) == .contradicted)
        #expect(claims.judge(.notWorse, big) == .supported)
        #expect(claims.judge(.same, same) == .supported)
        #expect(claims.judge(.better, same) == .undecided)
        let down = PairedComparison(a: zero, b: up)
        #expect(claims.judge(.notWorse, down) == .contradicted)
        #expect(PaperClaims.combine([.supported, .undecided]) == .undecided)
        #expect(PaperClaims.combine([.supported, .contradicted, .undecided]) == .contradicted)
        #expect(PaperClaims.combine([.supported, .supported]) == .supported)
    }

    @Test("a claims file with an unknown key, a bad expectation or an unknown case is refused, naming the file, line and key",
          arguments: [
            ("margin: 0.1\nclaims:\n  - id: x\n    claim: c\n    source: s\n    comparison: []\n", "claims[0].comparison: unknown key"),
            ("margin: 0.1\nclaims:\n  - id: x\n    claim: c\n    source: s\n    comparisons:\n      - {a: case1, b: case2, expect: higher}\n",
             "claims[0].comparisons[0].expect: expected one of better, worse, same, not-worse"),
            ("margin: -1\nclaims: []\n", "margin: expected a positive number"),
            ("margin: 0.1\nclaims:\n  - id: x\n    claim: c\n    source: s\n    comparisons:\n      - {a: case1, b: case1, expect: better}\n",
             "expected two different cases"),
          ])
    func strictClaims(text: String, message: String) throws {
        let dir = TestPaths.temporaryDirectory("claims")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/paper-claims.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try PaperClaims.load(path: path)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains(message)
        }
    }

    @Test("a claim naming a case that does not exist is refused by the report")
    func unknownCase() throws {
        let dir = TestPaths.temporaryDirectory("claims")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/paper-claims.yaml"
        try "margin: 0.1\nclaims:\n  - id: x\n    claim: c\n    source: s\n    comparisons:\n      - {a: case9, b: case1, expect: better}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try VerdictReport.collect(specs: try Self.caseSpecs(), resultsDirectory: Self.root + "/results", claimsPath: path, paperResultsPath: nil)
        } throws: { "\($0)".contains("names case9, which is none of the cases") }
    }

    @Test("runs finished with another spec are stale, left out of the set; a directory of runs takes every finished seed")
    func staleRuns() throws {
        let dir = TestPaths.temporaryDirectory("runset")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try ExperimentSpec.load(path: Self.root + "/experiments/case1.yaml")
        for seed in 0..<3 {
            let plan = RunPlan(spec: spec, seed: seed, resultsDirectory: dir)
            try FileManager.default.createDirectory(atPath: plan.directory, withIntermediateDirectories: true)
            let yaml = seed == 2 ? plan.resolvedYAML.replacingOccurrences(of: "learning_rate: 0.001", with: "learning_rate: 0.002") : plan.resolvedYAML
            try yaml.write(toFile: plan.specPath, atomically: true, encoding: .utf8)
            try "name,seed,status,test_acc\ncase1,\(seed),finished,98.\(seed)\n".write(toFile: plan.summaryPath, atomically: true, encoding: .utf8)
        }
        let set = RunSet.load(spec: spec, resultsDirectory: dir)
        #expect(set.seeds == [0, 1] && set.staleSeeds == [2])
        #expect(set.values("test_acc").map(\.value) == [98.0, 98.1])
        #expect(try RunSet.load(directory: dir + "/runs/case1").seeds == [0, 1, 2])
        #expect(throws: DataError.self) { try RunSet.load(directory: dir + "/runs/none") }
    }

    @Test("provenance: the CPU as model name, family and model; the file's lines read back")
    func provenance() throws {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nflags\t\t: fpu\n"
        #expect(Provenance.cpuDescription(cpuinfo: info) == "AMD EPYC (family 25 model 17)")
        #expect(Provenance.cpuDescription(cpuinfo: "model name\t: Some CPU\n") == "Some CPU")
        let p = Provenance(commit: "abc1234-dirty", threads: 2, cpu: "AMD EPYC (family 25 model 17)")
        #expect(p.text == "commit: abc1234-dirty\nthreads: 2\ncpu: AMD EPYC (family 25 model 17)\n")
        let dir = TestPaths.temporaryDirectory("provenance")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try p.text.write(toFile: dir + "/provenance.txt", atomically: true, encoding: .utf8)
        #expect(Provenance.read(path: dir + "/provenance.txt") == p)
        // The lead's runs were recorded in the same format.
        let committed = try #require(Provenance.read(path: Self.root + "/results/runs/case7/seed-3/provenance.txt"))
        #expect(committed.threads == 2 && !committed.commit.isEmpty)
    }
}
