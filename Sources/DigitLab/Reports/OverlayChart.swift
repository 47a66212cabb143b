import Foundation

extension ReproductionPlots {
    /// Which curves of a history an overlay shows.
    public enum Split: String, Sendable, CaseIterable {
        case train, validation
    }

    /// Several cases' accuracy (in percent) or loss by epoch on one chart: for each case and each
    /// split asked for, the mean over its histories as a line (training solid, validation
    /// dashed), the range from the lowest to the highest seed shaded. `digitlab serve` draws the
    /// study page's curves with it.
    public static func overlayChart(cases: [(name: String, histories: [History])], quantity: Quantity,
                                    splits: Set<Split>) -> String {
        var chart = SVGChart(title: (quantity == .accuracy ? "Accuracy" : "Loss") + " by epoch",
                             xLabel: "Epoch", yLabel: quantity == .accuracy ? "Accuracy (%)" : "Loss")
        let parts = [splits.contains(.train) ? "training solid" : nil, splits.contains(.validation) ? "validation dashed" : nil]
            .compactMap { $0 }
        chart.subtitle = "Lines: mean over seeds (" + parts.joined(separator: ", ") + "); shaded: from the lowest to the highest seed."
        let scale = quantity == .accuracy ? 100.0 : 1.0
        var lowest = Double.infinity, highest = -Double.infinity, lastEpoch = 1
        for (k, c) in cases.enumerated() {
            let color = caseColors[k % caseColors.count]
            for split in Split.allCases where splits.contains(split) {
                let value: (EpochRecord) -> Double? = switch (quantity, split) {
                case (.accuracy, .train): { $0.trainAccuracy }
                case (.accuracy, .validation): { $0.validationAccuracy }
                case (.loss, .train): { $0.trainLoss }
                case (.loss, .validation): { $0.validationLoss }
                }
                let epochs = perEpoch(c.histories) { value($0).map { $0 * scale } }
                guard !epochs.isEmpty else { continue }
                let x = epochs.map { Double($0.epoch) }
                let seeds = c.histories.count
                if seeds > 1 {
                    chart.addBand(label: nil, x: x, lower: epochs.map(\.spread.min), upper: epochs.map(\.spread.max),
                                  color: color, opacity: 0.12)
                }
                let label = c.name + (split == .train ? " training" : " validation") + " (\(seeds) seed\(seeds == 1 ? "" : "s"))"
                chart.addLine(label: label, x: x, y: epochs.map(\.spread.mean), color: color, dashed: split == .validation)
                lowest = min(lowest, epochs.map(\.spread.min).min()!)
                highest = max(highest, epochs.map(\.spread.max).max()!)
                lastEpoch = max(lastEpoch, epochs.last!.epoch)
            }
        }
        let last = Double(lastEpoch), pad = max(0.3, (last - 1) * 0.02)
        chart.xDomain = (1 - pad)...(last + pad)
        let step = lastEpoch <= 20 ? 1.0 : SVGChart.niceStep(span: last - 1, count: 10)
        chart.xTicks = ([1.0] + stride(from: step, through: last, by: step).filter { $0 > 1 }).map { SVGChart.Tick($0, String(Int($0))) }
        if lowest.isFinite {
            chart.yDomain = quantity == .accuracy ? yDomain(lowest: lowest, highest: 100)
                                                  : 0...(SVGChart.niceTicks(lower: 0, upper: highest).last ?? 1)
        } else {
            chart.yDomain = quantity == .accuracy ? 90...100 : 0...1
            chart.note = cases.isEmpty ? "No case chosen" : "No figures for this choice"
        }
        return chart.render()
    }

    /// Okabe-Ito's colour-blind-safe palette, then two darker tones: one colour per case.
    public static let caseColors = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B"]
}
