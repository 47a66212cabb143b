/// Finds the digits of a number written on a photograph: the ink `MNISTPipeline` finds, cut into
/// one mask per digit, in reading order (left to right).
///
/// 1. Components: the ink's 8-connected components; pieces of one broken stroke, or a 5's detached
///    bar, are joined to the digit they lie over or under (overlapping it by half the narrower's
///    width, within a quarter of the digit's height) or beside (a small piece within a tenth of
///    the digits' height).
/// 2. Digit size: the digits' height is the (upper) median height of the groups of at least a fifth
///    of the largest one's area. Dots and smudges whose longer side is under `speckSize` of it are
///    ignored; anything else much smaller or larger (`sizeRange`) means the picture is not one
///    number, and so does more than `maximumDigits` candidates.
/// 3. Touching digits: a group much wider than the typical digit (the median width of the groups
///    that are not as narrow as a 1, within 0.5-0.8 of the height) may be several digits joined by ink. `cuts` proposes where to
///    cut it, at the lowest columns of its ink profile near where k equal digits would meet;
///    `NumberReader` reads each proposal and keeps the one the model is most sure of.
public enum NumberSegmentation {
    /// At most this many candidate digits; more means the picture is not a number (a page of text).
    public static let maximumDigits = 20
    /// Marks whose longer side is under this fraction of the typical digit's are specks, ignored.
    public static let speckSize = 0.3
    /// Digits' longer sides must be at least the lower bound times the typical digit's, and their
    /// heights at most the upper bound times it.
    public static let sizeRange = 0.45...2.2
    /// A group wider than this many typical digit widths may be touching digits.
    public static let splitWidth = 1.35

    /// A candidate digit: ink components joined, with its box at the working resolution.
    struct Group {
        var components: [Int]
        var box: MNISTPipeline.Box
        var area: Int
        var width: Int { box.maxX - box.minX + 1 }
        var height: Int { box.maxY - box.minY + 1 }
    }

    /// A number's candidate digits in reading order.
    struct Layout {
        var components: ConnectedComponents
        var groups: [Group]
        /// The typical digit's height and width, in working pixels.
        var digitHeight: Int
        var digitWidth: Int
        /// Marks ignored as specks.
        var specks: Int

        /// Whether group `i` is wide enough to be several digits joined by ink.
        func mayBeTouching(_ i: Int) -> Bool {
            let g = groups[i]
            return Double(g.width) > NumberSegmentation.splitWidth * Double(digitWidth) && Double(g.width) > 0.8 * Double(g.height)
        }

        /// The mask of group `i`'s pixels with x in `columns` (working coordinates), cropped to its
        /// ink with a pixel of paper around it, and that crop's box; nil when no ink lies there.
        func mask(of i: Int, columns: Range<Int>? = nil) -> (mask: [Bool], width: Int, height: Int, box: MNISTPipeline.Box)? {
            let g = groups[i]
            let keep = Set(g.components.map { Int32($0 + 1) })
            let xs = columns.map { max($0.lowerBound, g.box.minX)..<min($0.upperBound, g.box.maxX + 1) } ?? g.box.minX..<g.box.maxX + 1
            guard !xs.isEmpty else { return nil }
            var b = MNISTPipeline.Box(minX: Int.max, minY: Int.max, maxX: -1, maxY: -1)
            let w = components.width
            for y in g.box.minY...g.box.maxY {
                for x in xs where keep.contains(components.labels[y * w + x]) {
                    b.minX = min(b.minX, x); b.maxX = max(b.maxX, x); b.minY = min(b.minY, y); b.maxY = max(b.maxY, y)
                }
            }
            guard b.maxX >= 0 else { return nil }
            let pw = b.maxX - b.minX + 3, ph = b.maxY - b.minY + 3
            var out = [Bool](repeating: false, count: pw * ph)
            for y in b.minY...b.maxY {
                for x in b.minX...b.maxX where keep.contains(components.labels[y * w + x]) { out[(y - b.minY + 1) * pw + x - b.minX + 1] = true }
            }
            return (out, pw, ph, b)
        }

        /// Where to cut group `i` into `k` digits: per cut, the columns (working x) to try. Each cut
        /// is looked for within 0.3 of a digit's width of where `k` equal digits would meet; its
        /// candidates are the column with the least ink there and the next lowest local minimum.
        func cuts(of i: Int, into k: Int) -> [[Int]] {
            let g = groups[i]
            let keep = Set(g.components.map { Int32($0 + 1) })
            var profile = [Double](repeating: 0, count: g.width)
            for y in g.box.minY...g.box.maxY {
                for x in g.box.minX...g.box.maxX where keep.contains(components.labels[y * components.width + x]) {
                    profile[x - g.box.minX] += 1
                }
            }
            // Smoothed over three columns, so that a one-pixel gap in a stroke is not a cut.
            let smooth = profile.indices.map { x in (max(0, x - 1)...min(profile.count - 1, x + 1)).map { profile[$0] }.reduce(0, +) }
            let step = Double(g.width) / Double(k)
            return (1..<k).map { c in
                let centre = Double(c) * step
                let lo = max(1, Int(centre - 0.3 * step)), hi = min(g.width - 2, Int(centre + 0.3 * step))
                guard lo <= hi else { return [g.box.minX + Int(centre)] }
                var minima = (lo...hi).filter { x in
                    (x == lo || smooth[x] <= smooth[x - 1]) && (x == hi || smooth[x] <= smooth[x + 1])
                }
                minima.sort { smooth[$0] != smooth[$1] ? smooth[$0] < smooth[$1] : abs(Double($0) - centre) < abs(Double($1) - centre) }
                var chosen: [Int] = []
                for x in minima where chosen.allSatisfy({ abs($0 - x) > max(2, Int(0.1 * step)) }) {
                    chosen.append(x)
                    if chosen.count == 2 { break }
                }
                return chosen.map { g.box.minX + $0 }
            }
        }
    }

