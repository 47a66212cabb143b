import DigitLabEngine
import Foundation

/// Bootstrap confidence intervals for a mean, resampled from a seeded generator so the same
/// numbers give the same interval on every run and machine.
public enum Bootstrap {
    public enum Method: String, Sendable, Codable, CaseIterable {
        /// The resampled means' α/2 and 1 - α/2 quantiles.
        case percentile
        /// Bias-corrected and accelerated (Efron 1987): the quantiles moved by the resamples'
        /// median bias and the jackknife's skewness. SciPy's `stats.bootstrap` default.
        case bca
    }

    /// The means of `resamples` resamples (with replacement) of `xs`, sorted.
    public static func resampledMeans(_ xs: [Double], resamples: Int, seed: UInt64) -> [Double] {
        var rng = Xoshiro256(seed: seed)
        let n = xs.count
        var means = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += xs[rng.below(n)] }
            means[r] = sum / Double(n)
        }
        return means.sorted()
    }

    /// The interval for the mean of `xs` at `confidence`, from `resamples` resamples drawn with
    /// `seed`. Values all equal give the point itself; fewer than two give NaNs.
    public static func interval(_ xs: [Double], method: Method = .bca, confidence: Double = 0.95,
                                resamples: Int = 10_000, seed: UInt64 = 0) -> Interval {
        guard xs.count > 1 else { return Interval(.nan, .nan) }
        let m = Sample.mean(xs)
        if xs.allSatisfy({ $0 == xs[0] }) { return Interval(m, m) }
        let means = resampledMeans(xs, resamples: resamples, seed: seed)
        return interval(xs, resampledMeans: means, method: method, confidence: confidence)
    }

    /// The interval from resampled means already drawn (sorted); what `interval` computes after
    /// resampling, kept apart so a test can give SciPy's own resamples.
    public static func interval(_ xs: [Double], resampledMeans means: [Double], method: Method,
                                confidence: Double) -> Interval {
        let alpha = (1 - confidence) / 2
        switch method {
        case .percentile:
            return Interval(Sample.quantile(sorted: means, alpha), Sample.quantile(sorted: means, 1 - alpha))
        case .bca:
            let (lo, hi) = bcaLevels(xs, resampledMeans: means, alpha: alpha)
            return Interval(Sample.quantile(sorted: means, lo), Sample.quantile(sorted: means, hi))
        }
    }

    /// BCa's adjusted quantile levels for the lower and upper ends, as SciPy computes them:
    /// z0 = Φ⁻¹(share of resampled means below the mean, ties half), a = the jackknife means' skewness / 6.
    public static func bcaLevels(_ xs: [Double], resampledMeans means: [Double], alpha: Double) -> (Double, Double) {
        let m = Sample.mean(xs)
        // Resampled means equal to the mean (frequent with few values) count half, as in SciPy;
        // equal up to rounding, since the same values summed in another order differ in the last bits.
        let tolerance = 1e-9 * max(1, xs.reduce(0) { max($0, abs($1)) })
        let ties = means.filter { abs($0 - m) <= tolerance }.count
        let below = (Double(means.filter { $0 < m - tolerance }.count) + 0.5 * Double(ties)) / Double(means.count)
        let z0 = Distributions.normalQuantile(below)
        let a = acceleration(xs)
        func level(_ z: Double) -> Double {
            Distributions.normalCDF(z0 + (z0 + z) / (1 - a * (z0 + z)))
        }
        let zl = Distributions.normalQuantile(alpha), zu = Distributions.normalQuantile(1 - alpha)
        guard z0.isFinite else { return (alpha, 1 - alpha) }
        return (level(zl), level(zu))
    }

    /// The jackknife acceleration of the mean: Σ(m̄ - mᵢ)³ / (6 (Σ(m̄ - mᵢ)²)^1.5), over the
    /// leave-one-out means mᵢ.
    public static func acceleration(_ xs: [Double]) -> Double {
        let n = Double(xs.count), total = xs.reduce(0, +)
        let jack = xs.map { (total - $0) / (n - 1) }
        let jm = Sample.mean(jack)
        let num = jack.reduce(0) { $0 + pow(jm - $1, 3) }
        let den = 6 * pow(jack.reduce(0) { $0 + pow(jm - $1, 2) }, 1.5)
        return den > 0 ? num / den : 0
    }
}
