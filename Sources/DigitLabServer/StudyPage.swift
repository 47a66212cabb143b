import DigitLab
import Foundation
import Hummingbird

/// The study: the reproduction table as `digitlab report` wrote it (`summary.csv`), the verdicts
/// when `verdicts.csv` exists, and the curves of any set of cases overlaid.
extension Site {
    /// A study's rows: `summary.csv` of the results directory or of a subdirectory.
    struct Study {
        var name: String
        var directory: String
        var table: CSVTable
        /// Case name -> the seeds the table counts.
        var seeds: [String: [Int]]
        var caseNames: [String]
    }

    /// The study named `name`, watching each file it reads first (`PageCache`).
    func study(_ name: String, watching files: inout WatchedFiles) throws -> Study {
        // What `library.studies()` reads: the directory's listing, each subdirectory's table and runs.
        files.watch(library.root)
        for sub in library.list(library.root) {
            files.watch("\(library.root)/\(sub)/summary.csv")
            files.watch("\(library.root)/\(sub)/runs")
        }
        files.watch(library.root + "/summary.csv")
        return try study(name)
    }

    func study(_ name: String) throws -> Study {
        guard library.studies().contains(name) else {
            throw ServeError.notFound(name.isEmpty ? "study (results/summary.csv is missing: run `digitlab report`)" : "study \"\(name)\"")
        }
        let directory = library.directory(ofStudy: name)
        let table = try readCSV(directory + "/summary.csv")
        guard let nameColumn = table.column("name"), let seedsColumn = table.column("seeds") else {
            throw ServeError(status: .internalServerError, message: "\(directory)/summary.csv: no name or seeds column; rerun `digitlab report`")
        }
        var seeds: [String: [Int]] = [:]
        for row in table.rows { seeds[row[nameColumn]] = row[seedsColumn].split(separator: " ").compactMap { Int($0) } }
        return Study(name: name, directory: directory, table: table, seeds: seeds, caseNames: table.rows.map { $0[nameColumn] })
    }

    func readCSV(_ path: String) throws -> CSVTable {
        do { return try CSVTable.read(path: path) } catch {
            throw ServeError(status: .internalServerError, message: "\(error)")
        }
    }

    /// The study page, made again only when a file it reads has changed (`PageCache`).
    func studyPage(_ query: Query) throws -> Response {
        try pages.page(PageCache.key("/", query)) { files in
            CachedResponse(try renderStudyPage(query, watching: &files), type: "text/html; charset=utf-8")
        }
    }

    func renderStudyPage(_ query: Query, watching files: inout WatchedFiles) throws -> String {
        let study = try self.study(query["study"] ?? "", watching: &files)
        let t = study.table
        func cell(_ row: [String], _ column: String) -> String { t.column(column).map { row[$0] } ?? "" }
        let metrics = Metric.allCases.filter { m in t.rows.contains { !cell($0, "\(m.rawValue)_mean").isEmpty } }
        let header = ["Case", "Name", "Seeds"] + metrics.map { html($0.title) + "<br><span class=\"muted\">ours · Keras · paper</span>" }
        let rows = t.rows.map { row -> [String] in
            let name = cell(row, "name")
            var cells = [html(cell(row, "case")), "<a href=\"/runs?spec=\(urlPart(name))\">\(html(name))</a>",
                         html(cell(row, "seeds"))]
            for m in metrics {
                let k = m.rawValue
                guard !cell(row, k + "_mean").isEmpty else { cells.append("-"); continue }
                var text = "\(cell(row, k + "_mean")) ± \(cell(row, k + "_std")) (\(cell(row, k + "_min"))-\(cell(row, k + "_max")))"
                text += " · " + (cell(row, k + "_keras").isEmpty ? "-" : cell(row, k + "_keras"))
                let paper = cell(row, k + "_paper")
                if !paper.isEmpty {
                    text += " · " + (cell(row, k + "_paper_outside") == "yes" ? "<span class=\"flag\">\(html(paper)) ⚑</span>" : html(paper))
                }
                cells.append(text)
            }
            return cells
        }
        var body = ""
        let studies = library.studies()
        if studies.count > 1 {
            body += "<p>Study: " + studies.map { s in
                s == study.name ? "<strong>\(s.isEmpty ? "MNIST (the paper)" : html(s))</strong>"
                                : "<a href=\"/?study=\(urlPart(s))\">\(s.isEmpty ? "MNIST (the paper)" : html(s))</a>"
            }.joined(separator: " · ") + "</p>"
        }
        body += "<h2>Reproduction table</h2>"
        body += Page.table(header: header, rows: rows, id: "reproduction")
        body += "<p class=\"muted\">Ours: mean ± standard deviation over seeds (min-max), in percent, from "
            + "<a href=\"/files/\(urlPart(study.name.isEmpty ? "summary.csv" : study.name + "/summary.csv"))\">summary.csv</a>"
            + " as <code>digitlab report</code> wrote it. ⚑: the paper's figure lies outside the range our seeds span.</p>"
        body += verdictsSection(study, watching: &files)
        body += curvesSection(study, query)
        let testChart = (study.name.isEmpty ? "" : study.name + "/") + "plots/test-accuracy.svg"
        files.watch(library.root + "/" + testChart)
        if library.isServable(testChart) {
            body += "<h2>Test accuracy by case</h2><img class=\"chart\" alt=\"Test accuracy by case\" src=\"/files/\(urlPart(testChart))\">"
        }
        return Page.render(title: "The study", section: "/", body: body, script: Site.curvesScript)
    }

