import Foundation

/// Two run sets compared seed by seed on one summary column (test accuracy by default): the
/// seeds both have, paired, and the statistics of A - B.
public struct SeedComparison: Sendable {
    /// A short name for the pair, e.g. "L2 on conv1 (3 dense, no rotation)".
    public var label: String
    public var a: String
    public var b: String
    /// The knob that differs, for the paper's one-knob pairs.
    public var knob: Knob?
    /// What pairing by seed shares between A and B.
    public var pairing: String
    public var column: String
    public var seeds: [Int]
    /// Seeds only one side has, left out of the pairing.
    public var unpairedSeeds: [Int]
    public var statistics: PairedComparison

    public var verdict: Verdict { statistics.verdict() }

    /// The paper's three knobs, one-knob pairs named by the one they turn on (A on, B off).
    public enum Knob: String, Sendable, CaseIterable {
        case fourthDense = "4th dense layer"
        case l2 = "L2 on conv1"
        case rotation = "rotation"

        /// What the same seed shares across the pair, given how the harness seeds a run: weights
        /// in layer order from one stream, the batch order from another, rotations from a third.
        public var pairing: String {
            switch self {
            case .fourthDense:
                return "same seed: same conv and first dense weights, batch order and rotations; the later dense layers' weights differ"
            case .l2:
                return "same seed: same initial weights, batch order and rotations (exactly paired)"
            case .rotation:
                return "same seed: same initial weights; batch order differs (54,000 images and a validation split without rotation, 60,000 with)"
            }
        }
    }

    public static let genericPairing = "same seed: same initial weights where the layers match, same batch order where the training sets match"

    /// Pairs A and B over the seeds both have; nil when they share fewer than two.
    public init?(label: String, a: RunSet, b: RunSet, knob: Knob? = nil, column: String = "test_acc",
                 settings: ComparisonSettings = .init()) {
        let av = Dictionary(uniqueKeysWithValues: a.values(column).map { ($0.seed, $0.value) })
        let bv = Dictionary(uniqueKeysWithValues: b.values(column).map { ($0.seed, $0.value) })
        let shared = Set(av.keys).intersection(bv.keys).sorted()
        guard shared.count >= 2 else { return nil }
        self.label = label
        self.a = a.name
        self.b = b.name
        self.knob = knob
        self.pairing = knob?.pairing ?? Self.genericPairing
        self.column = column
        seeds = shared
        unpairedSeeds = Set(av.keys).symmetricDifference(bv.keys).sorted()
        statistics = PairedComparison(a: shared.map { av[$0]! }, b: shared.map { bv[$0]! }, settings: settings)
    }

    /// Sets the Holm-adjusted p-values across a family of comparisons.
    public static func adjust(_ family: inout [SeedComparison]) {
        var stats = family.map(\.statistics)
        PairedComparison.adjustFamily(&stats)
        for i in family.indices { family[i].statistics = stats[i] }
    }

    /// The paper's twelve one-knob pairs among case specs: every two cases that differ in exactly
    /// one of dense layers, L2 on conv1 and rotation, A with the knob on. Each pair's label names
    /// the knob and the other two knobs' setting.
    public static func oneKnobPairs(_ specs: [ExperimentSpec]) -> [(a: ExperimentSpec, b: ExperimentSpec, knob: Knob, label: String)] {
        func knobs(_ s: ExperimentSpec) -> [Bool] { [s.denseLayerCount > 3, !s.l2Layers.isEmpty, s.augmentation.isEnabled] }
        var pairs: [(ExperimentSpec, ExperimentSpec, Knob, String)] = []
        for knob in Knob.allCases {
            let k = Knob.allCases.firstIndex(of: knob)!
            for on in specs where knobs(on)[k] {
                guard let off = specs.first(where: { other in
                    let ko = knobs(other), kn = knobs(on)
                    return !ko[k] && (0..<3).allSatisfy { $0 == k || ko[$0] == kn[$0] }
                }) else { continue }
                let kn = knobs(on)
                var context: [String] = []
                if k != 0 { context.append(kn[0] ? "4 dense" : "3 dense") }
                if k != 1 { context.append(kn[1] ? "L2" : "no L2") }
                if k != 2 { context.append(kn[2] ? "rotation" : "no rotation") }
                pairs.append((on, off, knob, "\(knob.rawValue) (\(context.joined(separator: ", ")))"))
            }
        }
        return pairs
    }
}
