import DigitLabTestSupport
import DigitLab
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite("Plots")
struct PlotTests {
    // MARK: Histories with known figures

    /// Three seeds over three epochs. Training accuracy means 92, 96, 98 % with ranges 90-94,
    /// 95-97, 97-99; validation means 96, 97.5, 98.5 %.
    static let histories: [History] = {
        let train: [[Double]] = [[0.90, 0.95, 0.98], [0.92, 0.96, 0.99], [0.94, 0.97, 0.97]]
        let val: [[Double]] = [[0.96, 0.97, 0.98], [0.95, 0.975, 0.99], [0.97, 0.98, 0.985]]
        let loss: [[Double]] = [[0.30, 0.10, 0.05], [0.40, 0.12, 0.06], [0.20, 0.08, 0.04]]
        return (0..<3).map { s in
            History(epochs: (0..<3).map { e in
                EpochRecord(epoch: e + 1, trainLoss: loss[s][e], trainAccuracy: train[s][e],
                            validationLoss: loss[s][e] / 2, validationAccuracy: val[s][e], seconds: 10)
            })
        }
    }()

    static func withoutValidation(_ hs: [History]) -> [History] {
        hs.map { History(epochs: $0.epochs.map { var r = $0; r.validationAccuracy = nil; r.validationLoss = nil; return r }) }
    }

