import DigitLabTestSupport
import Foundation
import Testing

/// The documents a newcomer reads: every relative link in README.md and docs/*.md leads to a file
/// of the repository (and an anchor to a heading of it), and the README's results table is the
/// one `digitlab report` wrote into results/summary.md.
@Suite("Documentation: links resolve, the README's results table is results/summary.md's")
struct DocumentationTests {
    static let root = TestPaths.root

    @Test("every relative link and image in README.md and docs/*.md resolves, anchors included")
    func linksResolve() throws {
        let documents = try MarkdownLinks.documents(root: Self.root)
        #expect(documents.contains(Self.root + "/README.md"))
        #expect(documents.count >= 8, "README.md and docs/*.md: found \(documents)")
        var checked = 0, problems: [String] = []
        for document in documents {
            let text = try String(contentsOfFile: document, encoding: .utf8)
            let links = MarkdownLinks.targets(in: text)
            checked += links.filter { !MarkdownLinks.isExternal($0.target) }.count
            problems += MarkdownLinks.problems(in: document, text: text, root: Self.root)
        }
        // The README alone links the plots, results and every document: a scan that finds few
        // links has stopped reading them.
        #expect(checked >= 60, "only \(checked) relative links found")
        #expect(problems.isEmpty, "broken links:\n\(problems.joined(separator: "\n"))")
    }

    @Test("the link check catches a missing file, a missing anchor and a link out of the repository")
    func plantedBrokenLinks() throws {
        let root = TestPaths.temporaryDirectory("doc-links")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/docs", withIntermediateDirectories: true)
        try "# Guide\n\n## Two words\n\ntext\n".write(toFile: root + "/docs/guide.md", atomically: true, encoding: .utf8)
        let good = """
            # Top

            [guide](docs/guide.md), [a section](docs/guide.md#two-words), [here](#top), [site](https://example.org/x),
            ![plot](docs/guide.md) and `[not a link](nowhere.md)`

            ```
            [also not a link](nowhere.md)
            ```

            """
        try good.write(toFile: root + "/README.md", atomically: true, encoding: .utf8)
        #expect(MarkdownLinks.problems(in: root + "/README.md", text: good, root: root).isEmpty)
        #expect(MarkdownLinks.targets(in: good).count == 5, "\(MarkdownLinks.targets(in: good))")
        let plantedLine = good.components(separatedBy: "\n").count

        for (planted, expected) in [("[gone](docs/missing.md)", "docs/missing.md"),
                                    ("![chart](docs/plot.svg)", "docs/plot.svg"),
                                    ("[section](docs/guide.md#three-words)", "#three-words"),
                                    ("[self](#nowhere)", "#nowhere"),
                                    ("[outside](../elsewhere/README.md)", "../elsewhere/README.md")] {
            let text = good + planted + "\n"
            let problems = MarkdownLinks.problems(in: root + "/README.md", text: text, root: root)
            #expect(problems.count == 1 && problems.first?.contains(expected) == true, "\(planted): \(problems)")
            #expect(problems.first?.hasPrefix("README.md:\(plantedLine):") == true, "\(problems)")
        }
    }