    /// The candidate digits of a photograph's ink. Throws `MNISTPipeline.Failure` when there is no
    /// digit, too many, or marks of wildly different sizes.
    static func layout(_ ink: MNISTPipeline.Ink) throws -> Layout {
        var mask = ink.mask
        let width = ink.width, height = ink.height
        // Ruled lines are put back unless they run beyond the number on both sides (as for one digit).
        if !ink.lines.isEmpty {
            let cc = ConnectedComponents(mask, width: width, height: height)
            let sizeable = cc.components.filter { $0.area >= max(4, width * height / 5000) }
            let box = sizeable.isEmpty ? nil : MNISTPipeline.Box(
                minX: sizeable.map(\.minX).min()!, minY: sizeable.map(\.minY).min()!,
                maxX: sizeable.map(\.maxX).max()!, maxY: sizeable.map(\.maxY).max()!)
            _ = MNISTPipeline.restoreLines(ink.lines, into: &mask, width: width, height: height, around: box)
        }
        let cc = ConnectedComponents(mask, width: width, height: height)
        let minimumArea = max(3, width * height / 50_000)
        var groups = cc.components.indices.filter { cc.components[$0].area >= minimumArea }.map { i -> Group in
            let c = cc.components[i]
            return Group(components: [i], box: .init(minX: c.minX, minY: c.minY, maxX: c.maxX, maxY: c.maxY), area: c.area)
        }
        guard !groups.isEmpty else {
            throw MNISTPipeline.Failure(description: "found no digit: nothing but specks stand out from the background")
        }
        // Marks along the border of a picture that has others inside are its frame or the desk.
        let inner = groups.filter { g in !g.components.contains { cc.components[$0].touchesBorder } }
        if !inner.isEmpty {
            let tallest = inner.map(\.height).max()!
            groups = groups.filter { g in !g.components.contains { cc.components[$0].touchesBorder } || g.height <= 3 * tallest / 2 }
        }

        // The typical digit's height: the upper median over the groups of some size.
        func typicalSize(_ groups: [Group]) -> Int {
            let largest = groups.map(\.area).max() ?? 0
            let heights = groups.filter { 5 * $0.area >= largest }.map(\.height).sorted()
            return heights[heights.count / 2]
        }
        // Join pieces of one digit until nothing changes.
        var changed = true
        while changed {
            changed = false
            let h = Double(typicalSize(groups))
            search: for a in groups.indices {
                for b in groups.indices where b > a {
                    let p = groups[a], q = groups[b]
                    let overlapX = min(p.box.maxX, q.box.maxX) - max(p.box.minX, q.box.minX) + 1
                    let gapX = max(0, max(p.box.minX, q.box.minX) - min(p.box.maxX, q.box.maxX) - 1)
                    let gapY = max(0, max(p.box.minY, q.box.minY) - min(p.box.maxY, q.box.maxY) - 1)
                    let stacked = Double(overlapX) >= 0.5 * Double(min(p.width, q.width))
                        && Double(gapY) <= 0.25 * Double(max(p.height, q.height))
                    let pieceBeside = Double(max(gapX, gapY)) <= 0.1 * h && Double(min(p.height, q.height)) < 0.6 * h
                    guard stacked || pieceBeside else { continue }
                    groups[a] = Group(components: p.components + q.components,
                                      box: .init(minX: min(p.box.minX, q.box.minX), minY: min(p.box.minY, q.box.minY),
                                                 maxX: max(p.box.maxX, q.box.maxX), maxY: max(p.box.maxY, q.box.maxY)),
                                      area: p.area + q.area)
                    groups.remove(at: b)
                    changed = true
                    break search
                }
            }
        }
        let digitSize = typicalSize(groups)
        let before = groups.count
        groups.removeAll { Double(max($0.width, $0.height)) < speckSize * Double(digitSize) }
        let specks = before - groups.count
        // Too small is judged on the longer side (a few digits are short and wide: MNIST fitted
        // each digit's longer side to 20 pixels), too large on the height (touching digits are wide).
        if let odd = groups.first(where: { g in
            Double(max(g.width, g.height)) < sizeRange.lowerBound * Double(digitSize) || Double(g.height) > sizeRange.upperBound * Double(digitSize)
        }) {
            throw MNISTPipeline.Failure(description: "ink marks of wildly different sizes (a mark \(odd.width) x \(odd.height) pixels "
                                        + "beside digits \(digitSize) high): photograph one number, written at one size")
        }
        let digitHeight = groups.map(\.height).sorted()[groups.count / 2]
        guard groups.count <= maximumDigits else {
            throw MNISTPipeline.Failure(description: "found \(groups.count) candidate digits, more than \(maximumDigits): "
                                        + "photograph one number at a time")
        }
        groups.sort { $0.box.minX + $0.box.maxX < $1.box.minX + $1.box.maxX }
        // A 1 is far narrower than other digits, so the typical width is taken over the others.
        let widths = groups.filter { 5 * $0.width >= 2 * $0.height }.map(\.width).sorted()
        // Clamped to what MNIST's digits measure (most are 0.5-0.8 times as wide as high), so that
        // a number whose digits all touch still has a typical width to be split by.
        let median = widths.isEmpty ? 0 : widths[widths.count / 2]
        let digitWidth = min(max(median, Int(0.5 * Double(digitHeight))), Int(0.8 * Double(digitHeight)))
        return Layout(components: cc, groups: groups, digitHeight: digitHeight, digitWidth: digitWidth, specks: specks)
    }
}