    @Test("the accuracy chart draws the mean over seeds where the axis puts it, in percent")
    func accuracyMeans() throws {
        let svg = try SVG(ReproductionPlots.historyChart(caseName: "case1", histories: Self.histories, quantity: .accuracy))
        #expect(svg.root.all("polyline").count == 2)
        #expect(svg.seriesTitles == ["Training", "Training", "Validation", "Validation"])
        // A mean line and its band share one legend entry.
        #expect(svg.root.all { $0.attributes["class"] == "legend-entry" }.map { $0.child("text")?.text } == ["Training", "Validation"])
        #expect(svg.xTicks.map(\.label) == ["1", "2", "3"])
        // Accuracy runs to 100 at the top and starts at a round value at or below the lowest seed (90).
        #expect(svg.yTicks.last?.value == 100)
        #expect(try #require(svg.yTicks.first?.value) <= 90)
        // Higher values sit higher up (smaller y), evenly: every tick lies on the scale the
        // first and last define, which the checks below read positions from.
        #expect(zip(svg.yTicks, svg.yTicks.dropFirst()).allSatisfy { $0.value < $1.value && $0.position > $1.position })
        for t in svg.yTicks { #expect(abs(svg.y(t.value) - t.position) < 0.03) }

        let training = try svg.points(ofSeries: "Training", kind: "line")
        let validation = try svg.points(ofSeries: "Validation", kind: "line")
        for (i, (t, v)) in zip([92.0, 96, 98], [96.0, 97.5, 98.5]).enumerated() {
            let x = svg.x(Double(i + 1))
            #expect(abs(training[i].x - x) < 0.03 && abs(training[i].y - svg.y(t)) < 0.03, "training epoch \(i + 1)")
            #expect(abs(validation[i].x - x) < 0.03 && abs(validation[i].y - svg.y(v)) < 0.03, "validation epoch \(i + 1)")
        }
        // One marker per epoch on each mean line.
        #expect(svg.series("Training", kind: "line")?.all("circle").count == 3)
    }

    @Test("the shaded band runs along the highest seed and back along the lowest")
    func bandSpansMinToMax() throws {
        let svg = try SVG(ReproductionPlots.historyChart(caseName: "case1", histories: Self.histories, quantity: .accuracy))
        #expect(svg.root.all("polygon").count == 2)
        let band = try svg.points(ofSeries: "Training", kind: "band")
        let highs = [94.0, 97, 99], lows = [90.0, 95, 97]
        let expected = (0..<3).map { (svg.x(Double($0 + 1)), svg.y(highs[$0])) }
            + (0..<3).reversed().map { (svg.x(Double($0 + 1)), svg.y(lows[$0])) }
        try #require(band.count == expected.count)
        for (p, q) in zip(band, expected) { #expect(abs(p.x - q.0) < 0.03 && abs(p.y - q.1) < 0.03) }
    }

    @Test("without validation figures only the training series are drawn")
    func noValidation() throws {
        let svg = try SVG(ReproductionPlots.historyChart(caseName: "case5", histories: Self.withoutValidation(Self.histories),
                                                         quantity: .accuracy))
        #expect(svg.root.all("polyline").count == 1)
        #expect(svg.root.all("polygon").count == 1)
        #expect(svg.seriesTitles == ["Training", "Training"])
        #expect(svg.root.all { $0.attributes["class"] == "subtitle" }.contains { $0.text.contains("No validation figures") })
    }

    @Test("the loss chart starts at zero and plots the mean loss")
    func lossChart() throws {
        let svg = try SVG(ReproductionPlots.historyChart(caseName: "case1", histories: Self.histories, quantity: .loss))
        #expect(svg.yTicks.first?.value == 0)
        #expect(try #require(svg.yTicks.last?.value) >= 0.4)
        let training = try svg.points(ofSeries: "Training", kind: "line")
        for (i, mean) in [0.30, 0.10, 0.05].enumerated() { #expect(abs(training[i].y - svg.y(mean)) < 0.03) }
        let validation = try svg.points(ofSeries: "Validation", kind: "line")
        #expect(abs(validation[0].y - svg.y(0.15)) < 0.03)
    }

    @Test("one seed gives a line and no band")
    func singleSeed() throws {
        let svg = try SVG(ReproductionPlots.historyChart(caseName: "case1", histories: [Self.histories[0]], quantity: .accuracy))
        #expect(svg.root.all("polygon").isEmpty)
        #expect(svg.seriesTitles == ["Training", "Validation"])
        let training = try svg.points(ofSeries: "Training", kind: "line")
        #expect(abs(training[1].y - svg.y(95)) < 0.03)
    }

    @Test("no histories gives a valid chart saying so")
    func empty() throws {
        let svg = try SVG(ReproductionPlots.historyChart(caseName: "case1", histories: [], quantity: .loss))
        #expect(svg.root.all("polyline").isEmpty)
        #expect(svg.root.all("text").contains { $0.attributes["class"] == "note" })
    }

    // MARK: The chart builder

    @Test("text is escaped for XML and reads back unchanged")
    func escaping() throws {
        let title = #"Loss <&> "quoted" 'single'"#
        var chart = SVGChart(title: title, xLabel: "x < 1", yLabel: "y & z")
        chart.addLine(label: "a&b <c>", x: [0, 1], y: [0, 1], color: "#000000")
        let text = chart.render()
        #expect(!text.contains("<&>"))
        let svg = try SVG(text)
        #expect(svg.root.all("text").first { $0.attributes["class"] == "chart-title" }?.text == title)
        #expect(svg.root.child("title")?.text == title)
        #expect(svg.seriesTitles == ["a&b <c>"])
        #expect(svg.root.all("text").contains { $0.text == "x < 1" })

        let named = try SVG(ReproductionPlots.historyChart(caseName: "a<b&c", histories: Self.histories, quantity: .loss))
        #expect(named.root.child("title")?.text == "a<b&c: loss by epoch")
    }

    @Test("the document is standalone SVG 1.1 with a white background")
    func document() throws {
        var chart = SVGChart(title: "t")
        chart.addBars(label: "bars", x: [1, 2], y: [3, 5], color: "#336699", low: [2, 4], high: [4, 6])
        let svg = try SVG(chart.render())
        #expect(svg.root.name == "svg")
        #expect(svg.root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(svg.root.attributes["version"] == "1.1")
        #expect(svg.root.attributes["width"] == "720" && svg.root.attributes["height"] == "420")
        let background = svg.root.all("rect").first { $0.attributes["class"] == "background" }
        #expect(background?.attributes["fill"] == "#ffffff" && background?.attributes["width"] == "720")
        // Bars rise from zero, which the axis includes, to their value; error bars span low to high.
        let bars = svg.root.all("rect").filter { $0.attributes["class"] == "bar" }
        try #require(bars.count == 2)
        let top = try #require(Double(bars[1].attributes["y"] ?? "")), h = try #require(Double(bars[1].attributes["height"] ?? ""))
        #expect(abs(top - svg.y(5)) < 0.03 && abs(top + h - svg.y(0)) < 0.03)
        #expect(svg.root.all("g").filter { $0.attributes["class"] == "error-bar" }.count == 2)
    }

    @Test("ticks are round values covering the data")
    func ticks() {
        #expect(SVGChart.niceTicks(lower: 0.03, upper: 0.97) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(SVGChart.niceTicks(lower: 87.3, upper: 100) == [85, 90, 95, 100])
        #expect(SVGChart.niceTicks(lower: 0, upper: 0.27) == [0, 0.1, 0.2, 0.3])
        #expect(SVGChart.niceTicks(lower: -3, upper: 42) == [-10, 0, 10, 20, 30, 40, 50])
    }

    // MARK: History files

    @Test("history.csv and timing.csv read back what History writes, blank validation as nil")
    func historyRoundTrip() throws {
        let h = History(epochs: [
            EpochRecord(epoch: 1, trainLoss: 0.5, trainAccuracy: 0.875, validationLoss: 0.25, validationAccuracy: 0.9375, seconds: 12.5),
            EpochRecord(epoch: 2, trainLoss: 0.125, trainAccuracy: 0.96875, validationLoss: nil, validationAccuracy: nil, seconds: 11.25),
        ])
        // history.csv holds no timings (it must be byte-identical between identical runs)...
        #expect(!h.csv.contains("seconds") && !h.csv.contains("12.5"))
        let parsed = try History.parse(csv: h.csv, name: "h")
        #expect(parsed.epochs.map(\.epoch) == [1, 2] && parsed.epochs.allSatisfy { $0.seconds.isNaN })
        #expect(parsed.epochs.map(\.trainLoss) == h.epochs.map(\.trainLoss))
        #expect(parsed.epochs.map(\.validationAccuracy) == h.epochs.map(\.validationAccuracy))
        // ...timing.csv beside it does, and History.read puts them together.
        let dir = TestPaths.temporaryDirectory("history")
        try AtomicFile.write(h.csv, to: dir + "/history.csv")
        try AtomicFile.write(h.timingCSV, to: dir + "/timing.csv")
        #expect(h.timingCSV == "epoch,seconds\n1,12.50\n2,11.25\n")
        #expect(try History.read(path: dir + "/history.csv") == h)
        #expect(throws: DataError("h", "line 3: train_loss is \"x\", not a number")) {
            try History.parse(csv: History.csvHeader + "\n1,0.1,0.9,,\n2,x,0.9,,\n", name: "h")
        }
        #expect(throws: DataError.self) { try History.parse(csv: "epoch,train_loss\n1,0.5\n", name: "h") }
    }

    @Test("history.csv files from before timing.csv, with a seconds column, still read")
    func oldHistoryFiles() throws {
        let old = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n1,0.292416,0.906611,0.097099,0.970000,29.91\n"
        let h = try History.parse(csv: old, name: "old")
        #expect(h.epochs.count == 1 && h.epochs[0].seconds == 29.91 && h.epochs[0].validationAccuracy == 0.97)
        // The committed runs of the reproduction read, whichever format they were written in.
        let runs = TestPaths.root + "/results/runs"
        let names = try #require(try? FileManager.default.contentsOfDirectory(atPath: runs), "\(runs) is missing")
        var read = 0
        for name in names.sorted() {
            let path = runs + "/" + name + "/seed-0/history.csv"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let history = try History.read(path: path)
            #expect(!history.epochs.isEmpty && history.epochs.allSatisfy { $0.seconds.isFinite }, "\(path)")
            read += 1
        }
        // The eight cases at least (each has seed 0); beyond-the-paper runs may add more.
        #expect(read >= 8, "only \(read) committed runs have a seed-0 history.csv under \(runs)")
    }

    // MARK: Written plots

    @Test("writePlots draws only the seeds the table counts, and the test chart marks each case")
    func writePlots() throws {
        let dir = TestPaths.temporaryDirectory("plots")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (seed, test) in [98.0, 98.5, 99.0].enumerated() {
            try Self.writeRun(dir, "caseA", seed: seed, epochs: 3, status: "finished", test: test, history: Self.histories[seed])
        }
        // Neither of these may appear: one still running, one trained for a different number of epochs.
        let wild = History(epochs: (1...3).map { EpochRecord(epoch: $0, trainLoss: 5, trainAccuracy: 0.1, validationLoss: 5,
                                                             validationAccuracy: 0.1, seconds: 1) })
        try Self.writeRun(dir, "caseA", seed: 3, epochs: 3, status: "running", test: 10, history: wild)
        try Self.writeRun(dir, "caseA", seed: 4, epochs: 2, status: "finished", test: 10, history: wild)
        try Self.writeRun(dir, "caseB", seed: 0, epochs: 3, status: "finished", test: 97.5, history: Self.histories[0])
        let paperPath = dir + "/paper.csv"
        try ("case,dense_layers,l2_first_conv,augmentation,min_train_acc,min_val_acc,max_train_acc,max_val_acc,test_acc\n"
             + "1,3,false,false,99.46,97.83,99.85,98.61,98.61\n2,4,false,false,88.00,95.02,99.70,98.60,98.69\n"
             + "3,3,true,false,89.13,95.14,99.62,98.49,98.17\n").write(toFile: paperPath, atomically: true, encoding: .utf8)
        let table = try ReproductionTable.collect(
            resultsDirectory: dir, specs: [CaseKnobs(name: "caseA", paperCase: 1, epochs: 3), CaseKnobs(name: "caseB", paperCase: 2, epochs: 3),
                                                CaseKnobs(name: "caseC", paperCase: 3, epochs: 3)],
            paper: PaperResults.read(path: paperPath))

        let written = try ReproductionPlots.writePlots(caseNames: ["caseA", "caseB", "caseC"], resultsDirectory: dir, table: table)
        let plots = dir + "/plots/"
        #expect(written == ["caseA-accuracy.svg", "caseA-loss.svg", "caseB-accuracy.svg", "caseB-loss.svg", "test-accuracy.svg"]
            .map { plots + $0 })
        for path in written { #expect(FileManager.default.fileExists(atPath: path)) }

        // caseA's band is seeds 0-2 only: its lowest point is 90 %, not the excluded runs' 10 %.
        let accuracy = try SVG(String(contentsOfFile: plots + "caseA-accuracy.svg", encoding: .utf8))
        let band = try accuracy.points(ofSeries: "Training", kind: "band")
        #expect(abs((band.map(\.y).max() ?? 0) - accuracy.y(90)) < 0.03)
        #expect(try #require(accuracy.yTicks.first?.value) > 50)

        let test = try SVG(String(contentsOfFile: plots + "test-accuracy.svg", encoding: .utf8))
        #expect(test.xTicks.map(\.label) == ["1", "2", "3"])
        let ours = try #require(test.series("Ours (mean, min-max over seeds)"))
        let paper = try #require(test.series("Paper"))
        let ourMarkers = ours.all { $0.attributes["class"] == "marker" }
        let paperMarkers = paper.all { $0.attributes["class"] == "marker" }
        #expect(ourMarkers.count == 2)  // caseC has no runs
        #expect(paperMarkers.count == 3)
        #expect(Set(ourMarkers.map(\.name)) == ["circle"] && Set(paperMarkers.map(\.name)) == ["path"])

        // caseA: mean 98.5 with a bar from 98.0 to 99.0, left of the paper's 98.61 at case 1.
        let marker = ourMarkers[0]
        let cx = try #require(Double(marker.attributes["cx"] ?? "")), cy = try #require(Double(marker.attributes["cy"] ?? ""))
        #expect(abs(cy - test.y(98.5)) < 0.03)
        let errorBar = try #require(ours.all { $0.attributes["class"] == "error-bar" }.first?.all("line").first)
        let ends = [errorBar.attributes["y1"], errorBar.attributes["y2"]].compactMap { $0.flatMap(Double.init) }.sorted()
        #expect(ends.count == 2 && abs(ends[0] - test.y(99.0)) < 0.03 && abs(ends[1] - test.y(98.0)) < 0.03)
        let diamond = try Self.centre(ofPath: paperMarkers[0].attributes["d"] ?? "")
        #expect(abs(diamond.y - test.y(98.61)) < 0.03)
        #expect(cx < test.x(1) && diamond.x > test.x(1))
        let case3 = try Self.centre(ofPath: paperMarkers[2].attributes["d"] ?? "")
        #expect(abs(case3.y - test.y(98.17)) < 0.03 && case3.x > test.x(3))
    }

    @Test("writeSummary writes the plots and links them from summary.md")
    func summaryLinksPlots() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let spec = try ExperimentSpec.load(path: root + "/experiments/case1.yaml")
        let dir = TestPaths.temporaryDirectory("plots")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let history = History(epochs: (1...spec.epochs).map {
            EpochRecord(epoch: $0, trainLoss: 0.1, trainAccuracy: 0.97, validationLoss: 0.1, validationAccuracy: 0.98, seconds: 1)
        })
        try Self.writeRun(dir, spec.name, seed: 0, epochs: spec.epochs, status: "finished", test: 98.7, history: history)
        try Reproduction.writeSummary(specs: [spec], resultsDirectory: dir, paperResults: root + "/experiments/paper-results.csv")
        let markdown = try String(contentsOfFile: dir + "/summary.md", encoding: .utf8)
        #expect(markdown.contains("](plots/test-accuracy.svg)"))
        #expect(markdown.contains("](plots/\(spec.name)-accuracy.svg)"))
        for file in ["test-accuracy.svg", "\(spec.name)-accuracy.svg", "\(spec.name)-loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/plots/" + file))
        }
        #expect(markdown.hasPrefix("## Reproduction of the paper's results table"))

