import Foundation

/// How large a difference a paired comparison can detect, and how many pairs a given difference
/// needs: the two-sided paired t test at level α with power 1 - β, from the differences' standard
/// deviation, using the usual approximation n = ((t(1-α/2) + t(1-β)) σ / δ)² with n - 1 degrees
/// of freedom (within a point or two of the noncentral t's exact power; see the tests).
public enum Power {
    /// The smallest true difference that `pairs` pairs detect with probability `power`.
    public static func minimumDetectableDifference(standardDeviation sd: Double, pairs n: Int,
                                                   alpha: Double = 0.05, power: Double = 0.8) -> Double {
        guard n > 1, sd.isFinite else { return .nan }
        let df = Double(n - 1)
        return (Distributions.tQuantile(1 - alpha / 2, df: df) + Distributions.tQuantile(power, df: df))
            * sd / Double(n).squareRoot()
    }

    /// The fewest pairs (seeds) that detect a true difference `delta` with probability `power`,
    /// or nil past `limit`.
    public static func pairsNeeded(toDetect delta: Double, standardDeviation sd: Double,
                                   alpha: Double = 0.05, power: Double = 0.8, limit: Int = 100_000) -> Int? {
        guard delta > 0, sd.isFinite else { return nil }
        if sd == 0 { return 2 }
        var lo = 2, hi = 2
        while minimumDetectableDifference(standardDeviation: sd, pairs: hi, alpha: alpha, power: power) > delta {
            lo = hi + 1
            hi *= 2
            if hi > limit { return nil }
        }
        while lo < hi {
            let mid = (lo + hi) / 2
            if minimumDetectableDifference(standardDeviation: sd, pairs: mid, alpha: alpha, power: power) <= delta {
                hi = mid
            } else { lo = mid + 1 }
        }
        return lo
    }
}
