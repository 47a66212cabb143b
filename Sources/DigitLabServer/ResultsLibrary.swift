import DigitLab
import Foundation

/// A run directory (`…/runs/NAME/seed-N/`) as it is on disk: what it has written so far and
/// whether it is finished, diverged, interrupted or running.
public struct RunRecord: Sendable {
    public enum Status: String, Sendable, CaseIterable {
        case finished, diverged, interrupted, running
    }

    /// The directory relative to the results directory: `runs/case7/seed-0`, or
    /// `fashion-mnist/runs/fashion-case1/seed-0` for a study of its own. URLs name runs by it.
    public var id: String
    public var directory: String
    /// The directory under `runs/`: the spec's name, with `+settings` for sweep points and quick looks.
    public var name: String
    public var seed: Int
    public var status: Status
    /// The one row of `summary.csv`, by column, once the run has ended.
    public var summary: [String: String]
    public var progress: RunProgress?

    /// The spec's name: `name` without the `+settings` of a sweep point or quick look.
    public var spec: String { String(name.split(separator: "+", maxSplits: 1).first ?? Substring(name)) }
    /// The settings after `+`, if any.
    public var variant: String? { name.contains("+") ? String(name.split(separator: "+", maxSplits: 1)[1]) : nil }
    /// The study (a subdirectory of the results directory with runs of its own), or "" for the main one.
    public var study: String { id.hasPrefix("runs/") ? "" : String(id.prefix { $0 != "/" }) }

    public var historyPath: String { directory + "/history.csv" }
    public var specPath: String { directory + "/spec.yaml" }
    public var modelPath: String { directory + "/model.safetensors" }

    /// Reads a run directory; nil when it holds none of a run's files.
    init?(id: String, directory: String, name: String, seed: Int) {
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        guard !files.isDisjoint(with: ["spec.yaml", "history.csv", "summary.csv", "checkpoint.safetensors", RunProgress.fileName]) else {
            return nil
        }
        self.id = id; self.directory = directory; self.name = name; self.seed = seed
        summary = [:]
        if files.contains("summary.csv"), let table = try? CSVTable.read(path: directory + "/summary.csv"), let row = table.rows.first {
            for (c, v) in zip(table.header, row) { summary[c] = v }
        }
        progress = files.contains(RunProgress.fileName) ? RunProgress.read(directory: directory) : nil
        if let progress, progress.state == "running", progress.isAlive {
            status = .running
        } else if let s = summary["status"], let known = Status(rawValue: s) {
            status = known
        } else {
            status = .interrupted
        }
    }

    /// Epochs in `history.csv` so far.
    public var completedEpochs: Int {
        guard let text = try? String(contentsOfFile: historyPath, encoding: .utf8) else { return 0 }
        return max(0, text.split(separator: "\n").count - 1)
    }

