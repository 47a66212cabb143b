import Foundation

/// One run of a sweep: a spec file at one grid point and one seed, with its id in the plan.
public struct PlannedRun: Sendable {
    /// A grid key and the value this run gives it.
    public struct Setting: Sendable, Equatable {
        public let key: String
        public let value: String
    }

    /// The run's index in the plan: its Slurm array task id, its `--task` id.
    public let id: Int
    /// The spec file as given on the command line.
    public let specFile: String
    /// The grid point, in grid order; empty for a spec without a grid.
    public let settings: [Setting]
    /// The spec at this grid point and seed, and where its results go.
    public let plan: RunPlan

    /// `NAME`, or `NAME+key=value,...` at a grid point (each key by its last part, which is
    /// unique among spec keys): the directory under `runs/` that holds the run's seeds.
    public var name: String { plan.spec.name + (variant.map { "+" + $0 } ?? "") }

    /// The grid point as a directory-safe suffix, or nil without a grid.
    public var variant: String? { Self.variant(settings) }

    /// The directory-safe suffix of a grid point: `learning_rate=5e-4,rotation_range=10`.
    public static func variant(_ settings: [Setting]) -> String? {
        guard !settings.isEmpty else { return nil }
        return settings.map { s in
            let key = s.key.split(separator: ".").last.map(String.init) ?? s.key
            return key + "=" + s.value.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: " ", with: "")
        }.joined(separator: ",")
    }

    public var seed: Int { plan.seed }

    /// `NAME[+settings]/seed-N`: how the plan, the logs and the errors name the run.
    public var label: String { "\(name)/seed-\(seed)" }

    /// The grid point as `key=value, ...` with full keys, or "" without a grid.
    public var settingsText: String { settings.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") }

    /// Where the run stands: finished (with the same resolved spec), started (a checkpoint to
    /// resume from), or not started.
    public enum Status: String, Sendable { case finished, started, pending }

    public var status: Status { plan.isFinished ? .finished : plan.isStarted ? .started : .pending }
}

/// A sweep: spec files, each expanded over its grid and its seeds, as a list of independent runs
/// with stable ids. The order is seed-major, as `reproduce` runs: every spec's and grid point's
/// first seed before any second seed, so a sweep cut short still has a full table; within a
/// seed, specs in the order given and grid points with the last key varying fastest. The same
/// spec files and seed count always give the same ids.
public struct SweepPlan: Sendable {
    public let specFiles: [String]
    public let runs: [PlannedRun]

    /// Expands spec files into runs. `seedCount` runs seeds 0..<N instead of each spec's
    /// `training.seeds`. Throws when a grid point is not a valid spec, or when two runs would
    /// write to the same directory.
    public static func expand(specFiles: [String], seedCount: Int? = nil, resultsDirectory: String = "results") throws -> SweepPlan {
        guard !specFiles.isEmpty else { throw DataError("plan", "no spec files given") }
        struct Point { let file: String; let spec: ExperimentSpec; let settings: [PlannedRun.Setting]; let seeds: [Int] }
        var perFile: [[Point]] = []
        for file in specFiles {
            let spec = try ExperimentSpec.load(path: file)
            let seeds = Reproduction.seeds(for: spec, count: seedCount)
            perFile.append(try spec.gridPoints.map { point in
                Point(file: file, spec: try spec.applying(point),
                      settings: point.map { .init(key: $0.key, value: ExperimentSpec.GridAxis.label($0.value)) }, seeds: seeds)
            })
        }
        let rounds = perFile.flatMap { $0.map(\.seeds.count) }.max() ?? 0
        var runs: [PlannedRun] = []
        var owners: [String: PlannedRun] = [:]
        for i in 0..<rounds {
            for points in perFile {
                for p in points where i < p.seeds.count {
                    let run = PlannedRun(id: runs.count, specFile: p.file, settings: p.settings,
                                         plan: RunPlan(spec: p.spec, seed: p.seeds[i], resultsDirectory: resultsDirectory,
                                                       variant: PlannedRun.variant(p.settings)))
                    if let other = owners[run.plan.directory] {
                        let why = other.specFile == run.specFile
                            ? (run.settings.isEmpty ? "the spec is listed twice or lists seed \(run.seed) twice"
                                                    : "two grid values give the same name")
                            : "both specs are named \(run.plan.spec.name); give one another name:"
                        throw SpecError(file: run.specFile, key: run.settings.isEmpty ? "name" : "grid",
                                        problem: "\(why) (\(other.specFile) and \(run.specFile) would both write \(run.plan.directory))")
                    }
                    owners[run.plan.directory] = run
                    runs.append(run)
                }
            }
        }
        return SweepPlan(specFiles: specFiles, runs: runs)
    }

