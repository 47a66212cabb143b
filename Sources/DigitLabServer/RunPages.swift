import DigitLab
import Foundation
import Hummingbird

/// The runs: a list filterable by spec, seed and status, a page per run (resolved spec, history,
/// timing, live progress, the saved model's evaluation), and the progress as JSON for the live view.
extension Site {
    func runsPage(_ query: Query) -> Response {
        let all = library.runs()
        let spec = query["spec"].flatMap { $0.isEmpty ? nil : $0 }
        let seed = query["seed"].flatMap { Int($0) }
        let status = query["status"].flatMap { RunRecord.Status(rawValue: $0) }
        let shown = all.filter { r in
            (spec == nil || r.spec == spec || r.name == spec) && (seed == nil || r.seed == seed) && (status == nil || r.status == status)
        }
        func options(_ values: [String], _ chosen: String?) -> String {
            "<option value=\"\">all</option>" + values.map { v in
                "<option value=\"\(html(v))\"\(v == chosen ? " selected" : "")>\(html(v))</option>"
            }.joined()
        }
        var body = "<form method=\"get\" action=\"/runs\" id=\"filter\">"
        body += "<label>Spec <select name=\"spec\">" + options(Array(Set(all.map(\.spec))).sorted(), spec) + "</select></label>"
        body += "<label>Seed <select name=\"seed\">" + options(Array(Set(all.map(\.seed))).sorted().map(String.init), seed.map(String.init)) + "</select></label>"
        body += "<label>Status <select name=\"status\">" + options(RunRecord.Status.allCases.map(\.rawValue), status?.rawValue) + "</select></label>"
        body += "<button>Filter</button></form>"
        body += "<p class=\"muted\">\(shown.count) of \(all.count) runs under <code>\(html(configuration.results))</code>.</p>"
        let rows = shown.map { r -> [String] in
            let epochs = r.status == .running ? r.progress.map { "\($0.epoch)/\($0.epochs)" } ?? "-"
                                              : "\(r.completedEpochs)/\(r.plannedEpochs.map(String.init) ?? "?")"
            return ["<a href=\"/run/\(urlPart(r.id))\">\(html(r.name))</a>" + (r.study.isEmpty ? "" : " <span class=\"muted\">(\(html(r.study)))</span>"),
                    String(r.seed), "<span class=\"status-\(r.status.rawValue)\">\(r.status.rawValue)</span>", epochs,
                    html(r.summary["test_acc"] ?? ""), html(r.summary["median_epoch_seconds"] ?? "")]
        }
        body += Page.table(header: ["Run", "Seed", "Status", "Epochs", "Test acc (%)", "s/epoch"], rows: rows, id: "runs",
                           numeric: [1, 3, 4, 5])
        // A page listing a running run reloads itself, so its epoch and status stay current.
        let script = shown.contains { $0.status == .running } ? "setTimeout(function(){ location.reload(); }, 5000);" : ""
        return Site.page(Page.render(title: "Runs", section: "/runs", body: body, script: script))
    }

    func run(_ id: String, page: Bool = true) throws -> RunRecord {
        guard let r = library.run(id: id) else { throw ServeError.notFound("run \"\(id)\"", page: page) }
        return r
    }

    func runPage(id: String) throws -> Response {
        let r = try run(id)
        var body = "<p>Status: <span id=\"status\" class=\"status-\(r.status.rawValue)\">\(r.status.rawValue)</span>"
            + " · seed \(r.seed)" + (r.variant.map { " · settings <code>\(html($0))</code>" } ?? "")
            + " · <a href=\"/runs?spec=\(urlPart(r.spec))\">all runs of \(html(r.spec))</a></p>"
        if r.status == .running {
            body += liveSection(r)
        }
        if !r.summary.isEmpty {
            let keys = RunSummary.csvColumns.filter { r.summary[$0].map { !$0.isEmpty } ?? false }
            body += "<h2>Summary</h2>" + Page.table(header: keys.map(html), rows: [keys.map { html(r.summary[$0]!) }], id: "summary")
        }
        var history: History?
        if FileManager.default.fileExists(atPath: r.historyPath) {
            do { history = try History.read(path: r.historyPath) } catch {
                body += "<p class=\"problem\">\(html("\(error)"))</p>"
            }
        }
        if let history, !history.epochs.isEmpty {
            body += "<h2>History</h2><div class=\"row\">"
            for q in ReproductionPlots.Quantity.allCases {
                body += "<div class=\"card\" style=\"max-width:600px\">"
                    + ReproductionPlots.historyChart(caseName: r.name + " seed \(r.seed)", histories: [history], quantity: q) + "</div>"
            }
            body += "</div>"
            let total = history.epochs.map(\.seconds).filter(\.isFinite).reduce(0, +)
            body += "<p>Timing: \(history.epochs.count) epochs in \(Page.duration(total))"
                + (median(history.epochs.map(\.seconds).filter(\.isFinite)).map { ", median \(fixed($0, 2)) s per epoch" } ?? "") + ".</p>"
            body += Page.table(header: ["Epoch", "Train loss", "Train acc", "Val loss", "Val acc", "Seconds"], rows: history.epochs.map { e in
                [String(e.epoch), fixed(e.trainLoss, 4), fixed(100 * e.trainAccuracy, 2),
                 e.validationLoss.map { fixed($0, 4) } ?? "-", e.validationAccuracy.map { fixed(100 * $0, 2) } ?? "-", fixed(e.seconds, 2)]
            }, id: "history", numeric: [0, 1, 2, 3, 4, 5])
        }
        if let model = library.model(id: r.id) { body += modelSection(model) }
        if let spec = try? String(contentsOfFile: r.specPath, encoding: .utf8) {
            body += "<h2>Resolved spec</h2><pre id=\"spec\">\(html(spec))</pre>"
        }
        return Site.page(Page.render(title: r.name + " / seed-\(r.seed)", section: "/runs", body: body,
                                     script: Site.liveScript(id: r.id)))
    }

