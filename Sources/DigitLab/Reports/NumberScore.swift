import Foundation

/// Numbers read from photographs of known numbers (`make-photos --number`'s labels.csv) scored
/// against their labels: a number is read right when every digit is, and no digit is missing or
/// extra. Counted apart for photographs whose digits are all apart and for those with touching
/// digits.
public struct NumberScore: Sendable {
    /// One photograph: its label, how many pairs of its digits touch, and what was read (nil when
    /// the reader refused it).
    public struct Entry: Sendable {
        public var file: String
        public var label: String
        public var touchingPairs: Int
        public var read: String?
        public var correct: Bool { read == label }
    }

    public var entries: [Entry] = []

    /// The labels of a labels.csv (columns `file`, `label`, `touching_pairs`), by file name.
    public static func labels(path: String) throws -> [String: (label: String, touchingPairs: Int)] {
        let table = try CSVTable.parse(String(contentsOfFile: path, encoding: .utf8), name: path)
        guard let f = table.header.firstIndex(of: "file"), let l = table.header.firstIndex(of: "label"),
              let t = table.header.firstIndex(of: "touching_pairs") else {
            throw DataError(path, "expected the columns file, label and touching_pairs that make-photos --number writes")
        }
        var out: [String: (String, Int)] = [:]
        for (n, row) in table.rows.enumerated() {
            guard let pairs = Int(row[t]), !row[l].isEmpty, row[l].allSatisfy(\.isNumber) else {
                throw DataError(path, "row \(n + 2): expected a label of digits and a count of touching pairs")
            }
            out[row[f]] = (row[l], pairs)
        }
        return out
    }

    public init() {}

    public mutating func add(file: String, label: String, touchingPairs: Int, read: String?) {
        entries.append(Entry(file: file, label: label, touchingPairs: touchingPairs, read: read))
    }

    /// Right readings and photographs, where no digits touch and where some do.
    public var apart: (right: Int, of: Int) { count { $0.touchingPairs == 0 } }
    public var touching: (right: Int, of: Int) { count { $0.touchingPairs > 0 } }

    private func count(_ include: (Entry) -> Bool) -> (right: Int, of: Int) {
        let chosen = entries.filter(include)
        return (chosen.filter(\.correct).count, chosen.count)
    }

    /// One row per photograph.
    public var csv: CSVTable {
        CSVTable(header: ["file", "label", "touching_pairs", "read", "correct"],
                 rows: entries.map { [$0.file, $0.label, String($0.touchingPairs), $0.read ?? "", $0.correct ? "1" : "0"] })
    }

    /// One line for people.
    public var summary: String {
        func share(_ c: (right: Int, of: Int)) -> String {
            "\(c.right) of \(c.of)" + (c.of > 0 ? " (\(fixed(100 * Double(c.right) / Double(c.of), 1))%)" : "")
        }
        let all = (apart.right + touching.right, apart.of + touching.of)
        return "numbers read right: \(share(all)); digits apart \(share(apart)), touching digits \(share(touching))"
    }
}