    @Test("GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered")
    func headingAnchors() {
        let text = "# What each change bought\n## The sittings: Zen 3, 12-02\n### `make bench`\n## Overrides\n## Overrides\n"
        #expect(MarkdownLinks.anchors(in: text) == ["what-each-change-bought", "the-sittings-zen-3-12-02", "make-bench",
                                                    "overrides", "overrides-1"])
    }

    @Test("README.md's results table is the table in results/summary.md")
    func resultsTableMatchesSummary() throws {
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let summary = try String(contentsOfFile: Self.root + "/results/summary.md", encoding: .utf8)
        let mismatch = ResultsTable.mismatch(readme: readme, summary: summary)
        #expect(mismatch == nil, "\(mismatch ?? ""); `digitlab report` rewrites both from results/runs")
    }

    @Test("a README table changed, cut short or missing its legend no longer matches")
    func plantedTableDrift() throws {
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let summary = try String(contentsOfFile: Self.root + "/results/summary.md", encoding: .utf8)
        try #require(ResultsTable.mismatch(readme: readme, summary: summary) == nil)
        let lines = readme.components(separatedBy: "\n")
        let rows = lines.indices.filter { lines[$0].hasPrefix("| ") && lines[$0].contains(" · ") }
        let legend = try #require(lines.firstIndex { $0.hasPrefix("Ours: ") })
        try #require(rows.count >= 8)

        var changed = lines   // one figure changed
        let figure = try #require(changed[rows[2]].range(of: "98."))
        changed[rows[2]].replaceSubrange(figure, with: "97.")
        var cut = lines       // the last case dropped
        cut.remove(at: rows.last!)
        var noLegend = lines
        noLegend.remove(at: legend)
        for (name, variant) in [("changed", changed), ("cut", cut), ("no legend", noLegend)] {
            #expect(ResultsTable.mismatch(readme: variant.joined(separator: "\n"), summary: summary) != nil, "\(name)")
        }
        #expect(ResultsTable.mismatch(readme: "# no block here\n", summary: summary) != nil)
    }
}

