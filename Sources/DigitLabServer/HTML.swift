import DigitLab
import Foundation

/// Text made safe inside HTML elements and quoted attribute values (the reports' `Markup.escape`).
func html(_ s: String) -> String { Markup.escape(s) }

/// A path segment or query value made safe in a URL.
func urlPart(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~/+")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}

/// The pages' common frame: title, navigation, style. Nothing is loaded from the network: the
/// style and every script are in the page itself.
enum Page {
    static let sections = [("/", "Study"), ("/runs", "Runs"), ("/sweeps", "Sweeps"), ("/try", "Try the model")]

    static func render(title: String, section: String, body: String, script: String = "") -> String {
        let nav = sections.map { path, name in
            "<a href=\"\(path)\"\(path == section ? " class=\"here\"" : "")>\(name)</a>"
        }.joined(separator: " ")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(html(title)) · DigitLab</title>
            <style>\(style)</style></head>
            <body><header><strong>DigitLab</strong> <nav>\(nav)</nav></header>
            <main>
            <h1>\(html(title))</h1>
            \(body)
            </main>
            \(script.isEmpty ? "" : "<script>\n" + script + "\n</script>")
            </body></html>
            """
    }

    /// A small page saying what went wrong, in one line.
    static func problem(_ message: String) -> String {
        render(title: "Not here", section: "", body: "<p class=\"problem\">\(html(message))</p>")
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
        header{background:#1f3b57;color:#fff;padding:.6em 1.2em}header a{color:#cfe3f5;margin-left:1em;text-decoration:none}
        header a.here{color:#fff;border-bottom:2px solid #fff}main{padding:1em 1.6em;max-width:1250px}
        table{border-collapse:collapse;margin:.6em 0;background:#fff}td,th{border:1px solid #ccd;padding:.25em .5em;text-align:left;vertical-align:top}
        th{background:#eef2f6}td.n{text-align:right;font-variant-numeric:tabular-nums}.flag{color:#b00;font-weight:bold}
        .status-finished{color:#07622e}.status-diverged{color:#b00}.status-interrupted{color:#8a5a00}.status-running{color:#0a58ca;font-weight:bold}
        pre{background:#fff;border:1px solid #ccd;padding:.6em;overflow:auto;max-height:28em}
        .problem{color:#b00}.muted{color:#667}.row{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
        .card{background:#fff;border:1px solid #ccd;padding:.8em 1em;border-radius:4px}
        .bar{background:#e4e9ef;height:14px;border-radius:3px;overflow:hidden;min-width:240px}.bar>div{background:#0072B2;height:100%}
        img.chart,svg{max-width:100%;height:auto}fieldset{border:1px solid #ccd;margin:.4em 0}label{margin-right:.8em;white-space:nowrap}
        canvas#pad{background:#000;touch-action:none;cursor:crosshair;border:1px solid #445}
        .digit{font-size:3em;font-weight:bold;margin:0 .2em}.probs td{padding:.1em .4em}
        .number{font-size:4.5em;font-weight:bold;letter-spacing:.08em;margin:0 .2em}
        canvas.input28{width:84px;height:84px;image-rendering:pixelated;background:#000;display:block}
        """

    /// An HTML table from a header and rows of already-escaped cells.
    static func table(header: [String], rows: [[String]], id: String? = nil, numeric: Set<Int> = []) -> String {
        var out = "<table\(id.map { " id=\"\($0)\"" } ?? "")><thead><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>" + row.enumerated().map { "<td\(numeric.contains($0.offset) ? " class=\"n\"" : "")>\($0.element)</td>" }.joined() + "</tr>"
        }
        return out + "</tbody></table>"
    }

    /// "1m05s" and the like.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m"
            : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