    /// The epochs the resolved spec asks for (`training.epochs` in `spec.yaml`), if it says.
    public var plannedEpochs: Int? {
        guard let text = try? String(contentsOfFile: specPath, encoding: .utf8) else { return nil }
        var inTraining = false
        for line in text.split(separator: "\n") {
            if !line.hasPrefix(" ") { inTraining = line.hasPrefix("training:") ; continue }
            let t = line.trimmingCharacters(in: .whitespaces)
            if inTraining, t.hasPrefix("epochs:") { return Int(t.dropFirst(7).trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }
}

/// A saved model the server can read digits with: one shipped under `models/`, or a run's.
public struct SavedModel: Sendable, Hashable {
    /// `models/case7` for `models/case7.safetensors`, or a run's id.
    public var id: String
    public var path: String
    /// The name `digitlab evaluate` gives its output directory (`results/evaluate/NAME`).
    public var evaluationName: String { ModelEvaluation.name(ofModel: path) }
}

/// The results directory as it is on disk: its runs, saved models, studies and files. Every
/// name taken from a URL is looked up here, in what a listing of the directory found, and never
/// joined to a path as given, so `../` and absolute paths find nothing.
public struct ResultsLibrary: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// The studies: "" for the results directory itself, and each subdirectory with a
    /// `summary.csv` and a `runs/` of its own (`fashion-mnist`).
    public func studies() -> [String] {
        var out: [String] = []
        if exists(root + "/summary.csv") { out.append("") }
        for sub in list(root).sorted() where exists("\(root)/\(sub)/summary.csv") && isDirectory("\(root)/\(sub)/runs") {
            out.append(sub)
        }
        return out
    }

    /// The directory of a study ("" is the results directory).
    public func directory(ofStudy study: String) -> String { study.isEmpty ? root : root + "/" + study }

    /// Every run under `runs/` and under each subdirectory's `runs/`, sorted by study, name and seed.
    public func runs() -> [RunRecord] {
        var bases = ["runs"]
        for sub in list(root).sorted() where isDirectory("\(root)/\(sub)/runs") { bases.append(sub + "/runs") }
        var out: [RunRecord] = []
        for base in bases {
            for name in list(root + "/" + base).sorted() {
                let seeds = list("\(root)/\(base)/\(name)").compactMap { s -> Int? in
                    s.hasPrefix("seed-") ? Int(s.dropFirst(5)) : nil
                }
                for seed in seeds.sorted() {
                    let id = "\(base)/\(name)/seed-\(seed)"
                    if let r = RunRecord(id: id, directory: root + "/" + id, name: name, seed: seed) { out.append(r) }
                }
            }
        }
        return out
    }

    /// The run with this id (`runs/NAME/seed-N` or `STUDY/runs/NAME/seed-N`), if the listing has
    /// it: each part is looked up in its parent's listing, as `runs()` finds them, without reading
    /// every other run (a page or a predict names one run; reading all of them each time is what
    /// made the server slow under load).
    public func run(id: String) -> RunRecord? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 || parts.count == 4, parts[parts.count - 3] == "runs" else { return nil }
        if parts.count == 4, !(list(root).contains(parts[0]) && isDirectory("\(root)/\(parts[0])/runs")) { return nil }
        let base = parts.dropLast(2).joined(separator: "/"), name = parts[parts.count - 2], seedName = parts[parts.count - 1]
        guard seedName.hasPrefix("seed-"), let seed = Int(seedName.dropFirst(5)), seedName == "seed-\(seed)",
              list(root + "/" + base).contains(name), list("\(root)/\(base)/\(name)").contains(seedName) else { return nil }
        return RunRecord(id: id, directory: root + "/" + id, name: name, seed: seed)
    }

    /// Saved models: `models/*.safetensors`, then every run's `model.safetensors`.
    public func models() -> [SavedModel] {
        let shipped = list(root + "/models").filter { $0.hasSuffix(".safetensors") }.sorted()
            .map { SavedModel(id: "models/" + $0.dropLast(".safetensors".count), path: "\(root)/models/\($0)") }
        let trained = runs().filter { exists($0.modelPath) && $0.status != .running }
            .map { SavedModel(id: $0.id, path: $0.modelPath) }
        return shipped + trained
    }

    /// The saved model with this id, as `models()` would list it, looked up without listing the rest.
    public func model(id: String) -> SavedModel? {
        if id.hasPrefix("models/") {
            let file = String(id.dropFirst("models/".count)) + ".safetensors"
            return list(root + "/models").contains(file) ? SavedModel(id: id, path: "\(root)/models/\(file)") : nil
        }
        guard let run = run(id: id), exists(run.modelPath), run.status != .running else { return nil }
        return SavedModel(id: run.id, path: run.modelPath)
    }

    /// The files a URL may name under `/files/`: charts, tables and notes anywhere under the
    /// results directory (SVG, CSV, Markdown, PNG), hidden files and directories left out.
    public func servableFiles() -> Set<String> {
        var out = Set<String>()
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        while let path = walker.nextObject() as? String {
            let last = (path as NSString).lastPathComponent
            if last.hasPrefix(".") { walker.skipDescendants(); continue }
            if Self.servableExtensions.contains((last as NSString).pathExtension.lowercased()) { out.insert(path) }
        }
        return out
    }

    static let servableExtensions: Set<String> = ["svg", "csv", "md", "png"]

    /// Whether `servableFiles()` has this path, found the cheap way: each part of the path looked
    /// up in its parent directory's listing (so `..`, `.`, empty parts and absolute paths never
    /// match), none hidden, a servable extension, and a file at the end.
    public func isServable(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.last, Self.servableExtensions.contains((last as NSString).pathExtension.lowercased()) else { return false }
        var directory = root
        for part in parts {
            guard !part.hasPrefix("."), isDirectory(directory), list(directory).contains(part) else { return false }
            directory += "/" + part
        }
        return !isDirectory(directory)
    }

    /// The cached evaluation of a model (`evaluate/NAME/`, as `digitlab evaluate` writes it), if any.
    public func evaluationDirectory(of model: SavedModel) -> String { "\(root)/evaluate/\(model.evaluationName)" }

    func list(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}