        // Without the paper's figures (another dataset) neither table nor chart claims to compare with it.
        try Reproduction.writeSummary(specs: [spec], resultsDirectory: dir, paperResults: nil)
        let alone = try String(contentsOfFile: dir + "/summary.md", encoding: .utf8)
        #expect(alone.hasPrefix("## The paper's eight cases\n") && !alone.contains("against the paper"), "\(alone)")
        let chart = try SVG(String(contentsOfFile: dir + "/plots/test-accuracy.svg", encoding: .utf8))
        #expect(chart.series("Paper") == nil)
        #expect(!(try String(contentsOfFile: dir + "/plots/test-accuracy.svg", encoding: .utf8)).contains("paper"))
    }

    // MARK: Helpers

    /// A run directory as the runner leaves it: history.csv and a one-row summary.csv.
    static func writeRun(_ dir: String, _ name: String, seed: Int, epochs: Int, status: String, test: Double,
                         history: History) throws {
        let run = "\(dir)/runs/\(name)/seed-\(seed)"
        try AtomicFile.write(history.csv, to: run + "/history.csv")
        try AtomicFile.write("name,paper_case,dataset,seed,epochs,status,min_train_acc,max_train_acc,min_val_acc,max_val_acc,"
                             + "test_acc,test_loss,median_epoch_seconds\n"
                             + "\(name),1,mnist,\(seed),\(epochs),\(status),90,99,95,98,\(test),0.05,10\n", to: run + "/summary.csv")
    }

    /// The mean of a path's vertices: the centre of a diamond marker.
    static func centre(ofPath d: String) throws -> (x: Double, y: Double) {
        let numbers = d.split(whereSeparator: { "MLZ, ".contains($0) }).compactMap { Double($0) }
        try #require(numbers.count == 8)
        let xs = stride(from: 0, to: 8, by: 2).map { numbers[$0] }, ys = stride(from: 1, to: 8, by: 2).map { numbers[$0] }
        return (xs.reduce(0, +) / 4, ys.reduce(0, +) / 4)
    }
}

