import Foundation

/// What a paired comparison concludes about A - B.
public enum Verdict: String, Sendable, Codable {
    case better
    case worse
    case noDifference = "no difference detected"
}

/// The settings every comparison shares: the confidence level, the bootstrap's method, resamples
/// and seed, and the power the detectable difference is quoted at.
public struct ComparisonSettings: Sendable, Equatable {
    public var confidence = 0.95
    public var method = Bootstrap.Method.bca
    public var resamples = 10_000
    public var seed: UInt64 = 0
    public var power = 0.8
    /// The difference the report asks "how many seeds would detect this?" about, in points.
    public var targetDifference = 0.1

    public init() {}

    public var alpha: Double { 1 - confidence }
}

/// A comparison of A and B measured on the same seeds: the mean difference A - B with a
/// bootstrap interval and a t interval, how often A beats B, an exact sign-flip p-value (and,
/// once the family is known, its Holm-adjusted value and the verdict), the smallest difference
/// these pairs could detect and the pairs a target difference needs.
public struct PairedComparison: Sendable, Codable {
    public var a: [Double]
    public var b: [Double]
    public var differences: [Double]
    public var meanDifference: Double
    public var standardDeviation: Double
    public var bootstrap: Interval
    public var t: Interval
    /// The share of pairs in which A is above B (ties count half).
    public var probabilityABeatsB: Double
    public var pValue: Double
    public var tTestP: Double
    /// The p-value after Holm's correction across the family; the p-value itself until then.
    public var adjustedP: Double
    public var minimumDetectable: Double
    public var pairsNeeded: Int?

    /// Compares paired values (a[i] and b[i] from the same seed).
    public init(a: [Double], b: [Double], settings: ComparisonSettings = .init()) {
        precondition(a.count == b.count, "paired samples of different sizes")
        self.a = a
        self.b = b
        differences = zip(a, b).map { $0 - $1 }
        meanDifference = Sample.mean(differences)
        standardDeviation = Sample.standardDeviation(differences)
        bootstrap = Bootstrap.interval(differences, method: settings.method, confidence: settings.confidence,
                                       resamples: settings.resamples, seed: settings.seed)
        t = tInterval(differences, confidence: settings.confidence)
        probabilityABeatsB = differences.isEmpty ? .nan
            : differences.reduce(0) { $0 + ($1 > 0 ? 1 : $1 == 0 ? 0.5 : 0) } / Double(differences.count)
        pValue = SignFlip.pValue(differences, seed: settings.seed)
        tTestP = pairedTTestP(differences)
        adjustedP = pValue
        minimumDetectable = Power.minimumDetectableDifference(standardDeviation: standardDeviation, pairs: differences.count,
                                                              alpha: settings.alpha, power: settings.power)
        pairsNeeded = Power.pairsNeeded(toDetect: settings.targetDifference, standardDeviation: standardDeviation,
                                        alpha: settings.alpha, power: settings.power)
    }

    public var pairs: Int { differences.count }

    /// Better or worse when the adjusted p-value is below α, else no difference detected.
    public func verdict(alpha: Double = 0.05) -> Verdict {
        guard adjustedP < alpha else { return .noDifference }
        return meanDifference > 0 ? .better : .worse
    }

    /// Sets each comparison's adjusted p-value by Holm's correction across all of them.
    public static func adjustFamily(_ comparisons: inout [PairedComparison]) {
        let adjusted = holmAdjusted(comparisons.map(\.pValue))
        for i in comparisons.indices { comparisons[i].adjustedP = adjusted[i] }
    }
}

/// The interval in which one new run's figure should fall (at `confidence`), from the same
/// spec's runs over seeds: mean ± t(n - 1) · √(s²(1/m + 1/n) + se²), for the mean of m new runs
/// (m = 1: a single run). `extraStandardError` adds noise the seeds do not show, such as a test
/// set's binomial error when the new figure comes from another implementation.
public func predictionInterval(_ xs: [Double], newRuns m: Int = 1, extraStandardError: Double = 0,
                               confidence: Double = 0.95) -> Interval {
    guard xs.count > 1 else { return Interval(.nan, .nan) }
    let n = Double(xs.count), s2 = Sample.variance(xs)
    let t = Distributions.tQuantile(1 - (1 - confidence) / 2, df: n - 1)
    let half = t * (s2 * (1 / Double(m) + 1 / n) + extraStandardError * extraStandardError).squareRoot()
    let mean = Sample.mean(xs)
    return Interval(mean - half, mean + half)
}
