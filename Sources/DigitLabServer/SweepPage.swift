import DigitLab
import Foundation
import Hummingbird

/// The sweeps in the specs directory's `sweeps/`: each grid point against the others, as a table
/// and as a chart of the swept value against test accuracy with the seed spread.
extension Site {
    /// Sweep names (`sweeps/NAME.yaml`) the specs directory has.
    func sweepNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: configuration.experiments + "/sweeps")) ?? [])
            .filter { $0.hasSuffix(".yaml") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    func sweepReport(_ name: String) throws -> SweepReport {
        guard sweepNames().contains(name) else { throw ServeError.notFound("sweep \"\(name)\"") }
        do {
            let plan = try SweepPlan.expand(specFiles: ["\(configuration.experiments)/sweeps/\(name).yaml"],
                                            resultsDirectory: configuration.results)
            return try SweepReport.collect(plan: plan)
        } catch let e as ServeError { throw e } catch {
            throw ServeError(status: .unprocessableContent, message: "\(error)")
        }
    }

    func sweepsPage() -> Response {
        let rows = sweepNames().map { name -> [String] in
            let report = try? sweepReport(name)
            return ["<a href=\"/sweep/\(urlPart(name))\">\(html(name))</a>", html(report?.plan.shape ?? "cannot be planned"),
                    html(report?.progress ?? "")]
        }
        let body = rows.isEmpty ? "<p>No sweeps in <code>\(html(configuration.experiments))/sweeps/</code>.</p>"
            : Page.table(header: ["Sweep", "Shape", "Runs"], rows: rows, id: "sweeps")
        return Site.page(Page.render(title: "Sweeps", section: "/sweeps", body: body))
    }

    func sweepPage(name: String) throws -> Response {
        let report = try sweepReport(name)
        var body = "<p><code>\(html(report.plan.specFiles.joined(separator: " ")))</code>: \(html(report.plan.shape)). \(html(report.progress)).</p>"
        let metrics = Metric.allCases.filter { m in report.groups.contains { $0.spreads[m] != nil } }
        let rows = report.groups.map { g -> [String] in
            ["<a href=\"/runs?spec=\(urlPart(g.name))\">\(html(g.name))</a>", html(g.settings), "\(g.seeds.count)/\(g.planned.count)"]
                + metrics.map { m in
                    guard let s = g.spreads[m] else { return "-" }
                    return s.count > 1 ? "\(fixed(s.mean, 2)) ± \(fixed(s.std, 2)) (\(fixed(s.min, 2))-\(fixed(s.max, 2)))" : fixed(s.mean, 2)
                }
        }
        body += Page.table(header: ["Grid point", "Settings", "Seeds"] + metrics.map { html($0.title) }, rows: rows, id: "grid")
        body += "<p class=\"muted\">Accuracies in percent: mean ± standard deviation over the finished seeds (min-max); seeds: finished of planned.</p>"
        body += "<img class=\"chart\" id=\"sweep-chart\" alt=\"Test accuracy by grid point\" src=\"/sweep/\(urlPart(name))/chart.svg\">"
        return Site.page(Page.render(title: "Sweep " + name, section: "/sweeps", body: body))
    }

    /// Test accuracy (mean, with a bar from the lowest to the highest seed) at each grid point.
    func sweepChart(name: String) throws -> Response {
        let report = try sweepReport(name)
        let keys = Set(report.groups.flatMap { $0.planned.first?.settings.map(\.key) ?? [] })
        var chart = SVGChart(title: "\(name): test accuracy by grid point", xLabel: keys.count == 1 ? keys.first! : "Grid point",
                             yLabel: "Test accuracy (%)")
        chart.subtitle = "Mean over finished seeds; bar from the lowest to the highest seed."
        let points = report.groups.enumerated().compactMap { i, g in g.spreads[.test].map { (Double(i + 1), $0) } }
        chart.addPoints(label: "Test accuracy", x: points.map(\.0), y: points.map(\.1.mean), color: ReproductionPlots.caseColors[0],
                        low: points.map(\.1.min), high: points.map(\.1.max))
        chart.xDomain = 0.4...(Double(max(report.groups.count, 1)) + 0.6)
        chart.xTicks = report.groups.enumerated().map { i, g in
            SVGChart.Tick(Double(i + 1), keys.count == 1 ? (g.planned.first?.settings.first?.value ?? g.name) : g.name)
        }
        if let lo = points.map(\.1.min).min(), let hi = points.map(\.1.max).max() {
            let ticks = SVGChart.niceTicks(lower: lo - 0.1, upper: min(100, hi + 0.1))
            chart.yDomain = (ticks.first ?? lo)...(ticks.last ?? hi)
        } else {
            chart.yDomain = 90...100
            chart.note = "No finished runs yet"
        }
        return Site.response(chart.render(), type: "image/svg+xml")
    }
}
