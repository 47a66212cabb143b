import Foundation

/// The paper's eight cases as a whole: which specs make them up, and the summary tables built
/// from their finished runs.
public enum Reproduction {
    /// The case specs in `experimentsDirectory` (`case1.yaml` ... `case8.yaml`), in case order.
    public static func caseSpecs(experimentsDirectory: String = "experiments", prefix: String = "case") throws -> [ExperimentSpec] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: experimentsDirectory)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".yaml") && Int($0.dropFirst(prefix.count).dropLast(5)) != nil }
        guard !files.isEmpty else {
            throw DataError(experimentsDirectory, "no \(prefix)N.yaml specs found; run from the repository's top directory")
        }
        return try files.map { try ExperimentSpec.load(path: experimentsDirectory + "/" + $0) }
            .sorted { ($0.paperCase ?? 0, $0.name) < ($1.paperCase ?? 0, $1.name) }
    }

    /// The seeds a spec runs with: the first `count` from 0 when given, else its `seeds:` list,
    /// else its single seed.
    public static func seeds(for spec: ExperimentSpec, count: Int?) -> [Int] {
        if let count { return Array(0..<count) }
        return spec.seeds ?? [spec.seed]
    }
}
