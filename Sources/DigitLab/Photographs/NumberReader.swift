import Foundation

/// Reads a number of several digits from a photograph: the ink `MNISTPipeline` finds, cut into
/// digits by `NumberSegmentation`, each digit prepared as a single digit is (MNIST's stroke width,
/// size and centring) and read by the model. A group of touching digits is cut at each place its
/// column profile suggests, into as many digits as its width allows, and the cut the model is most
/// sure of is kept (the highest mean log-probability of the digits read), if the model is sure
/// enough of it: a wide single digit also reads well cut in two (a 5's tail as a 2 beside a 5).
public struct NumberReader {
    public let reader: DigitReader
    /// A split is kept when its digits' geometric mean probability is at least this, and (below
    /// `surelySeveral`) the group read whole is less probable than this.
    public static let sureSplit = 0.99
    /// A group this many typical digit widths wide is read as several digits whenever the model is
    /// sure of the split (tuned on `make-photos --number` seeds 8 and 9, not on the seeds measured).
    public static let surelySeveral = 1.8

    public init(reader: DigitReader) {
        self.reader = reader
    }

    /// The number in `image`; `file` names it in the reading. Throws `MNISTPipeline.Failure` when
    /// the picture holds no number (no ink, too many marks, marks of wildly different sizes).
    public func read(_ image: RasterImage, file: String) throws -> NumberReading {
        let ink = try MNISTPipeline.ink(image)
        let layout = try NumberSegmentation.layout(ink)
        var digits: [NumberReading.Digit] = []
        for i in layout.groups.indices {
            let g = layout.groups[i]
            var options: [[Range<Int>]] = [[g.box.minX..<g.box.maxX + 1]]
            if layout.mayBeTouching(i) {
                // Wide enough for one wide digit still: keep reading it whole as a choice.
                if Double(g.width) >= 2 * Double(layout.digitWidth) { options = [] }
                let most = min(6, max(2, Int((Double(g.width) / Double(layout.digitWidth)).rounded())),
                               Int(Double(g.width) / (0.25 * Double(layout.digitHeight))))
                if most >= 2 {
                    for k in 2...most {
                        for cut in product(layout.cuts(of: i, into: k)) {
                            let edges = [g.box.minX] + cut + [g.box.maxX + 1]
                            guard zip(edges, edges.dropFirst()).allSatisfy({ $0 < $1 }) else { continue }
                            options.append(zip(edges, edges.dropFirst()).map { $0..<$1 })
                        }
                    }
                }
            }
            var cache: [Range<Int>: NumberReading.Digit?] = [:]
            func digit(_ columns: Range<Int>) -> NumberReading.Digit? {
                if let known = cache[columns] { return known }
                let read = layout.mask(of: i, columns: columns).map { piece -> NumberReading.Digit in
                    let prepared = MNISTPipeline.prepare(piece.mask, width: piece.width, height: piece.height)
                    let set = LabeledImages(images: prepared.digit, labels: [0], height: 28, width: 28)
                    let p = reader.probabilities([reader.normalization.apply(set)])[0]
                    return NumberReading.Digit(probabilities: p, box: piece.box, ink: ink, input: prepared.digit)
                }
                cache[columns] = read
                return read
            }
            var best: (score: Double, digits: [NumberReading.Digit])?
            var whole: [NumberReading.Digit]?
            for option in options {
                let read = option.compactMap(digit)
                guard read.count == option.count else { continue }
                if option.count == 1 { whole = read; continue }
                let score = read.map { log(max($0.probability, 1e-9)) }.reduce(0, +) / Double(read.count)
                if best == nil || score > best!.score { best = (score, read) }
            }
            // A split is kept only when the model is sure of every piece, and, for a group that could
            // still be one wide digit (a 2's or 5's long tail), only when it is unsure of the whole.
            let relativeWidth = Double(g.width) / Double(layout.digitWidth)
            if let w = whole, best == nil || best!.score < log(Self.sureSplit)
                || (relativeWidth < Self.surelySeveral && w[0].probability >= Self.sureSplit) {
                best = (0, w)
            }
            if var chosen = best?.digits {
                if chosen.count > 1 { for k in chosen.indices { chosen[k].split = true } }
                digits += chosen
            }
        }
        guard !digits.isEmpty else {
            throw MNISTPipeline.Failure(description: "found no digit: nothing but specks stand out from the background")
        }
        return NumberReading(file: file, number: digits.map { String($0.digit) }.joined(), digits: digits,
                             ink: ink.inkIsDark ? "dark" : "light", specks: layout.specks)
    }

    /// Every choice of one element from each list.
    private func product(_ lists: [[Int]]) -> [[Int]] {
        lists.reduce([[]]) { partial, list in partial.flatMap { p in list.map { p + [$0] } } }
    }
}

/// One photograph's number.
public struct NumberReading: Sendable, Encodable {
    /// One digit of the number: where it is and what the model read.
    public struct Digit: Sendable, Encodable {
        /// The digit's box in the photograph's pixels: left, top, width, height.
        public var box: [Int]
        public var digit: Int
        public var probability: Double
        public var runnerUp: Int
        public var runnerUpProbability: Double
        /// Whether the digit was cut from ink it shares with a neighbour (touching digits).
        public var split: Bool
        /// The 28 x 28 bytes the model read, before normalization (white digit on black), row by
        /// row. Not in the JSON, which says what was read; the try page of `digitlab serve` shows it.
        public var input: [UInt8]

        enum CodingKeys: String, CodingKey {
            case box, digit, probability, split
            case runnerUp = "runner_up", runnerUpProbability = "runner_up_probability"
        }

        init(probabilities p: [Float], box b: MNISTPipeline.Box, ink: MNISTPipeline.Ink, input: [UInt8]) {
            let order = p.indices.sorted { p[$0] > p[$1] }
            func rounded(_ x: Float) -> Double { (Double(x) * 1e6).rounded() / 1e6 }
            // Working pixel x is the photograph's (x + origin) / scale.
            let left = Int((Double(b.minX + ink.originX) / ink.scale).rounded(.down))
            let top = Int((Double(b.minY + ink.originY) / ink.scale).rounded(.down))
            let right = Int((Double(b.maxX + 1 + ink.originX) / ink.scale).rounded(.up))
            let bottom = Int((Double(b.maxY + 1 + ink.originY) / ink.scale).rounded(.up))
            box = [left, top, right - left, bottom - top]
            digit = order[0]
            probability = rounded(p[order[0]])
            runnerUp = order[1]
            runnerUpProbability = rounded(p[order[1]])
            split = false
            self.input = input
        }
    }

    public var file: String
    /// The digits read, left to right, as a string (leading zeros kept).
    public var number: String
    public var digits: [Digit]
    /// "dark" or "light": the ink's polarity.
    public var ink: String
    /// Marks ignored as too small to be digits (dots, smudges).
    public var specks: Int

    /// One line for people: file, number, and each digit's probability.
    public var line: String {
        "\(file): \(number) (" + digits.map { "\($0.digit) \(fixed(100 * $0.probability, 1))%" }.joined(separator: ", ") + ")"
    }
}
