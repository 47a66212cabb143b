import Foundation
import Yams

/// A parsed YAML spec as a tree of scalars, lists and maps, with the file and line each value
/// came from, so errors can point at them. Merging a case spec over its base keeps the line of
/// whichever file set the value.
public indirect enum SpecTree: Sendable {
    case scalar(String, Origin)
    case list([SpecTree], Origin)
    case map([(key: String, value: SpecTree)], Origin)

    public struct Origin: Sendable, Equatable {
        public var file: String
        public var line: Int?
    }

    public var origin: Origin {
        switch self {
        case let .scalar(_, o), let .list(_, o), let .map(_, o): return o
        }
    }

    /// The largest spec file read (a spec is about 1 KB).
    public static let maximumBytes = 1 << 20
    /// The most values (maps, lists and scalars) a spec may hold; the paper's specs hold about 50.
    public static let maximumValues = 10_000

    /// Parses YAML text; `file` names it in errors.
    ///
    /// YAML anchors and aliases (`&name`, `*name`) are refused: they buy nothing in a spec, and
    /// nested aliases expand exponentially (a "billion laughs" file of a few hundred bytes).
    public static func parse(_ text: String, file: String) throws -> SpecTree {
        guard text.utf8.count <= maximumBytes else {
            throw SpecError(file: file, key: "", problem: "is \(text.utf8.count) bytes; a spec is at most \(maximumBytes >> 10) KB")
        }
        do {
            // The parser owns the anchors the nodes refer to (weakly): keep it alive while converting.
            let parser = try Parser(yaml: text)
            return try withExtendedLifetime(parser) {
                guard let node = try parser.singleRoot() else { return .map([], Origin(file: file, line: 1)) }
                var budget = maximumValues
                return try convert(node, file: file, path: "", budget: &budget)
            }
        } catch let error as YamlError {
            throw SpecError(file: file, key: "", problem: "not valid YAML: \(yamlMessage(error))")
        }
    }

    /// Reads and parses a spec file.
    public static func load(path: String) throws -> SpecTree {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SpecError(file: path, key: "", problem: errno == ENOENT ? "no such spec file" : "cannot be read (\(String(cString: strerror(errno))))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw SpecError(file: path, key: "", problem: "is a directory, not a spec file") }
        guard Int(info.st_size) <= maximumBytes else {
            throw SpecError(file: path, key: "", problem: "is \(info.st_size) bytes; a spec is at most \(maximumBytes >> 10) KB")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError(file: path, key: "", problem: "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(file: path, key: "", problem: "is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    private static func convert(_ node: Node, file: String, path: String, budget: inout Int) throws -> SpecTree {
        let origin = Origin(file: file, line: node.mark.map { $0.line })
        budget -= 1
        guard budget >= 0 else {
            throw SpecError(file: file, line: origin.line, key: path, problem: "the spec holds more than \(maximumValues) values")
        }
        let anchored: Bool
        switch node {
        case let .scalar(s): anchored = s.anchor != nil
        case let .sequence(s): anchored = s.anchor != nil
        case let .mapping(m): anchored = m.anchor != nil
        case .alias: anchored = true
        }
        guard !anchored else {
            throw SpecError(file: file, line: origin.line, key: path, problem: "YAML anchors and aliases (&name, *name) are not supported in specs")
        }
        switch node {
        case let .scalar(s):
            return .scalar(s.string, origin)
        case let .sequence(seq):
            var items: [SpecTree] = []
            for item in seq { items.append(try convert(item, file: file, path: path, budget: &budget)) }
            return .list(items, origin)
        case let .mapping(mapping):
            var entries: [(String, SpecTree)] = []
            var seen = Set<String>()
            for (k, v) in mapping {
                guard case let .scalar(key) = k else {
                    throw SpecError(file: file, line: k.mark?.line, key: path, problem: "keys must be plain names")
                }
                let childPath = path.isEmpty ? key.string : path + "." + key.string
                guard seen.insert(key.string).inserted else {
                    throw SpecError(file: file, line: k.mark?.line, key: childPath, problem: "key appears twice")
                }
                entries.append((key.string, try convert(v, file: file, path: childPath, budget: &budget)))
            }
            return .map(entries.map { (key: $0.0, value: $0.1) }, origin)
        case .alias:
            throw SpecError(file: file, line: origin.line, key: path, problem: "YAML aliases are not supported in specs")
        }
    }

    private static func yamlMessage(_ error: YamlError) -> String {
        "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    /// `other` laid over `self`: maps merge key by key, anything else is replaced.
    public func merged(with other: SpecTree) -> SpecTree {
        guard case let .map(base, origin) = self, case let .map(over, _) = other else { return other }
        var entries = base
        for (key, value) in over {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                entries[i].value = entries[i].value.merged(with: value)
            } else {
                entries.append((key, value))
            }
        }
        return .map(entries, origin)
    }

    /// The value at a top-level key of a map.
    public subscript(key: String) -> SpecTree? {
        guard case let .map(entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// This map without `key`.
    public func removing(_ key: String) -> SpecTree {
        guard case let .map(entries, origin) = self else { return self }
        return .map(entries.filter { $0.key != key }, origin)
    }

    /// Sets the value at a dotted path, creating maps on the way.
    public func setting(_ path: [String], to value: SpecTree) -> SpecTree {
        guard let head = path.first else { return value }
        guard case let .map(entries, origin) = self else {
            return SpecTree.map([], value.origin).setting(path, to: value)
        }
        var e = entries
        if let i = e.firstIndex(where: { $0.key == head }) {
            e[i].value = e[i].value.setting(Array(path.dropFirst()), to: value)
        } else {
            e.append((head, SpecTree.map([], value.origin).setting(Array(path.dropFirst()), to: value)))
        }
        return .map(e, origin)
    }

    /// Every leaf (scalar or list) with its dotted path; `mapsAt` collects paths that hold maps.
    public func leaves(prefix: String = "") -> [(path: String, value: SpecTree)] {
        switch self {
        case let .map(entries, _):
            return entries.flatMap { entry -> [(path: String, value: SpecTree)] in
                let p = prefix.isEmpty ? entry.key : prefix + "." + entry.key
                if case .map = entry.value { return entry.value.leaves(prefix: p) }
                return [(p, entry.value)]
            }
        default:
            return [(prefix, self)]
        }
    }
}