/// An SVG document parsed with Foundation's XMLParser, with what the tests read from charts.
/// Parsing fails the test if the text is not well-formed XML.
struct SVG {
    let text: String
    let root: SVGNode

    init(_ text: String) throws {
        self.text = text
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        let ok = parser.parse()
        try #require(ok, "not well-formed XML: \(String(describing: parser.parserError))")
        root = try #require(builder.root)
    }

    struct Tick { var value: Double, label: String, position: Double }

    /// Ticks as drawn: each label with the pixel position of its grid line.
    var yTicks: [Tick] { ticks("y-tick", coordinate: "y1") }
    var xTicks: [Tick] { ticks("x-tick", coordinate: "x1") }

    private func ticks(_ cls: String, coordinate: String) -> [Tick] {
        root.all { $0.name == "g" && $0.attributes["class"] == cls }.compactMap { g in
            guard let label = g.child("text")?.text, let p = g.child("line")?.attributes[coordinate].flatMap(Double.init) else { return nil }
            return Tick(value: Double(label) ?? .nan, label: label, position: p)
        }
    }

    /// The pixel position of `value`, read off the axis by linear interpolation between its first
    /// and last tick, so it checks the chart's scale rather than re-deriving it.
    func y(_ value: Double) -> Double { Self.interpolate(value, yTicks) }
    func x(_ value: Double) -> Double { Self.interpolate(value, xTicks) }

