import DigitLabTestSupport
import Foundation
import Testing

/// The house as a newcomer reads it: within Sources/DigitLab and Sources/DigitLabEngine no two
/// folders use each other (a folder uses another when one of its files names a type or calls a
/// function declared at the top level of the other's files), and README.md's "Code layout" names
/// every folder under Sources/ and under each of its targets.
@Suite("Source layout: no two folders use each other, the README's code layout names every folder")
struct SourceLayoutTests {
    static let root = TestPaths.root

    @Test("no two folders of Sources/DigitLab or Sources/DigitLabEngine use each other")
    func noMutualUse() throws {
        for target in ["DigitLab", "DigitLabEngine"] {
            let uses = try SourceLayout.uses(in: SourceLayout.swiftFiles(under: Self.root + "/Sources/" + target))
            let pairs = SourceLayout.mutualUses(uses)
            #expect(pairs.isEmpty, "Sources/\(target): \(pairs.joined(separator: "; "))")
            // A scan that found no uses at all would pass without reading anything.
            #expect(uses.values.map(\.count).reduce(0, +) >= 3, "Sources/\(target): too few uses found: \(uses)")
        }
        let uses = try SourceLayout.uses(in: SourceLayout.swiftFiles(under: Self.root + "/Sources/DigitLab"))
        #expect(uses["Reports"]?["Experiments"]?.contains("RunPlan") == true)
        #expect(uses["Training"]?["Support"]?.contains("fixed") == true)
    }

    @Test("each folder uses only folders the README's code layout lists above it")
    func layeredAsTheReadmeSays() throws {
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let layout = try #require(SourceLayout.section("Code layout", of: readme), "README.md has no \"## Code layout\" section")
        for target in ["DigitLab", "DigitLabEngine"] {
            let order = SourceLayout.listedFolders(of: target, in: layout)
            #expect(order.count >= 4, "Sources/\(target)/'s folders not found in the code layout")
            let uses = try SourceLayout.uses(in: SourceLayout.swiftFiles(under: Self.root + "/Sources/" + target))
            let upward = SourceLayout.usesBelow(uses, order: order)
            #expect(upward.isEmpty, "Sources/\(target): \(upward.joined(separator: "; "))")
            // Listed the other way round, the same tree breaks the rule.
            #expect(!SourceLayout.usesBelow(uses, order: order.reversed()).isEmpty)
        }
    }

    @Test("the check finds a planted pair, through an interpolation, and not through comments or strings")
    func plantedPair() throws {
        let files: [SourceLayout.File] = [
            .init(folder: "Alpha", text: """
                /// Mentions Gamma and Delta only here.
                public struct Alpha { let beta: Beta; let note = "Gamma and delta()" }
                """),
            .init(folder: "Beta", text: """
                public struct Beta {}
                public func label() -> String { "\\(Alpha.self) \\(delta("x"))" }
                """),
            .init(folder: "Gamma", text: "public struct Gamma {}\n/* Alpha */\n"),
            .init(folder: "Delta", text: "public func delta(_ s: String) -> Int { s.count }\nprivate struct Hidden {}\n"),
        ]
        let uses = SourceLayout.uses(in: files)
        #expect(uses["Alpha"] == ["Beta": ["Beta"]])
        #expect(uses["Beta"] == ["Alpha": ["Alpha"], "Delta": ["delta"]])
        #expect(uses["Gamma"] == nil)
        #expect(SourceLayout.mutualUses(uses) == ["Alpha and Beta use each other (Alpha uses Beta; Beta uses Alpha)"])
    }

    @Test("README.md's code layout names every folder under Sources/ and under each Swift target")
    func readmeNamesEveryFolder() throws {
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let layout = try #require(SourceLayout.section("Code layout", of: readme), "README.md has no \"## Code layout\" section")
        let missing = try SourceLayout.missingFolders(layout: layout, sources: Self.root + "/Sources")
        #expect(missing.isEmpty, "README.md's code layout does not name: \(missing.joined(separator: ", "))")
        // The check reads the tree: a layout without Support/ is caught.
        let cut = layout.replacingOccurrences(of: "Support/", with: "")
        #expect(try SourceLayout.missingFolders(layout: cut, sources: Self.root + "/Sources") == ["Sources/DigitLab/Support"])
    }
}

