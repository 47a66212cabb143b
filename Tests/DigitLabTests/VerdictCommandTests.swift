import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// `make reproduce`'s check and `digitlab compare` as a user runs them, on short runs: a record of
/// three seeds, a faithful local run (reproduced, exit 0) and one with another learning rate forced
/// in (not reproduced, exit 3); a sweep's grid points compared; `--version` and provenance.txt.
@Suite("Verdict commands", .serialized)
struct VerdictCommandTests {
    /// A short case 1 (one epoch on 3,000 images) in its own experiments directory, and the same
    /// with `learning_rate` forced to 0.05: what a broken engine would look like to the check.
    static func experiments(in dir: String) throws -> (good: String, broken: String) {
        let good = dir + "/experiments", broken = dir + "/broken"
        for d in [good, broken] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestPaths.root + "/experiments/base.yaml", toPath: d + "/base.yaml")
        }
        let spec = "extends: base.yaml\nname: case1\npaper_case: 1\ntraining:\n  epochs: 1\n  limit: 3000\n  seeds: [0, 1, 2]\n"
        try spec.write(toFile: good + "/case1.yaml", atomically: true, encoding: .utf8)
        try (spec + "optimizer:\n  learning_rate: 0.05\n").write(toFile: broken + "/case1.yaml", atomically: true, encoding: .utf8)
        return (good, broken)
    }

    @Test("verify: a faithful run reproduces the record (exit 0); another learning rate does not (exit 3), with the figures")
    func reproduceCheck() throws {
        let dir = TestPaths.temporaryDirectory("verify")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (good, broken) = try Self.experiments(in: dir)
        let data = ["--data", TestPaths.mnist]
        let record = try runTool(["reproduce", "--experiments", good, "--jobs", "1", "--out", dir + "/record"] + data)
        #expect(record.status == 0, "\(record.stderr)")
        #expect(record.stdout.contains("[3/3, 2 done, 1 left, ETA "), "the whole reproduction's progress:\n\(record.stdout)")
        let local = try runTool(["reproduce", "--experiments", good, "--out", dir + "/local", "--seeds", "1"] + data)
        #expect(local.status == 0, "\(local.stderr)")

        let ok = try runTool(["verify", "--experiments", good, "--record", dir + "/record", "--local", dir + "/local"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("case1: reproduced: seed 0 "))
        #expect(ok.stdout.contains("identical to the record's seed 0"), "same machine, same bytes:\n\(ok.stdout)")
        #expect(ok.stdout.hasSuffix("REPRODUCED: all 1 cases inside the record's intervals (95.00% each, 95% together)\n"))

        let bad = try runTool(["reproduce", "--experiments", broken, "--out", dir + "/bad", "--seeds", "1"] + data)
        #expect(bad.status == 0, "\(bad.stderr)")
        let no = try runTool(["verify", "--experiments", good, "--record", dir + "/record", "--local", dir + "/bad"])
        #expect(no.status == 3, "\(no.stdout)\(no.stderr)")
        #expect(no.stdout.contains("case1: NOT REPRODUCED: seed 0 "))
        #expect(no.stdout.contains("note: the local run's spec is not the current one"))
        #expect(no.stdout.contains("NOT REPRODUCED: 1 of 1 cases outside the record's intervals (case1)"))

        let none = try runTool(["verify", "--experiments", good, "--record", dir + "/record", "--local", dir + "/nothing"])
        #expect(none.status == 1 && none.stderr.hasPrefix("error: \(dir)/nothing: holds no finished runs"), "\(none.stderr)")

        // Each run records what trained it, in the lead's format.
        let provenance = try #require(Provenance.read(path: dir + "/record/runs/case1/seed-0/provenance.txt"))
        #expect(provenance.threads >= 1 && provenance.cpu == Provenance.cpuDescription())
        let version = try runTool(["--version"])
        #expect(version.stdout.hasPrefix("digitlab \(BuildInfo.version) (commit \(provenance.commit))"), "\(version.stdout)")
    }

    @Test("compare: a sweep's grid points against each other, two run directories, and --json")
    func compareSweep() throws {
        let dir = TestPaths.temporaryDirectory("compare")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (good, _) = try Self.experiments(in: dir)
        let sweep = good + "/lr.yaml"
        try "extends: case1.yaml\nname: lr\ntraining:\n  seeds: [0, 1]\ngrid:\n  optimizer.learning_rate: [0.001, 0.05]\n"
            .write(toFile: sweep, atomically: true, encoding: .utf8)
        let trained = try runTool(["run", sweep, "--shard", "0/1", "--data", TestPaths.mnist, "--out", dir + "/results"])
        #expect(trained.status == 0, "\(trained.stderr)")

        let table = try runTool(["compare", sweep, "--out", dir + "/results"])
        #expect(table.status == 0, "\(table.stderr)")
        // Two sets: the first against the second.
        #expect(table.stdout.contains("lr+learning_rate=0.001 - lr+learning_rate=0.05  2 "), "\(table.stdout)")

        let json = try runTool(["compare", dir + "/results/runs/lr+learning_rate=0.001", dir + "/results/runs/lr+learning_rate=0.05", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let rows = try #require(doc["comparisons"] as? [[String: Any]])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["seeds"] as? [Int] == [0, 1])
        // Adam at 0.05 on this model collapses to a constant guess: the default rate wins on both seeds.
        #expect((row["meanDifference"] as? Double ?? 0) > 20)
        #expect(row["probabilityABeatsB"] as? Double == 1)
        // Two pairs cannot reach p < 0.05: the verdict stays undecided and says why in its numbers.
        #expect(row["pSignFlip"] as? Double == 0.5 && row["verdict"] as? String == "no difference detected")

        let alone = try runTool(["compare", dir + "/results/runs/lr+learning_rate=0.001"])
        #expect(alone.status == 1 && alone.stderr.contains("is one set of runs"), "\(alone.stderr)")
    }
}
