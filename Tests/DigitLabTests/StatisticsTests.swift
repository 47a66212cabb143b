import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// The statistics behind the verdicts, against SciPy's and statsmodels' values on fixed inputs
/// (Tests/Reference/statistics.json, made by scripts/reference/statistics_reference.py), and on
/// seeded synthetic data whose answer is known: no true difference must give "no difference" in
/// about 95% of repetitions, a large one "better" every time.
@Suite("Statistics")
struct StatisticsTests {
    nonisolated(unsafe) static let reference: [String: Any] = {
        let path = ReferenceFiles.directory + "/statistics.json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return json
    }()

    static func pair(_ name: String) throws -> [String: Any] {
        let pairs = try #require(reference["pairs"] as? [String: Any], "Tests/Reference/statistics.json is missing or has no pairs")
        return try #require(pairs[name] as? [String: Any], "no pair \(name) in statistics.json")
    }

    static func numbers(_ value: Any?) throws -> [Double] {
        try #require(value as? [Double] ?? (value as? [NSNumber])?.map(\.doubleValue), "expected numbers, got \(String(describing: value))")
    }

    static let pairNames = ["ten_small_shift", "ten_skewed", "five_null", "three"]

    @Test("normal and t quantiles and the t distribution function match SciPy to 1e-9")
    func distributions() throws {
        let q = try #require(Self.reference["quantiles"] as? [String: Any])
        for row in try #require(q["normal_ppf"] as? [[Double]]) {
            #expect(abs(Distributions.normalQuantile(row[0]) - row[1]) < 1e-9 * max(1, abs(row[1])), "norm.ppf(\(row[0]))")
        }
        for row in try #require(q["t_ppf"] as? [[Double]]) {
            let ours = Distributions.tQuantile(row[0], df: row[1])
            #expect(abs(ours - row[2]) < 1e-9 * max(1, abs(row[2])), "t.ppf(\(row[0]), \(row[1])): \(ours) vs \(row[2])")
        }
        for row in try #require(q["t_cdf"] as? [[Double]]) {
            #expect(abs(Distributions.tCDF(row[0], df: row[1]) - row[2]) < 1e-10, "t.cdf(\(row[0]), \(row[1]))")
        }
    }

    @Test("t interval, paired t test and the exact sign-flip p-value match SciPy", arguments: pairNames)
    func pairedTests(name: String) throws {
        let ref = try Self.pair(name)
        let a = try Self.numbers(ref["a"]), b = try Self.numbers(ref["b"])
        let c = PairedComparison(a: a, b: b)
        #expect(abs(c.meanDifference - (ref["mean_difference"] as! Double)) < 1e-12)
        #expect(abs(c.standardDeviation - (ref["sd_difference"] as! Double)) < 1e-12)
        let t = try Self.numbers(ref["t_interval"])
        #expect(abs(c.t.lower - t[0]) < 1e-9 && abs(c.t.upper - t[1]) < 1e-9, "t interval \(c.t) vs \(t)")
        #expect(abs(c.tTestP - (ref["ttest_rel_p"] as! Double)) < 1e-9, "ttest_rel \(c.tTestP)")
        #expect(c.pValue == ref["sign_flip_exact_p"] as! Double, "sign flip \(c.pValue)")
    }

    /// Not ten_skewed: its BCa upper level (0.999) falls between the modes its outlier makes in
    /// the resampled means, where any two generators' quantiles differ; the test on SciPy's own
    /// resamples below checks BCa on it exactly.
    @Test("our seeded bootstrap lands within Monte Carlo error of SciPy's (200,000 resamples each)",
          arguments: ["ten_small_shift", "five_null", "three"])
    func bootstrapAgainstSciPy(name: String) throws {
        let ref = try Self.pair(name)
        let d = zip(try Self.numbers(ref["a"]), try Self.numbers(ref["b"])).map { $0 - $1 }
        for (method, key) in [(Bootstrap.Method.bca, "bootstrap_bca_200k"), (.percentile, "bootstrap_percentile_200k")] {
            let theirs = try Self.numbers(ref[key])
            let ours = Bootstrap.interval(d, method: method, resamples: 200_000, seed: 7)
            // Resampled means of ten values lie on a grid of 0.001 points; quantiles may differ by a step or two.
            #expect(abs(ours.lower - theirs[0]) < 0.004 && abs(ours.upper - theirs[1]) < 0.004,
                    "\(name) \(method): ours \(ours), SciPy \(theirs)")
        }
    }

    @Test("BCa and percentile intervals computed from SciPy's own resamples equal SciPy's intervals")
    func bootstrapFormulas() throws {
        let given = try #require(Self.reference["bootstrap_given_resamples"] as? [String: Any])
        let d = try Self.numbers(given["differences"])
        let means = try Self.numbers(given["resampled_means"]).sorted()
        #expect(means.count == 1999)
        for (method, key) in [(Bootstrap.Method.bca, "bca"), (.percentile, "percentile")] {
            let theirs = try Self.numbers((given[key] as? [String: Any])?["interval"])
            let ours = Bootstrap.interval(d, resampledMeans: means, method: method, confidence: 0.95)
            #expect(abs(ours.lower - theirs[0]) < 1e-9 && abs(ours.upper - theirs[1]) < 1e-9, "\(key): ours \(ours), SciPy \(theirs)")
        }
    }

    @Test("Holm's adjusted p-values match statsmodels' multipletests")
    func holm() throws {
        let ref = try #require(Self.reference["holm"] as? [String: Any])
        let ours = holmAdjusted(try Self.numbers(ref["p"]))
        let theirs = try Self.numbers(ref["adjusted"])
        for (o, t) in zip(ours, theirs) { #expect(abs(o - t) < 1e-12, "\(ours) vs \(theirs)") }
    }

    @Test("the detectable difference matches its formula, and the noncentral t's exact power there is close to 80%")
    func power() throws {
        for row in try #require(Self.reference["power"] as? [[String: Any]]) {
            let n = row["pairs"] as! Int, sd = row["sd"] as! Double
            let ours = Power.minimumDetectableDifference(standardDeviation: sd, pairs: n)
            #expect(abs(ours - (row["approximate_mdd"] as! Double)) < 1e-9)
            // The approximation is a few percent low at three pairs and exact to 0.2% from ten.
            let exact = row["exact_mdd"] as! Double
            #expect(abs(ours - exact) / exact < (n < 5 ? 0.06 : 0.015), "n \(n): \(ours) vs exact \(exact)")
            #expect(row["exact_power_at_approximate_mdd"] as! Double > 0.76)
        }
        for row in try #require(Self.reference["pairs_needed"] as? [[String: Any]]) {
            let sd = row["sd"] as! Double, exact = row["exact_pairs"] as! Double
            let ours = try #require(Power.pairsNeeded(toDetect: 0.1, standardDeviation: sd))
            #expect(Double(ours) >= exact - 0.5 && Double(ours) <= exact.rounded(.up) + 1, "sd \(sd): \(ours) vs exact \(exact)")
        }
    }

    @Test("a test set of 10,000 images at 98.7% has a binomial standard error of 0.11 points")
    func binomial() throws {
        let ref = try #require(Self.reference["binomial_se_98_7_of_10000"] as? Double)
        #expect(abs(binomialStandardError(accuracy: 0.987, count: 10_000) - ref) < 1e-15)
        #expect(abs(100 * ref - 0.113) < 0.001)
    }

    @Test("the exact sign-flip test cannot go below 0.25 with three pairs, 0.0625 with five, 0.002 with ten")
    func signFlipFloor() {
        for (n, floor) in [(3, 0.25), (5, 0.0625), (10, 2.0 / 1024)] {
            let allUp = [Double](repeating: 0.3, count: n).enumerated().map { $0.element + 0.01 * Double($0.offset) }
            #expect(SignFlip.pValue(allUp) == floor)
            #expect(SignFlip.smallestPossible(pairs: n) == floor)
        }
    }

    /// Paired samples with a true difference `delta` and per-pair noise like the seeds' (0.15 points).
    static func synthetic(pairs n: Int, delta: Double, rng: inout Xoshiro256) -> ([Double], [Double]) {
        func gaussian() -> Double {
            let u = max(rng.nextUnitDouble(), 1e-300), v = rng.nextUnitDouble()
            return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
        }
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<n {
            let shared = 98.7 + 0.1 * gaussian()
            a.append(shared + delta + 0.1 * gaussian())
            b.append(shared + 0.1 * gaussian())
        }
        return (a, b)
    }

    @Test("no true difference: 'no difference detected' in about 95% of 400 repetitions, and the intervals cover zero as often")
    func nullCalibration() {
        var rng = Xoshiro256(seed: 2026)
        var settings = ComparisonSettings()
        settings.resamples = 2000
        var quiet = 0, tCovers = 0, bootstrapCovers = 0
        let repetitions = 400
        for r in 0..<repetitions {
            let (a, b) = Self.synthetic(pairs: 10, delta: 0, rng: &rng)
            settings.seed = UInt64(r)
            let c = PairedComparison(a: a, b: b, settings: settings)
            if c.verdict() == .noDifference { quiet += 1 }
            if c.t.contains(0) { tCovers += 1 }
            if c.bootstrap.contains(0) { bootstrapCovers += 1 }
        }
        // Binomial(400, 0.95) lies within 0.92-0.98 with probability > 0.99; the exact test is
        // slightly conservative (its possible p-values are multiples of 1/1024).
        #expect(Double(quiet) / Double(repetitions) > 0.92, "\(quiet) of \(repetitions)")
        #expect(Double(tCovers) / Double(repetitions) > 0.92 && Double(tCovers) / Double(repetitions) < 0.98, "\(tCovers)")
        // The bootstrap's intervals run a little narrow with ten values (about 91-93%).
        #expect(Double(bootstrapCovers) / Double(repetitions) > 0.87, "\(bootstrapCovers)")
    }

    @Test("a large true difference (0.5 points, noise 0.15): 'better' every time, 'worse' when reversed")
    func largeDifference() {
        var rng = Xoshiro256(seed: 7)
        for _ in 0..<100 {
            let (a, b) = Self.synthetic(pairs: 10, delta: 0.5, rng: &rng)
            #expect(PairedComparison(a: a, b: b).verdict() == .better)
            #expect(PairedComparison(a: b, b: a).verdict() == .worse)
        }
    }

    @Test("the verdict follows the Holm-adjusted p-value, not the raw one")
    func holmVerdict() {
        var rng = Xoshiro256(seed: 11)
        let (a, b) = Self.synthetic(pairs: 10, delta: 0.12, rng: &rng)
        var family = [PairedComparison(a: a, b: b)] + (0..<11).map { _ in
            let (x, y) = Self.synthetic(pairs: 10, delta: 0, rng: &rng)
            return PairedComparison(a: x, b: y)
        }
        let raw = family[0].pValue
        PairedComparison.adjustFamily(&family)
        #expect(family[0].adjustedP >= raw)
        #expect(family.allSatisfy { $0.adjustedP >= $0.pValue })
        if raw < 0.05 && family[0].adjustedP >= 0.05 { #expect(family[0].verdict() == .noDifference) }
    }

    @Test("the same inputs and seed give the same bootstrap interval; another seed another one")
    func seeded() {
        let d = [0.3, -0.1, 0.25, 0.05, 0.2, 0.15, -0.02, 0.4, 0.1, 0.12]
        #expect(Bootstrap.interval(d, seed: 3) == Bootstrap.interval(d, seed: 3))
        #expect(Bootstrap.interval(d, resamples: 500, seed: 3) != Bootstrap.interval(d, resamples: 500, seed: 4))
    }

    @Test("the interval for one new run widens with fewer seeds and with test-set noise")
    func prediction() {
        let xs = [98.6, 98.7, 98.8, 98.65, 98.75]
        let plain = predictionInterval(xs)
        #expect(plain.contains(98.7) && !plain.contains(98.3))
        #expect(predictionInterval(xs, extraStandardError: 0.11).width > plain.width)
        #expect(predictionInterval(Array(xs.prefix(3))).width > plain.width)
        #expect(predictionInterval(xs, newRuns: 4).width < plain.width)
    }
}
