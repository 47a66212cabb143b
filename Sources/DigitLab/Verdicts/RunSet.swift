import Foundation

/// The finished runs of one spec (at one grid point), or of one directory of runs, by seed: what
/// a comparison pairs. Only runs finished with the spec's current resolved settings count; those
/// finished with other settings are listed as stale and left out.
public struct RunSet: Sendable {
    /// How the set is named in tables: the spec's name (with its grid point), or the directory's.
    public var name: String
    /// `RESULTS/runs/NAME`: where the seeds' directories are.
    public var directory: String
    /// The spec the runs were made from, when known.
    public var spec: ExperimentSpec?
    /// Each finished seed's summary figures, by column of summary.csv (test_acc, max_train_acc, ...).
    public var figures: [Int: [String: Double]]
    /// Seeds that finished with another resolved spec than the current one.
    public var staleSeeds: [Int]

    public var seeds: [Int] { figures.keys.sorted() }

    /// The figures of one column over the seeds, in seed order.
    public func values(_ column: String) -> [(seed: Int, value: Double)] {
        seeds.compactMap { s in figures[s]?[column].map { (s, $0) } }
    }

    /// The runs of `spec` under `resultsDirectory` (at a sweep's grid point when `variant` is
    /// given): every `seed-N` directory there whose run finished with this spec at seed N.
    public static func load(spec: ExperimentSpec, resultsDirectory: String, variant: String? = nil) -> RunSet {
        let name = variant.map { "\(spec.name)+\($0)" } ?? spec.name
        let directory = "\(resultsDirectory)/runs/\(name)"
        var figures: [Int: [String: Double]] = [:], stale: [Int] = []
        for seed in seedDirectories(in: directory) {
            let plan = RunPlan(spec: spec, seed: seed, resultsDirectory: resultsDirectory, variant: variant)
            guard let row = finishedSummary(plan.summaryPath) else { continue }
            if plan.isFinished { figures[seed] = row } else { stale.append(seed) }
        }
        return RunSet(name: name, directory: directory, spec: spec, figures: figures, staleSeeds: stale.sorted())
    }

    /// Every finished run in a directory of seeds (`DIR/seed-N/summary.csv`), whatever its spec.
    public static func load(directory: String) throws -> RunSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError(directory, "no such directory of runs (expected DIR/seed-N/summary.csv)")
        }
        var figures: [Int: [String: Double]] = [:]
        for seed in seedDirectories(in: directory) {
            if let row = finishedSummary("\(directory)/seed-\(seed)/summary.csv") { figures[seed] = row }
        }
        let trimmed = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return RunSet(name: URL(fileURLWithPath: trimmed).lastPathComponent, directory: trimmed, spec: nil,
                      figures: figures, staleSeeds: [])
    }

    /// The seeds N of the `seed-N` directories in `directory`, sorted.
    static func seedDirectories(in directory: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .compactMap { $0.hasPrefix("seed-") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    /// A run's one-row summary.csv as numbers by column, when the run finished.
    static func finishedSummary(_ path: String) -> [String: Double]? {
        guard let table = try? CSVTable.read(path: path), let row = table.rows.first,
              let status = table.column("status"), row[status] == RunSummary.Status.finished.rawValue else { return nil }
        var figures: [String: Double] = [:]
        for (column, cell) in zip(table.header, row) { if let v = Double(cell) { figures[column] = v } }
        return figures
    }
}