    /// The runs a shard takes: every `count`-th run from id `index` (`--shard index/count`).
    public func shard(_ index: Int, of count: Int) -> [PlannedRun] {
        runs.filter { $0.id % count == index }
    }

    /// Parses `I/N` (0 <= I < N).
    public static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else {
            throw DataError("--shard", "expected I/N with 0 <= I < N, for example 0/4 (got \(text))")
        }
        return (i, n)
    }

    /// A fingerprint of the plan: every run's id, directory and resolved spec (as `sameRun`
    /// compares them). A Slurm task checks it, so that spec files edited after submission cannot
    /// make task ids point at other runs.
    public var digest: String {
        var md5 = MD5()
        for run in runs {
            let essence = run.plan.resolvedYAML.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("  seeds:") }
            md5.update(Array("\(run.id)\t\(run.plan.directory)\n\(essence.joined(separator: "\n"))\n".utf8))
        }
        return String(md5.finalize().prefix(12))
    }

    /// A name for the sweep's report and Slurm job: the spec file's base name, or the base names
    /// joined by "+" when there are a few.
    public var name: String {
        let names = specFiles.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        let joined = names.joined(separator: "+")
        return names.count == 1 || joined.count <= 60 ? joined : "sweep-\(digest.prefix(6))"
    }

    /// How many specs, grid points and seeds make up the plan, e.g. "2 specs: 3 settings x 2 seeds, 1 x 2".
    public var shape: String {
        var parts: [String] = []
        for file in specFiles {
            let mine = runs.filter { $0.specFile == file }
            let points = Set(mine.map(\.name)).count, seeds = Set(mine.map(\.seed)).count
            parts.append("\(points) setting\(points == 1 ? "" : "s") x \(seeds) seed\(seeds == 1 ? "" : "s")")
        }
        return "\(specFiles.count) spec\(specFiles.count == 1 ? "" : "s"): " + parts.joined(separator: ", ")
    }

    /// Ids as Slurm array ranges: [0, 1, 2, 5, 7, 8] is "0-2,5,7-8".
    public static func ranges(_ ids: [Int]) -> String {
        var out: [String] = []
        var i = 0
        let s = ids.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            out.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return out.joined(separator: ",")
    }

    /// The plan as JSON, for scripts: the digest and, per run, its id, name, seed, spec file,
    /// settings, directory and status.
    public func json(runs selected: [PlannedRun]? = nil) throws -> String {
        struct Run: Encodable {
            let id: Int, name: String, seed: Int, spec: String, settings: [String: String], directory: String, status: String
        }
        struct Plan: Encodable { let digest: String; let count: Int; let runs: [Run] }
        let list = (selected ?? runs).map { r in
            Run(id: r.id, name: r.name, seed: r.seed, spec: r.specFile,
                settings: Dictionary(uniqueKeysWithValues: r.settings.map { ($0.key, $0.value) }),
                directory: r.plan.directory, status: r.status.rawValue)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Plan(digest: digest, count: runs.count, runs: list)), as: UTF8.self)
    }
}
