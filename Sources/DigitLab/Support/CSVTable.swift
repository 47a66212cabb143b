import Foundation

/// A small CSV table: a header and rows of strings. Reading is strict enough to reject a file
/// that is not a table (rows of different lengths) with the file and line named.
public struct CSVTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    /// The text, one line per row; fields holding commas or quotes are quoted.
    public var text: String {
        ([header] + rows).map { $0.map(CSVTable.quote).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    private static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Parses CSV text; `name` is used in errors.
    public static func parse(_ text: String, name: String) throws -> CSVTable {
        var records: [[String]] = []
        var field = "", record: [String] = [], quoted = false, atFieldStart = true
        var iterator = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; pending = n }
                    } else { quoted = false }
                } else { field.append(c) }
                continue
            }
            switch c {
            case "\"" where atFieldStart: quoted = true; atFieldStart = false
            case ",": record.append(field); field = ""; atFieldStart = true
            case "\n", "\r\n":
                record.append(field); records.append(record); record = []; field = ""; atFieldStart = true
            case "\r": break
            default: field.append(c); atFieldStart = false
            }
        }
        if quoted { throw DataError(name, "unterminated quoted field") }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first, !header.isEmpty, header != [""] else { throw DataError(name, "empty; expected a CSV header line") }
        for (i, r) in records.enumerated() where r.count != header.count {
            throw DataError(name, "line \(i + 1) has \(r.count) fields; the header has \(header.count)")
        }
        return CSVTable(header: header, rows: Array(records.dropFirst()))
    }

    public static func read(path: String) throws -> CSVTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError(path, "is not UTF-8 text") }
        return try parse(text, name: path)
    }

    /// The index of a column, if present.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
}
