import Foundation

/// Summary figures of a sample of numbers (seeds' accuracies, or their paired differences).
public enum Sample {
    public static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
    }

    /// The sample variance (divisor n - 1); NaN below two values.
    public static func variance(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return .nan }
        let m = mean(xs)
        return xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
    }

    /// The sample standard deviation (divisor n - 1).
    public static func standardDeviation(_ xs: [Double]) -> Double { variance(xs).squareRoot() }

    /// The `p` quantile (0...1) of sorted values, interpolating linearly between order statistics
    /// (NumPy's default, which SciPy's bootstrap uses).
    public static func quantile(sorted xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let h = Double(xs.count - 1) * min(max(p, 0), 1)
        let i = Int(h.rounded(.down))
        guard i + 1 < xs.count else { return xs[xs.count - 1] }
        return xs[i] + (h - Double(i)) * (xs[i + 1] - xs[i])
    }
}

/// A two-sided confidence interval.
public struct Interval: Sendable, Equatable, Codable {
    public var lower: Double
    public var upper: Double

    public init(_ lower: Double, _ upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    public func contains(_ x: Double) -> Bool { lower <= x && x <= upper }
    public var width: Double { upper - lower }
}

/// The t interval for a mean: mean ± t(1 - α/2, n - 1) · s / √n.
public func tInterval(_ xs: [Double], confidence: Double = 0.95) -> Interval {
    guard xs.count > 1 else { return Interval(.nan, .nan) }
    let m = Sample.mean(xs), se = Sample.standardDeviation(xs) / Double(xs.count).squareRoot()
    let t = Distributions.tQuantile(1 - (1 - confidence) / 2, df: Double(xs.count - 1))
    return Interval(m - t * se, m + t * se)
}

/// The paired t test's two-sided p-value for mean zero (SciPy's `ttest_rel`, or `ttest_1samp` on
/// the differences). 1 when the differences are all zero, 0 when they are all the same non-zero value.
public func pairedTTestP(_ differences: [Double]) -> Double {
    guard differences.count > 1 else { return .nan }
    let m = Sample.mean(differences), s = Sample.standardDeviation(differences)
    guard s > 0 else { return m == 0 ? 1 : 0 }
    let t = m / (s / Double(differences.count).squareRoot())
    return 2 * Distributions.tCDF(-abs(t), df: Double(differences.count - 1))
}

/// The standard error of an accuracy `p` (0...1) measured on `n` independent images: the noise a
/// test set of that size adds to a single figure, √(p(1 - p)/n).
public func binomialStandardError(accuracy p: Double, count n: Int) -> Double {
    (p * (1 - p) / Double(n)).squareRoot()
}