    /// Epoch, batch and ETA of a run under way, updated by polling `/api/progress/ID`.
    func liveSection(_ r: RunRecord) -> String {
        let p = r.progress
        let fraction = p.map { $0.epochs > 0 && $0.batches > 0 ? (Double($0.epoch - 1) + Double($0.batch) / Double($0.batches)) / Double($0.epochs) : 0 } ?? 0
        return """
            <h2>Live</h2><div class="card" id="live">
            <p>Epoch <span id="live-epoch">\(p.map { "\($0.epoch)/\($0.epochs)" } ?? "-")</span>,
            batch <span id="live-batch">\(p.map { "\($0.batch)/\($0.batches)" } ?? "-")</span>,
            loss <span id="live-loss">\(p.map { fixed($0.loss, 4) } ?? "-")</span>,
            accuracy <span id="live-accuracy">\(p.map { fixed(100 * $0.accuracy, 2) } ?? "-")</span>%,
            ETA <span id="live-eta">\(Page.duration(p?.etaSeconds))</span></p>
            <div class="bar"><div id="live-bar" style="width:\(fixed(100 * fraction, 1))%"></div></div>
            <p class="muted">Updated every second from the run's progress.json, without reloading.</p></div>
            """
    }

    /// The saved model: its evaluation on the test set (cached under `evaluate/NAME/` as
    /// `digitlab evaluate` writes it), or a button to compute it.
    func modelSection(_ model: SavedModel) -> String {
        var out = "<h2>Saved model</h2><p><code>\(html(model.path))</code> · <a href=\"/try?model=\(urlPart(model.id))\">try it on a digit</a></p>"
        let directory = "evaluate/\(model.evaluationName)"
        if library.isServable(directory + "/confusion.svg") {
            if let t = try? CSVTable.read(path: "\(configuration.results)/\(directory)/evaluation.csv"), let row = t.rows.first {
                out += Page.table(header: t.header.map(html), rows: [row.map(html)], id: "evaluation")
            }
            out += "<div class=\"row\"><img class=\"chart\" id=\"confusion\" alt=\"Confusion matrix\" src=\"/files/\(urlPart(directory))/confusion.svg\" style=\"max-width:520px\">"
            if library.isServable(directory + "/misclassified.svg") {
                out += "<img class=\"chart\" id=\"misclassified\" alt=\"Misclassified test digits\" src=\"/files/\(urlPart(directory))/misclassified.svg\" style=\"max-width:680px\">"
            }
            out += "</div>"
        } else {
            out += "<form method=\"post\" action=\"/evaluate/\(urlPart(model.id))\"><button id=\"evaluate\">Evaluate on the test set</button> "
                + "<span class=\"muted\">confusion matrix and misclassified digits, as <code>digitlab evaluate</code> computes them; "
                + "cached in <code>\(html(configuration.results))/\(html(directory))/</code></span></form>"
        }
        return out
    }

    func evaluate(modelID: String) async throws -> Response {
        guard let model = library.model(id: modelID) else { throw ServeError.notFound("saved model \"\(modelID)\"") }
        do {
            try await inference.evaluate(model: model, into: library.evaluationDirectory(of: model))
        } catch let e as DataError {
            throw ServeError(status: .unprocessableContent, message: e.description)
        }
        return Site.redirect(model.id.hasPrefix("models/") ? "/try?model=\(urlPart(model.id))" : "/run/\(urlPart(model.id))")
    }

    struct ProgressReply: Encodable {
        var id: String
        var status: String
        var progress: RunProgress?
        var completedEpochs: Int
    }

    func progressJSON(id: String) throws -> Response {
        let r = try run(id, page: false)
        return try Site.json(ProgressReply(id: r.id, status: r.status.rawValue, progress: r.progress, completedEpochs: r.completedEpochs))
    }

    func runsJSON() throws -> Response {
        try Site.json(library.runs().map { ProgressReply(id: $0.id, status: $0.status.rawValue, progress: $0.progress,
                                                           completedEpochs: $0.completedEpochs) })
    }

    /// Polls the run's progress each second while it runs; reloads the page once it has ended.
    static func liveScript(id: String) -> String {
        """
        (function(){
          if (!document.getElementById('live')) return;
          function eta(s){ if (s == null) return '-'; s = Math.round(s); return s >= 60 ? Math.floor(s/60) + 'm' + ('0' + s%60).slice(-2) + 's' : s + 's'; }
          function poll(){
            fetch('/api/progress/\(urlPart(id))').then(function(r){ return r.json(); }).then(function(j){
              var p = j.progress;
              document.getElementById('status').textContent = j.status;
              if (p) {
                document.getElementById('live-epoch').textContent = p.epoch + '/' + p.epochs;
                document.getElementById('live-batch').textContent = p.batch + '/' + p.batches;
                document.getElementById('live-loss').textContent = p.loss.toFixed(4);
                document.getElementById('live-accuracy').textContent = (100 * p.accuracy).toFixed(2);
                document.getElementById('live-eta').textContent = eta(p.etaSeconds);
                var f = p.batches > 0 ? ((p.epoch - 1) + p.batch / p.batches) / p.epochs : 0;
                document.getElementById('live-bar').style.width = (100 * f).toFixed(1) + '%';
              }
              if (j.status !== 'running') { location.reload(); return; }
              setTimeout(poll, 1000);
            }).catch(function(){ setTimeout(poll, 3000); });
          }
          setTimeout(poll, 1000);
        })();
        """
    }
}