    private static func interpolate(_ v: Double, _ ticks: [Tick]) -> Double {
        guard let a = ticks.first, let b = ticks.last, a.value != b.value else { return .nan }
        return a.position + (v - a.value) / (b.value - a.value) * (b.position - a.position)
    }

    /// Series groups' labels, in drawing order.
    var seriesTitles: [String] { seriesGroups.compactMap { $0.child("title")?.text } }

    private var seriesGroups: [SVGNode] {
        root.all { $0.name == "g" && ($0.attributes["class"] ?? "").split(separator: " ").contains("series") }
    }

    /// The first series labelled `title`, of the kind (line, band, points, bars) given.
    func series(_ title: String, kind: String? = nil) -> SVGNode? {
        seriesGroups.first { g in
            g.child("title")?.text == title && kind.map { (g.attributes["class"] ?? "").split(separator: " ").contains(Substring($0)) } ?? true
        }
    }

    /// The vertices of a series' polyline or polygon.
    func points(ofSeries title: String, kind: String) throws -> [(x: Double, y: Double)] {
        let g = try #require(series(title, kind: kind), "no \(kind) series \(title)")
        let shape = try #require(g.children.first { $0.name == "polyline" || $0.name == "polygon" })
        return (shape.attributes["points"] ?? "").split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").map { Double($0) ?? .nan }
            return (xy.first ?? .nan, xy.last ?? .nan)
        }
    }
}

final class SVGNode {
    let name: String
    let attributes: [String: String]
    var children: [SVGNode] = []
    var text = ""

    init(name: String, attributes: [String: String]) { self.name = name; self.attributes = attributes }

    func child(_ name: String) -> SVGNode? { children.first { $0.name == name } }
    /// This node and every node under it that `matches`, in document order.
    func all(where matches: (SVGNode) -> Bool) -> [SVGNode] {
        (matches(self) ? [self] : []) + children.flatMap { $0.all(where: matches) }
    }
    func all(_ name: String) -> [SVGNode] { all { $0.name == name } }
}

final class TreeBuilder: NSObject, XMLParserDelegate {
    var root: SVGNode?
    private var stack: [SVGNode] = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        let node = SVGNode(name: elementName, attributes: attributeDict)
        if let parent = stack.last { parent.children.append(node) } else { root = node }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { stack.last?.text += string }
}
