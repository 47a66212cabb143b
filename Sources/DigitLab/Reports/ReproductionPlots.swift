import Foundation

/// The reproduction's figures as SVG: for each case, accuracy and loss by epoch over its seeds;
/// and for all cases, our test accuracy beside the paper's.
public enum ReproductionPlots {
    /// Which figures of a `History` a chart shows.
    public enum Quantity: String, Sendable, CaseIterable {
        case accuracy, loss
    }

    // Colour-blind-safe (Okabe-Ito) blue and vermillion: training/ours against validation/paper.
    static let blue = "#0072B2", vermillion = "#D55E00"

    /// One case's training (and, where recorded, validation) accuracy in percent or loss by epoch:
    /// the mean over the histories as a line, the range from the lowest to the highest seed shaded.
    public static func historyChart(caseName: String, histories: [History], quantity: Quantity) -> String {
        let seeds = histories.filter { !$0.epochs.isEmpty }.count
        var chart = SVGChart(title: "\(caseName): \(quantity == .accuracy ? "accuracy" : "loss") by epoch",
                             xLabel: "Epoch", yLabel: quantity == .accuracy ? "Accuracy (%)" : "Loss")
        let spreadNote = seeds > 1 ? "Lines: mean of \(seeds) seeds; shaded: from the lowest to the highest seed."
                                   : seeds == 1 ? "One seed." : "No runs."
        // Keras reports training figures as running means over the epoch's batches, and the
        // training loss carries the L2 penalty; both make training look worse than validation early on.
        chart.subtitle = spreadNote + "\n" + (quantity == .accuracy
            ? "Training accuracy: the running mean over each epoch, as Keras reports it."
            : "Training loss: the running mean over each epoch, as Keras reports it, including any L2 penalty.")

        let scale = quantity == .accuracy ? 100.0 : 1.0
        let series: [(name: String, color: String, value: (EpochRecord) -> Double?)] = quantity == .accuracy
            ? [("Training", blue, { $0.trainAccuracy }), ("Validation", vermillion, { $0.validationAccuracy })]
            : [("Training", blue, { $0.trainLoss }), ("Validation", vermillion, { $0.validationLoss })]
        var lowest = Double.infinity, highest = -Double.infinity, lastEpoch = 1
        for s in series {
            let epochs = perEpoch(histories) { s.value($0).map { $0 * scale } }
            guard !epochs.isEmpty else {
                // Cases trained from an augmenting generator have no validation split; say so
                // rather than leave the reader looking for a missing line.
                if seeds > 0 { chart.subtitle! += "\nNo \(s.name.lowercased()) figures were recorded for this case." }
                continue
            }
            let x = epochs.map { Double($0.epoch) }
            if seeds > 1 {
                chart.addBand(label: s.name, x: x, lower: epochs.map(\.spread.min),
                              upper: epochs.map(\.spread.max), color: s.color)
            }
            // Markers on every epoch while they stay apart; beyond that they only clutter the line.
            chart.addLine(label: s.name, x: x, y: epochs.map(\.spread.mean),
                          color: s.color, marker: epochs.count <= 40 ? .circle : nil)
            lowest = min(lowest, epochs.map(\.spread.min).min()!)
            highest = max(highest, epochs.map(\.spread.max).max()!)
            lastEpoch = max(lastEpoch, epochs.last!.epoch)
        }

        // Epochs 1, 2, ... while they fit as labels; round numbers beyond 20.
        let first = 1.0, last = Double(lastEpoch), pad = max(0.3, (last - first) * 0.02)
        chart.xDomain = (first - pad)...(last + pad)
        let step = lastEpoch <= 20 ? 1.0 : SVGChart.niceStep(span: last - first, count: 10)
        chart.xTicks = ([first] + stride(from: step, through: last, by: step).filter { $0 > first })
            .map { SVGChart.Tick($0, String(Int($0))) }

        if lowest.isFinite {
            // Accuracy runs up to 100% and loss down to 0: pin those ends so cases compare by eye.
            chart.yDomain = quantity == .accuracy ? yDomain(lowest: lowest, highest: 100) : 0...(SVGChart.niceTicks(lower: 0, upper: highest).last ?? 1)
        } else {
            chart.yDomain = quantity == .accuracy ? 90...100 : 0...1
            chart.note = "No finished runs yet"
        }
        return chart.render()
    }