/// Relative links in Markdown, as GitHub renders them.
enum MarkdownLinks {
    /// README.md and every docs/*.md under `root`.
    static func documents(root: String) throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: root + "/docs").filter { $0.hasSuffix(".md") }.sorted()
        return [root + "/README.md"] + docs.map { root + "/docs/" + $0 }
    }

    /// The lines of `text` that are prose: fenced and indented code blocks blanked, inline code
    /// spans removed (links there are not links), or with `unwrapCode` kept without their
    /// backticks (as a heading's anchor keeps their text).
    static func proseLines(_ text: String, unwrapCode: Bool = false) -> [String] {
        var out: [String] = [], fence: String?, previousBlank = true, inIndented = false
        for line in text.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                if trimmed.hasPrefix(open) { fence = nil }
                out.append(""); previousBlank = false; continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix(3)); out.append(""); previousBlank = false; continue
            }
            let indented = line.hasPrefix("    ") || line.hasPrefix("\t")
            inIndented = indented && (previousBlank || inIndented) && !trimmed.isEmpty
            previousBlank = trimmed.isEmpty
            if inIndented { out.append(""); continue }
            out.append(line.replacingOccurrences(of: "`([^`]*)`", with: unwrapCode ? "$1" : "", options: .regularExpression))
        }
        return out
    }

    /// Every link and image target, with its line number (from 1): `[text](target)`,
    /// `![alt](target "title")`, reference definitions `[id]: target`, and HTML `src`/`href`.
    static func targets(in text: String) -> [(line: Int, target: String)] {
        let patterns = [#"\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#, #"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)"#,
                        #"(?:src|href)\s*=\s*"([^"]+)""#]
        let expressions = patterns.map { try! NSRegularExpression(pattern: $0) }
        var found: [(Int, String)] = []
        for (index, line) in proseLines(text).enumerated() {
            let range = NSRange(line.startIndex..., in: line)
            for expression in expressions {
                for match in expression.matches(in: line, range: range) {
                    if let r = Range(match.range(at: 1), in: line) { found.append((index + 1, String(line[r]))) }
                }
            }
        }
        return found
    }

    static func isExternal(_ target: String) -> Bool {
        target.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:"#, options: .regularExpression) != nil
    }

    /// The anchors GitHub gives a document's headings: lower case, every character but letters,
    /// digits, spaces, hyphens and underscores dropped, spaces made hyphens; a repeat gets -1, -2.
    static func anchors(in text: String) -> [String] {
        var seen: [String: Int] = [:], out: [String] = []
        for line in proseLines(text, unwrapCode: true) {
            guard let match = line.range(of: #"^ {0,3}#{1,6}\s+"#, options: .regularExpression) else { continue }
            var title = String(line[match.upperBound...])
            title = title.replacingOccurrences(of: #"\s+#+\s*$"#, with: "", options: .regularExpression)
            title = title.replacingOccurrences(of: #"!?\[([^\]]*)\]\([^)]*\)"#, with: "$1", options: .regularExpression)
            let kept = title.lowercased().unicodeScalars.filter {
                CharacterSet.letters.contains($0) || CharacterSet.decimalDigits.contains($0) || " -_".unicodeScalars.contains($0)
            }
            let slug = String(String.UnicodeScalarView(kept)).replacingOccurrences(of: " ", with: "-")
            let count = seen[slug, default: 0]
            seen[slug] = count + 1
            out.append(count == 0 ? slug : "\(slug)-\(count)")
        }
        return out
    }

    /// One line per broken relative link of `document` ("FILE:LINE: target: what is wrong"): a
    /// path that names no file or directory, or leaves `root`; an anchor no heading of the
    /// target Markdown file has.
    static func problems(in document: String, text: String, root: String) -> [String] {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        let directory = URL(fileURLWithPath: document).deletingLastPathComponent()
        let name = document.hasPrefix(root + "/") ? String(document.dropFirst(root.count + 1)) : document
        var problems: [String] = []
        for (line, target) in targets(in: text) where !isExternal(target) {
            let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let anchor = parts.count > 1 ? String(parts[1]) : nil
            let file = path.isEmpty ? URL(fileURLWithPath: document) : directory.appendingPathComponent(path).standardizedFileURL
            func report(_ what: String) { problems.append("\(name):\(line): \(target): \(what)") }
            guard file.path == rootURL.path || file.path.hasPrefix(rootURL.path + "/") else {
                report("leaves the repository"); continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
                report("no such file"); continue
            }
            guard let anchor, !anchor.isEmpty else { continue }
            guard !isDirectory.boolValue, file.pathExtension == "md",
                  let targetText = try? String(contentsOf: file, encoding: .utf8) else {
                report("an anchor into a file that is not Markdown"); continue
            }
            if !anchors(in: targetText).contains(anchor.lowercased()) { report("no heading with this anchor") }
        }
        return problems
    }
}

/// The table `digitlab report` writes both into results/summary.md (after its heading and
/// "Dataset:" line, before the plots) and between the README's results markers.
enum ResultsTable {
    /// Why the README's results block is not summary.md's table, or nil when it is.
    static func mismatch(readme: String, summary: String) -> String? {
        guard let begin = readme.range(of: "<!-- results:begin -->"), let end = readme.range(of: "<!-- results:end -->"),
              begin.upperBound <= end.lowerBound else {
            return "README.md has no <!-- results:begin --> ... <!-- results:end --> block"
        }
        var block = String(readme[begin.upperBound..<end.lowerBound])
        if block.hasPrefix("\n") { block.removeFirst() }
        guard block.contains("\n| ") else { return "README.md's results block holds no table" }
        let lines = summary.components(separatedBy: "\n")
        guard let dataset = lines.firstIndex(where: { $0.hasPrefix("Dataset: ") }), dataset + 2 < lines.count else {
            return "results/summary.md has no \"Dataset:\" line before its table"
        }
        let table = lines[(dataset + 2)...].joined(separator: "\n")
        guard table.hasPrefix(block) else {
            let ours = block.components(separatedBy: "\n"), theirs = table.components(separatedBy: "\n")
            let at = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ours.count, theirs.count)
            return "README.md's results block differs from results/summary.md's table at its line \(at + 1): "
                + "README \"\(at < ours.count ? ours[at] : "(end)")\", summary.md \"\(at < theirs.count ? theirs[at] : "(end)")\""
        }
        // The block must end where the table does: at a blank line, with no table row, legend
        // or "Not counted" paragraph of the table left after it.
        let rest = table.dropFirst(block.count)
        let after = rest.components(separatedBy: "\n").drop { $0.isEmpty }.prefix(while: { !$0.isEmpty })
        let leftOver = after.first { $0.hasPrefix("|") || $0.hasPrefix("Ours: ") || $0.hasPrefix("Not counted: ") }
        if !rest.hasPrefix("\n") || leftOver != nil || !block.contains("\nOurs: ") && !block.hasPrefix("Ours: ") {
            return "README.md's results block stops short of results/summary.md's table (next: \"\(after.first ?? "")\")"
        }
        return nil
    }
}