    /// The paired comparisons between cases, once `verdicts.csv` exists beside the table.
    func verdictsSection(_ study: Study, watching files: inout WatchedFiles) -> String {
        let path = study.directory + "/verdicts.csv"
        files.watch(path)
        guard FileManager.default.fileExists(atPath: path) else { return "" }
        guard let t = try? CSVTable.read(path: path) else {
            return "<h2>Verdicts</h2><p class=\"problem\">\(html(path)): cannot be read as CSV</p>"
        }
        var out = "<h2>Verdicts</h2>" + Page.table(header: t.header.map(html), rows: t.rows.map { $0.map(html) }, id: "verdicts")
        let md = (study.name.isEmpty ? "" : study.name + "/") + "verdicts.md"
        files.watch(library.root + "/" + md)
        if library.isServable(md) { out += "<p><a href=\"/files/\(urlPart(md))\">verdicts.md</a></p>" }
        return out
    }

    /// The curve chart's controls: the cases, accuracy or loss, training and validation.
    func curvesSection(_ study: Study, _ query: Query) -> String {
        let chosen = Set((query["cases"] ?? study.caseNames.prefix(2).joined(separator: ",")).split(separator: ",").map(String.init))
        let quantity = query["quantity"] == "loss" ? "loss" : "accuracy"
        let splits = Set((query["splits"] ?? "train,validation").split(separator: ",").map(String.init))
        var out = "<h2>Curves</h2><form id=\"curves\" method=\"get\" action=\"/\">"
        out += "<input type=\"hidden\" name=\"study\" value=\"\(html(study.name))\">"
        out += "<fieldset><legend>Cases</legend>" + study.caseNames.map { c in
            "<label><input type=\"checkbox\" name=\"case\" value=\"\(html(c))\"\(chosen.contains(c) ? " checked" : "")> \(html(c))</label>"
        }.joined() + "</fieldset>"
        out += "<fieldset><legend>Show</legend>"
        for q in ["accuracy", "loss"] {
            let checked = q == quantity ? " checked" : ""
            out += "<label><input type=\"radio\" name=\"quantity\" value=\"\(q)\"\(checked)> \(q)</label>"
        }
        for s in ReproductionPlots.Split.allCases {
            let checked = splits.contains(s.rawValue) ? " checked" : ""
            let label = s == .train ? "training" : "validation"
            out += "<label><input type=\"checkbox\" name=\"split\" value=\"\(s.rawValue)\"\(checked)> \(label)</label>"
        }
        out += "</fieldset></form>"
        let src = "/study/curves.svg?study=\(urlPart(study.name))&cases=\(urlPart(study.caseNames.filter(chosen.contains).joined(separator: ",")))"
            + "&quantity=\(quantity)&splits=\(urlPart(splits.sorted().joined(separator: ",")))"
        out += "<img id=\"curves-chart\" class=\"chart\" alt=\"Curves of the chosen cases\" src=\"\(html(src))\">"
        return out
    }

    /// The overlay chart for `cases`, `quantity` and `splits`, made again only when a file it reads
    /// has changed (`PageCache`).
    func curves(_ query: Query) throws -> Response {
        try pages.page(PageCache.key("/study/curves.svg", query)) { files in
            CachedResponse(try renderCurves(query, watching: &files), type: "image/svg+xml")
        }
    }

    func renderCurves(_ query: Query, watching files: inout WatchedFiles) throws -> String {
        let study = try self.study(query["study"] ?? "", watching: &files)
        let names = (query["cases"] ?? "").split(separator: ",").map(String.init)
        for n in names where study.seeds[n] == nil { throw ServeError.notFound("case \"\(n)\" in this study", page: false) }
        let quantity = ReproductionPlots.Quantity(rawValue: query["quantity"] ?? "accuracy") ?? .accuracy
        let splits = Set((query["splits"] ?? "train,validation").split(separator: ",").compactMap { ReproductionPlots.Split(rawValue: String($0)) })
        let cases = try names.map { name in
            (name: name, histories: try study.seeds[name]!.compactMap { seed -> History? in
                let path = "\(study.directory)/runs/\(name)/seed-\(seed)/history.csv"
                files.watch(path)
                guard FileManager.default.fileExists(atPath: path) else { return nil }
                do { return try History.read(path: path) } catch {
                    throw ServeError(status: .internalServerError, message: "\(error)", asPage: false)
                }
            })
        }
        return ReproductionPlots.overlayChart(cases: cases, quantity: quantity, splits: splits)
    }

    /// Redraws the curves when a box is ticked, without reloading the page.
    static let curvesScript = """
        (function(){
          var form = document.getElementById('curves'); if (!form) return;
          function draw(){
            var cases = [], splits = [], quantity = 'accuracy';
            form.querySelectorAll('input[name=case]:checked').forEach(function(b){ cases.push(b.value); });
            form.querySelectorAll('input[name=split]:checked').forEach(function(b){ splits.push(b.value); });
            var q = form.querySelector('input[name=quantity]:checked'); if (q) quantity = q.value;
            var study = form.querySelector('input[name=study]').value;
            document.getElementById('curves-chart').src = '/study/curves.svg?study=' + encodeURIComponent(study)
              + '&cases=' + encodeURIComponent(cases.join(',')) + '&quantity=' + quantity + '&splits=' + encodeURIComponent(splits.join(','));
          }
          form.addEventListener('change', draw);
        })();
        """
}
