import CBuildInfo
import DigitLabEngine
import Foundation

/// The version of DigitLab and the commit this binary was built from.
public enum BuildInfo {
    /// DigitLab's version.
    public static let version = "0.1.0"

    /// The commit (`abc1234`, `abc1234-dirty` when tracked files had changes), or `unknown` for a
    /// binary built without `make`.
    public static var commit: String { String(cString: digitlab_build_commit()) }

    /// `0.1.0 (commit abc1234)`: what `digitlab --version` prints.
    public static var description: String { "\(version) (commit \(commit))" }
}

/// What made a run: the commit of the binary, the engine's thread count (its speed; its numbers
/// too for runs trained before the engine stopped depending on it, 2026-12-06) and the CPU.
/// Written beside each run as provenance.txt, one `key: value` line each.
public struct Provenance: Sendable, Equatable {
    public var commit: String
    public var threads: Int
    public var cpu: String

    public init(commit: String, threads: Int, cpu: String) {
        self.commit = commit
        self.threads = threads
        self.cpu = cpu
    }

    /// This process: its build's commit, the engine's current thread count, this machine's CPU.
    public static var current: Provenance {
        Provenance(commit: BuildInfo.commit, threads: EngineThreads.count, cpu: cpuDescription())
    }

    public var text: String { "commit: \(commit)\nthreads: \(threads)\ncpu: \(cpu)\n" }

    /// Reads a provenance.txt; nil when there is none or it lacks a commit line.
    public static func read(path: String) -> Provenance? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let commit = fields["commit"] else { return nil }
        return Provenance(commit: commit, threads: fields["threads"].flatMap { Int($0) } ?? 0, cpu: fields["cpu"] ?? "")
    }

    /// The CPU as `model name (family F model M)` from /proc/cpuinfo: the model name alone does
    /// not tell generations apart on virtual machines ("AMD EPYC").
    public static func cpuDescription(cpuinfo: String? = nil) -> String {
        let info = cpuinfo ?? (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.split(separator: ":", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) == name }
                .flatMap { $0.split(separator: ":", maxSplits: 1).dropFirst().first?.trimmingCharacters(in: .whitespaces) }
        }
        let name = field("model name") ?? "unknown CPU"
        guard let family = field("cpu family"), let model = field("model") else { return name }
        return "\(name) (family \(family) model \(model))"
    }
}
