import DigitLabEngine
import Foundation

extension LabeledImages {
    /// Every image turned by `degrees` about its centre, as Keras's
    /// rotation augmentation turns them (`AffineTransform`: bilinear, edges repeated), rounded back
    /// to bytes: the test set as photographs of rotated digits would give it.
    public func rotated(by degrees: Double) -> LabeledImages {
        guard degrees.truncatingRemainder(dividingBy: 360) != 0 else { return self }
        let transform = AffineTransform(theta: degrees)
        var out = [UInt8](repeating: 0, count: images.count)
        var source = [Float](repeating: 0, count: pixelsPerImage), turned = [Float](repeating: 0, count: pixelsPerImage)
        for i in 0..<count {
            for k in 0..<pixelsPerImage { source[k] = Float(images[i * pixelsPerImage + k]) }
            transform.apply(source, height: height, width: width, into: &turned)
            for k in 0..<pixelsPerImage { out[i * pixelsPerImage + k] = UInt8(max(0, min(255, turned[k].rounded()))) }
        }
        return LabeledImages(images: out, labels: labels, height: height, width: width)
    }
}

/// Saved models measured on the test set turned by fixed angles: how much rotation augmentation
/// buys on rotated digits, what it costs upright, and what an upside-down 6 or 9 is read as.
public struct RotationStudy: Sendable {
    /// The angles the table has by default, in degrees.
    public static let defaultAngles: [Double] = [0, 15, 30, 45, 90, 180]

    /// One model's row.
    public struct Row: Sendable {
        public var model: String
        /// The spec's name, rotation range and seed (from the model's metadata), when recorded.
        public var spec: String
        public var rotationRange: Double?
        public var seed: Int?
        /// Accuracy (0-1) at each of the study's angles.
        public var accuracy: [Double]
        /// At 180 degrees: the shares of the test set's 6s read as 9 and as 6, and of its 9s read
        /// as 6 and as 9.
        public var sixAsNine: Double, sixAsSix: Double, nineAsSix: Double, nineAsNine: Double
    }

    public var angles: [Double]
    public var rows: [Row] = []

    public init(angles: [Double] = RotationStudy.defaultAngles) {
        self.angles = angles
    }

    /// Measures the model `reader` holds on `test` turned by each angle (and by 180 degrees for the
    /// 6s and 9s), calling `progress` after each angle.
    public mutating func measure(_ reader: DigitReader, test: LabeledImages, progress: (Double) -> Void = { _ in }) throws {
        var accuracy: [Double] = []
        var upsideDown: [Int32] = []
        for angle in Set(angles + [180]).sorted() {
            let turned = test.rotated(by: angle)
            var predictions = [Int32](repeating: 0, count: test.count)
            let result = predictions.withUnsafeMutableBufferPointer {
                Trainer.evaluate(model: reader.model, set: turned, normalization: reader.normalization, predictions: $0.baseAddress!)
            }
            if angles.contains(angle) { accuracy.append(result.accuracy) }
            if angle == 180 { upsideDown = predictions }
            progress(angle)
        }
        // `accuracy` is in sorted order; put it in the study's.
        let sorted = Set(angles).sorted()
        accuracy = angles.map { accuracy[sorted.firstIndex(of: $0)!] }
        func share(of digit: Int32, as read: Int32) -> Double {
            let of = test.labels.indices.filter { test.labels[$0] == digit }
            return of.isEmpty ? 0 : Double(of.filter { upsideDown[$0] == read }.count) / Double(of.count)
        }
        let spec = try reader.metadata["spec"].map { try ExperimentSpec(tree: SpecTree.parse($0, file: reader.path), file: reader.path) }
        rows.append(Row(model: reader.path, spec: spec?.name ?? "", rotationRange: spec?.augmentation.rotationRange, seed: spec?.seed,
                        accuracy: accuracy, sixAsNine: share(of: 6, as: 9), sixAsSix: share(of: 6, as: 6),
                        nineAsSix: share(of: 9, as: 6), nineAsNine: share(of: 9, as: 9)))
    }

    private static func degrees(_ a: Double) -> String { a == a.rounded() ? String(Int(a)) : fixed(a, 1) }

    /// A row per model: accuracies in percent at each angle, and the 6s' and 9s' readings at 180.
    public var csv: CSVTable {
        let header = ["model", "spec", "rotation_range", "seed"] + angles.map { "acc_\(Self.degrees($0))" }
            + ["six_as_nine_180", "six_as_six_180", "nine_as_six_180", "nine_as_nine_180"]
        return CSVTable(header: header, rows: rows.map { r in
            [r.model, r.spec, r.rotationRange.map(Self.degrees) ?? "", r.seed.map(String.init) ?? ""]
                + (r.accuracy + [r.sixAsNine, r.sixAsSix, r.nineAsSix, r.nineAsNine]).map { fixed(100 * $0, 2) }
        })
    }

    /// A Markdown table with a row per rotation range: the mean over its models (seeds), with the
    /// seeds' range where there are several.
    public var markdown: String {
        let ranges = Array(Set(rows.map { $0.rotationRange ?? -1 })).sorted()
        var lines = ["| rotation range | models | " + angles.map { "\(Self.degrees($0))°" }.joined(separator: " | ")
                     + " | 6 at 180°: read 9 · 6 | 9 at 180°: read 6 · 9 |",
                     "| --- | --- | " + angles.map { _ in "---" }.joined(separator: " | ") + " | --- | --- |"]
        for range in ranges {
            let group = rows.filter { ($0.rotationRange ?? -1) == range }
            func cell(_ values: [Double]) -> String {
                let mean = values.reduce(0, +) / Double(values.count)
                guard values.count > 1 else { return fixed(100 * mean, 2) }
                return fixed(100 * mean, 2) + " (" + fixed(100 * values.min()!, 2) + "-" + fixed(100 * values.max()!, 2) + ")"
            }
            let accuracies = angles.indices.map { a in cell(group.map { $0.accuracy[a] }) }
            func pair(_ x: KeyPath<Row, Double>, _ y: KeyPath<Row, Double>) -> String {
                let mx = group.map { $0[keyPath: x] }.reduce(0, +) / Double(group.count)
                let my = group.map { $0[keyPath: y] }.reduce(0, +) / Double(group.count)
                return fixed(100 * mx, 1) + " · " + fixed(100 * my, 1)
            }
            lines.append("| " + (range < 0 ? "?" : Self.degrees(range) + "°") + " | \(group.count) | " + accuracies.joined(separator: " | ")
                         + " | " + pair(\.sixAsNine, \.sixAsSix) + " | " + pair(\.nineAsSix, \.nineAsNine) + " |")
        }
        return lines.joined(separator: "\n") + "\n\nTest accuracy (%) on MNIST's 10,000 test digits turned by each angle; "
            + "mean over the models (seeds) of each rotation range, their range in brackets. The last two columns: "
            + "the shares (%) of the test set's 6s, and of its 9s, turned upside down, read as 9 and as 6.\n"
    }
}