    /// Our test accuracy for each case (mean over seeds, with a bar from the lowest to the highest
    /// seed) beside the paper's figure, cases on the x axis.
    public static func testAccuracyChart(table: ReproductionTable) -> String {
        // Cases sit at their paper case number; a row without one takes its place in the table.
        let positions = table.rows.enumerated().map { Double($0.element.paperCase > 0 ? $0.element.paperCase : $0.offset + 1) }
        let ours = zip(positions, table.rows).compactMap { x, r in r.spreads[.test].map { (x, $0) } }
        let paper = zip(positions, table.rows).compactMap { x, r in r.paper?.figures[Metric.test.rawValue].map { (x, $0) } }
        // Without the paper's figures (another dataset) the chart shows ours alone and says so.
        var chart = SVGChart(title: "Test accuracy by case" + (paper.isEmpty ? "" : ": ours against the paper"),
                             xLabel: "Paper case", yLabel: "Test accuracy (%)")
        let counts = Set(table.rows.compactMap { $0.spreads[.test]?.count })
        let seedText = counts.count == 1 ? "\(counts.first!) seed\(counts.first! == 1 ? "" : "s")"
                                         : counts.isEmpty ? "no finished runs" : "\(counts.min()!)-\(counts.max()!) seeds"
        chart.subtitle = "Ours: mean over \(seedText), bar from the lowest to the highest seed"
            + (paper.isEmpty ? "" : "; paper: the figure it prints")
        // Side by side rather than on top of each other, so that neither hides the other.
        let offset = paper.isEmpty ? 0 : 0.13
        chart.addPoints(label: "Ours (mean, min-max over seeds)", x: ours.map { $0.0 - offset }, y: ours.map(\.1.mean),
                        color: blue, marker: .circle, size: 5, low: ours.map(\.1.min), high: ours.map(\.1.max))
        if !paper.isEmpty {
            chart.addPoints(label: "Paper", x: paper.map { $0.0 + offset }, y: paper.map(\.1),
                            color: vermillion, marker: .diamond, size: 5, hollow: true)
        }
        chart.xDomain = ((positions.min() ?? 1) - 0.6)...((positions.max() ?? 1) + 0.6)
        chart.xTicks = positions.map { SVGChart.Tick($0, String(Int($0))) }
        let values = ours.map(\.1.min) + paper.map(\.1)
        if let lowest = values.min() {
            chart.yDomain = yDomain(lowest: lowest, highest: 100)
        } else {
            chart.yDomain = 90...100
            chart.note = "No results yet"
        }
        return chart.render()
    }

    /// An accuracy axis from a round value below `lowest` up to `highest` (100).
    static func yDomain(lowest: Double, highest: Double) -> ClosedRange<Double> {
        let lo = min(lowest, highest - 0.5)
        return (SVGChart.niceTicks(lower: lo, upper: highest).first ?? lo)...highest
    }

    /// A figure over seeds at one epoch.
    struct EpochSpread { var epoch: Int; var spread: Spread }

    /// For each epoch any history records, the spread over the histories of the finite values
    /// `value` gives; epochs where no history has one are left out.
    static func perEpoch(_ histories: [History], _ value: (EpochRecord) -> Double?) -> [EpochSpread] {
        var byEpoch: [Int: [Double]] = [:]
        for h in histories {
            for r in h.epochs { if let v = value(r), v.isFinite { byEpoch[r.epoch, default: []].append(v) } }
        }
        return byEpoch.keys.sorted().compactMap { e in Spread(byEpoch[e]!).map { EpochSpread(epoch: e, spread: $0) } }
    }

    /// Writes `plots/NAME-accuracy.svg` and `plots/NAME-loss.svg` for each spec's case and
    /// `plots/test-accuracy.svg` under `resultsDirectory`; returns the paths written.
    ///
    /// The histories are those of the seeds `table` counts (finished runs of the spec's epochs),
    /// so the curves and the table describe the same runs. A case with none gets no curves.
    @discardableResult
    public static func writePlots(specs: [ExperimentSpec], resultsDirectory: String, table: ReproductionTable) throws -> [String] {
        try writePlots(caseNames: specs.map(\.name), resultsDirectory: resultsDirectory, table: table)
    }

    /// As `writePlots(specs:resultsDirectory:table:)`, for cases named by their runs' directory names.
    @discardableResult
    public static func writePlots(caseNames: [String], resultsDirectory: String, table: ReproductionTable) throws -> [String] {
        let plots = resultsDirectory + "/plots"
        var written: [String] = []
        for name in caseNames {
            guard let row = table.rows.first(where: { $0.name == name }), !row.seeds.isEmpty else { continue }
            // The runner writes each seed's run to runs/NAME/seed-N, N being the seed its summary names.
            let histories = try row.seeds.map { try History.read(path: "\(resultsDirectory)/runs/\(name)/seed-\($0)/history.csv") }
            for quantity in Quantity.allCases {
                let path = "\(plots)/\(name)-\(quantity.rawValue).svg"
                try AtomicFile.write(historyChart(caseName: name, histories: histories, quantity: quantity), to: path)
                written.append(path)
            }
        }
        let path = plots + "/test-accuracy.svg"
        try AtomicFile.write(testAccuracyChart(table: table), to: path)
        written.append(path)
        return written
    }

    /// Markdown showing the test-accuracy chart and linking each case's curves, for a document in
    /// `resultsDirectory`; `plots` are paths `writePlots` returned.
    public static func markdown(plots: [String], resultsDirectory: String) -> String {
        func relative(_ path: String) -> String {
            let local = path.hasPrefix(resultsDirectory + "/") ? String(path.dropFirst(resultsDirectory.count + 1)) : path
            return local.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? local
        }
        var lines: [String] = []
        if let test = plots.first(where: { $0.hasSuffix("/test-accuracy.svg") }) {
            lines.append("![Test accuracy by case](\(relative(test)))")
        }
        let curves = plots.filter { !$0.hasSuffix("/test-accuracy.svg") }
        if !curves.isEmpty {
            lines.append("Accuracy and loss by epoch: "
                         + curves.map { "[\(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent)](\(relative($0)))" }
                             .joined(separator: ", ") + ".")
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n\n") + "\n"
    }
}