/// Reading Swift sources for the layout checks: which folder declares what, and which folders use which.
enum SourceLayout {
    struct File {
        /// The folder directly under the target's directory (nested folders count as theirs).
        let folder: String
        let text: String
    }

    /// The Swift files under `directory`, each with its top folder there.
    static func swiftFiles(under directory: String) throws -> [File] {
        let paths = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix(".swift") }
        return try paths.sorted().compactMap { path in
            let parts = path.split(separator: "/")
            guard parts.count > 1 else { return nil }
            return File(folder: String(parts[0]), text: try String(contentsOfFile: directory + "/" + path, encoding: .utf8))
        }
    }

    /// Folder -> folder it uses -> the names it uses from there.
    static func uses(in files: [File]) -> [String: [String: Set<String>]] {
        let code = files.map { (folder: $0.folder, code: withoutCommentsAndStrings($0.text)) }
        var declared: [String: (folders: Set<String>, isFunction: Bool)] = [:]
        let declaration = /^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|package|open|final|indirect|nonisolated(?:\(unsafe\))?)\s+)*(struct|class|enum|protocol|actor|typealias|func|let|var)\s+([A-Za-z_]\w*)/
        for file in code {
            for line in file.code.split(separator: "\n") {
                guard let match = line.firstMatch(of: declaration) else { continue }
                let name = String(match.2)
                declared[name, default: ([], match.1 == "func")].folders.insert(file.folder)
            }
        }
        var uses: [String: [String: Set<String>]] = [:]
        let identifier = /(\.?)([A-Za-z_]\w*)(\s*\()?/  // a name after a dot is a member
        for file in code {
            for match in file.code.matches(of: identifier) {
                let name = String(match.2)
                guard match.1.isEmpty, let (folders, isFunction) = declared[name], !folders.contains(file.folder),
                      !isFunction || match.3 != nil else { continue }
                for other in folders { uses[file.folder, default: [:]][other, default: []].insert(name) }
            }
        }
        return uses
    }

    /// Each pair of folders that use each other, in words.
    static func mutualUses(_ uses: [String: [String: Set<String>]]) -> [String] {
        uses.keys.sorted().flatMap { a in
            (uses[a] ?? [:]).keys.sorted().filter { b in a < b && uses[b]?[a] != nil }.map { b in
                "\(a) and \(b) use each other (\(a) uses \(uses[a]![b]!.sorted().joined(separator: ", ")); "
                    + "\(b) uses \(uses[b]![a]!.sorted().joined(separator: ", ")))"
            }
        }
    }

    /// Uses of a folder listed at or below the user in `order` (or not listed), in words.
    static func usesBelow(_ uses: [String: [String: Set<String>]], order: [String]) -> [String] {
        uses.keys.sorted().flatMap { a in
            (uses[a] ?? [:]).keys.sorted().compactMap { b in
                guard let i = order.firstIndex(of: a), let j = order.firstIndex(of: b), j < i else {
                    return "\(a) uses \(b) (\(uses[a]![b]!.sorted().joined(separator: ", "))), listed below it or not at all"
                }
                return nil
            }
        }
    }

    /// The folders the code layout lists under `Sources/target/`, in order: its indented `Name/` lines.
    static func listedFolders(of target: String, in layout: String) -> [String] {
        let lines = layout.split(separator: "\n").map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("    Sources/\(target)/") }) else { return [] }
        var folders: [String] = []
        for line in lines[(start + 1)...] {
            guard line.hasPrefix("      ") else { break }
            if let match = line.firstMatch(of: /^      ([A-Za-z]\w*)\//) { folders.append(String(match.1)) }
        }
        return folders
    }

    /// Swift source with comments and the text of string literals blanked; the code inside a
    /// string's interpolations is kept. Line breaks are kept, so declarations stay at line starts.
    static func withoutCommentsAndStrings(_ source: String) -> String {
        enum Context { case string(multiline: Bool, hashes: Int), interpolation(depth: Int) }
        let c = Array(source.unicodeScalars)
        func at(_ k: Int) -> Unicode.Scalar? { k < c.count ? c[k] : nil }
        func hashes(from k: Int) -> Int { var n = 0; while at(k + n) == "#" { n += 1 }; return n }
        var out = String.UnicodeScalarView()
        var stack: [Context] = []
        var i = 0
        while i < c.count {
            let ch = c[i]
            if case .string(let multiline, let n)? = stack.last {
                if ch == "\\" && hashes(from: i + 1) >= n {
                    if at(i + 1 + n) == "(" { stack.append(.interpolation(depth: 0)); out.append(" "); i += n + 2; continue }
                    i += n + 2
                    continue
                }
                if ch == "\"" {
                    let quotes = multiline ? 3 : 1
                    if (0..<quotes).allSatisfy({ at(i + $0) == "\"" }) && hashes(from: i + quotes) >= n {
                        stack.removeLast(); out.append(" "); i += quotes + n
                        continue
                    }
                }
                if ch == "\n" { out.append("\n") }
                i += 1
                continue
            }
            if ch == "/" && at(i + 1) == "/" {
                while i < c.count && c[i] != "\n" { i += 1 }
                continue
            }
            if ch == "/" && at(i + 1) == "*" {
                var depth = 0
                repeat {
                    if c[i] == "/" && at(i + 1) == "*" { depth += 1; i += 2 }
                    else if c[i] == "*" && at(i + 1) == "/" { depth -= 1; i += 2 }
                    else { if c[i] == "\n" { out.append("\n") }; i += 1 }
                } while depth > 0 && i < c.count
                continue
            }
            let n = hashes(from: i)
            if at(i + n) == "\"" {
                let multiline = at(i + n + 1) == "\"" && at(i + n + 2) == "\""
                if !multiline && at(i + n + 1) == "\"" && n == 0 { out.append(" "); i += 2; continue }  // ""
                stack.append(.string(multiline: multiline, hashes: n))
                out.append(" ")
                i += n + (multiline ? 3 : 1)
                continue
            }
            if case .interpolation(let depth)? = stack.last {
                if ch == "(" { stack[stack.count - 1] = .interpolation(depth: depth + 1) }
                if ch == ")" {
                    if depth == 0 { stack.removeLast(); out.append(" "); i += 1; continue }
                    stack[stack.count - 1] = .interpolation(depth: depth - 1)
                }
            }
            out.append(ch)
            i += 1
        }
        return String(out)
    }

    /// The text of a `## title` section of a Markdown document, up to the next `## ` heading.
    static func section(_ title: String, of markdown: String) -> String? {
        guard let start = markdown.range(of: "\n## \(title)\n") else { return nil }
        let rest = markdown[start.upperBound...]
        return String(rest[..<(rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex)])
    }

    /// Folders under `sources` the layout text does not name: each folder directly under it by its
    /// name, and each folder of a Swift target (one holding .swift files) as `Name/`.
    static func missingFolders(layout: String, sources: String) throws -> [String] {
        let fm = FileManager.default
        func folders(_ path: String) throws -> [String] {
            try fm.contentsOfDirectory(atPath: path).sorted().filter {
                var isDirectory: ObjCBool = false
                return fm.fileExists(atPath: path + "/" + $0, isDirectory: &isDirectory) && isDirectory.boolValue
            }
        }
        let words = Set(layout.split { !$0.isLetter && !$0.isNumber }.map(String.init))
        var missing: [String] = []
        for target in try folders(sources) {
            if !words.contains(target) { missing.append("Sources/" + target) }
            let path = sources + "/" + target
            guard try fm.subpathsOfDirectory(atPath: path).contains(where: { $0.hasSuffix(".swift") }) else { continue }
            for folder in try folders(path) where !layout.contains(folder + "/") {
                missing.append("Sources/\(target)/\(folder)")
            }
        }
        return missing
    }
}
