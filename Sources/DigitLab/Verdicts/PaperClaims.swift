import Foundation

/// The paper's conclusions as comparisons the harness can evaluate (experiments/paper-claims.yaml):
/// each claim lists comparisons of two cases and what the paper expects of each.
public struct PaperClaims: Sendable {
    /// What a claim expects of A - B.
    public enum Expectation: String, Sendable, CaseIterable {
        /// A above B: the verdict must say better.
        case better
        /// A below B: the verdict must say worse.
        case worse
        /// A and B within ±margin of each other: the interval inside (-margin, margin).
        case same
        /// A not below B by more than the margin: the interval's lower end above -margin.
        case notWorse = "not-worse"
    }

    public struct Comparison: Sendable, Hashable {
        public var a: String
        public var b: String
        public var expect: Expectation
    }

    public struct Claim: Sendable {
        public var id: String
        public var text: String
        public var source: String
        public var comparisons: [Comparison]
    }

    /// How far apart two cases may be and count as the same, in points.
    public var margin: Double
    public var claims: [Claim]

    public init(margin: Double, claims: [Claim]) {
        self.margin = margin
        self.claims = claims
    }

    /// Reads and checks a claims file: every key known, every comparison naming two cases and an
    /// expectation. Errors name the file, line and key.
    public static func load(path: String) throws -> PaperClaims {
        let tree = try SpecTree.load(path: path)
        guard case let .map(top, _) = tree else { throw SpecError(file: path, line: 1, key: "", problem: "expected a map with margin and claims") }
        for (key, value) in top where !["margin", "claims"].contains(key) {
            throw SpecError(file: path, line: value.origin.line, key: key, problem: "unknown key; expected margin or claims")
        }
        guard case let .scalar(m, mo)? = tree["margin"] else { throw SpecError(file: path, key: "margin", problem: "missing; expected a number of points, e.g. 0.1") }
        guard let margin = Double(m), margin > 0 else { throw SpecError(file: path, line: mo.line, key: "margin", problem: "expected a positive number of points (got \(m))") }
        guard case let .list(items, _)? = tree["claims"], !items.isEmpty else {
            throw SpecError(file: path, key: "claims", problem: "missing or empty; expected a list of claims")
        }
        var claims: [Claim] = [], ids = Set<String>()
        for (i, item) in items.enumerated() {
            let at = "claims[\(i)]"
            guard case let .map(entries, origin) = item else { throw SpecError(file: path, line: item.origin.line, key: at, problem: "expected a map") }
            for (key, value) in entries where !["id", "claim", "source", "comparisons"].contains(key) {
                throw SpecError(file: path, line: value.origin.line, key: "\(at).\(key)", problem: "unknown key; expected id, claim, source or comparisons")
            }
            func text(_ key: String) throws -> String {
                guard case let .scalar(s, _)? = item[key], !s.isEmpty else {
                    throw SpecError(file: path, line: origin.line, key: "\(at).\(key)", problem: "missing; expected text")
                }
                return s
            }
            let id = try text("id")
            guard ids.insert(id).inserted else { throw SpecError(file: path, line: origin.line, key: "\(at).id", problem: "\(id) appears twice") }
            guard case let .list(list, lo)? = item["comparisons"], !list.isEmpty else {
                throw SpecError(file: path, line: origin.line, key: "\(at).comparisons", problem: "missing or empty; expected a list of {a, b, expect}")
            }
            var comparisons: [Comparison] = []
            for (j, c) in list.enumerated() {
                let ckey = "\(at).comparisons[\(j)]"
                guard case let .map(fields, co) = c else { throw SpecError(file: path, line: c.origin.line ?? lo.line, key: ckey, problem: "expected {a: caseN, b: caseM, expect: ...}") }
                for (key, value) in fields where !["a", "b", "expect"].contains(key) {
                    throw SpecError(file: path, line: value.origin.line, key: "\(ckey).\(key)", problem: "unknown key; expected a, b or expect")
                }
                guard case let .scalar(a, _)? = c["a"], case let .scalar(b, _)? = c["b"], !a.isEmpty, !b.isEmpty, a != b else {
                    throw SpecError(file: path, line: co.line, key: ckey, problem: "expected two different cases as a and b")
                }
                guard case let .scalar(e, eo)? = c["expect"], let expect = Expectation(rawValue: e) else {
                    throw SpecError(file: path, line: co.line, key: "\(ckey).expect",
                                    problem: "expected one of " + Expectation.allCases.map(\.rawValue).joined(separator: ", "))
                }
                _ = eo
                comparisons.append(Comparison(a: a, b: b, expect: expect))
            }
            claims.append(Claim(id: id, text: try text("claim"), source: try text("source"), comparisons: comparisons))
        }
        return PaperClaims(margin: margin, claims: claims)
    }

    /// What the seeds say about one expectation.
    public enum Status: String, Sendable, CaseIterable {
        case supported, contradicted, undecided
    }

    /// Judges one expectation from its comparison (interval: the bootstrap's): better and worse by
    /// the verdict; same and not-worse supported by the interval inside the margin, contradicted
    /// only by a verdict against them with the interval wholly outside it.
    public func judge(_ expect: Expectation, _ c: PairedComparison) -> Status {
        let ci = c.bootstrap, verdict = c.verdict()
        switch expect {
        case .better: return verdict == .better ? .supported : verdict == .worse ? .contradicted : .undecided
        case .worse: return verdict == .worse ? .supported : verdict == .better ? .contradicted : .undecided
        // Contradicting "same" or "not-worse" takes what contradicting "better" takes, a verdict
        // (Holm-adjusted), and beyond it an interval wholly past the margin.
        case .same:
            if ci.lower > -margin && ci.upper < margin { return .supported }
            return verdict != .noDifference && (ci.lower > margin || ci.upper < -margin) ? .contradicted : .undecided
        case .notWorse:
            if ci.lower > -margin { return .supported }
            return verdict == .worse && ci.upper < -margin ? .contradicted : .undecided
        }
    }

    /// A claim's status from its comparisons': contradicted if any is, supported if all are,
    /// else undecided.
    public static func combine(_ statuses: [Status]) -> Status {
        if statuses.contains(.contradicted) { return .contradicted }
        return statuses.allSatisfy { $0 == .supported } ? .supported : .undecided
    }
}
