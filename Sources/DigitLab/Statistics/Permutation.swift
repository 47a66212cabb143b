import DigitLabEngine
import Foundation

/// The sign-flip permutation test of paired differences: under "no difference" each pair's sign
/// is a coin toss, so the p-value is the share of the 2ⁿ sign patterns whose mean is at least as
/// far from zero as the one observed. Exact up to `exactLimit` pairs (2²⁰ patterns), else
/// estimated from `resamples` random patterns drawn with `seed`.
public enum SignFlip {
    public static let exactLimit = 20

    /// The two-sided p-value. With n pairs the smallest possible exact value is 2/2ⁿ: 0.25 for
    /// three pairs, 0.0625 for five, 0.002 for ten.
    public static func pValue(_ differences: [Double], resamples: Int = 100_000, seed: UInt64 = 0) -> Double {
        let n = differences.count
        guard n > 0 else { return .nan }
        let observed = abs(differences.reduce(0, +))
        // Sums equal up to rounding count as equal: the same sums added in another order.
        let tolerance = 1e-9 * max(1, differences.reduce(0) { $0 + abs($1) })
        if n <= exactLimit {
            var extreme = 0
            let patterns = 1 << n
            for pattern in 0..<patterns {
                var sum = 0.0
                for i in 0..<n { sum += pattern & (1 << i) != 0 ? -differences[i] : differences[i] }
                if abs(sum) >= observed - tolerance { extreme += 1 }
            }
            return Double(extreme) / Double(patterns)
        }
        var rng = Xoshiro256(seed: seed)
        var extreme = 0
        for _ in 0..<resamples {
            var sum = 0.0
            for d in differences { sum += rng.next() & 1 == 0 ? d : -d }
            if abs(sum) >= observed - tolerance { extreme += 1 }
        }
        // Counting the observed pattern keeps the estimate a valid p-value (never zero).
        return Double(extreme + 1) / Double(resamples + 1)
    }

    /// The smallest two-sided p-value the exact test can give with n pairs: 2/2ⁿ (1 for n = 0).
    public static func smallestPossible(pairs n: Int) -> Double { n == 0 ? 1 : min(1, 2 / pow(2, Double(n))) }
}

/// Holm's step-down correction: the p-values adjusted so that rejecting those below α keeps the
/// chance of any false "difference" across the whole family at most α. Same order as given.
public func holmAdjusted(_ pValues: [Double]) -> [Double] {
    let m = pValues.count
    let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
    var adjusted = [Double](repeating: .nan, count: m)
    var running = 0.0
    for (rank, i) in order.enumerated() {
        guard !pValues[i].isNaN else { continue }
        running = max(running, min(1, Double(m - rank) * pValues[i]))
        adjusted[i] = running
    }
    return adjusted
}
