/// Preprocessing that does to a photograph what MNIST's makers did to their scanned digits, so that
/// a model trained on MNIST sees the kind of image it learnt from:
///
/// 0. An image of MNIST's own size on plain paper is read as it is (`MNISTSized`); the rest is
///    for everything else.
/// 1. Working size: photographs larger than 1000 pixels on their longer side are shrunk (area
///    averaging), small images enlarged to 280 (bilinear), so that the thresholds below have
///    room to work and a phone photograph costs milliseconds.
/// 2. Ink: a sheet of paper lying on a darker surface is cropped to (`SheetCrop`);
///    `InkSignal` flattens uneven lighting, merges the colour channels along the ink's colour
///    and decides the polarity (the ink is the minority, light or dark); hysteresis thresholding
///    then keeps pixels at least 30% as strong as the ink that are connected to pixels at least
///    50% as strong, which drops noise.
/// 3. Clutter: ruled lines are removed (`RuledLines`; put back if they turn out not to extend beyond
///    the digit on both sides, such as the bar of a tightly cropped 7), and of the remaining
///    connected components the digit is the largest one not touching the border, with every
///    component near it of at least 2% of its area (a 5's detached bar, a broken stroke); specks
///    and far blobs are dropped.
/// 4. Strokes: the stroke width is measured from the distance transform; thin pen strokes are
///    thickened by a disc until their width relative to the digit's size is MNIST's.
/// 5. MNIST's normalization: the digit's bounding box is scaled to fit 20 x 20 keeping its aspect
///    ratio, by area averaging of the binary drawing (which makes MNIST's grey anti-aliased edges),
///    and placed in a 28 x 28 field so that its centre of mass is at the centre.
///
/// The result is an 8-bit 28 x 28 image, white digit on black, which is normalized as the model's
/// training data were.
public enum MNISTPipeline {
    /// MNIST's median stroke width divided by the larger side of the digit's bounding box, as
    /// `strokeRatio(of:)` measures it on the training set's images (its quartiles are 0.131 and
    /// 0.160, its 10th percentile 0.121; the calibration test checks it).
    public static let mnistStrokeRatio = 0.146
    /// Thinner than this fraction of MNIST's ratio, strokes are thickened to MNIST's.
    public static let thickenBelow = 0.75
    /// Where MNIST's digits have their centre of mass, in pixel indices of the 28 x 28 field: the
    /// training set's mean is (14.02, 13.98), so MNIST put it at pixel 14, not at 13.5, the
    /// field's geometric centre (the calibration test checks it).
    public static let mnistCentre = (x: 14.0, y: 14.0)

    public static let workingMaxSide = 1000
    public static let workingMinSide = 280

    /// The prepared digit and what the pipeline found on the way.
    public struct Result: Sendable {
        /// 28 x 28 bytes, white digit on black, as MNIST's images.
        public var digit: [UInt8]
        /// True when the ink was darker than the paper.
        public var inkIsDark: Bool
        /// The measured stroke width in pixels of the 20 x 20 box, before any thickening.
        public var strokeWidth: Double
        /// True when the strokes were thickened.
        public var thickened: Bool
        /// Ruled lines removed.
        public var ruledLines: Int
        /// True when the image was already an MNIST-sized drawing on plain paper and was read at
        /// its own resolution (`MNISTSized`) instead of through the photograph steps.
        public var mnistSized = false
    }

    /// A problem the pipeline cannot get round, such as an image with no ink at all.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The 28 x 28 digit in `image`: an MNIST-sized drawing on plain paper read at its own
    /// resolution (`MNISTSized`), anything else through the steps above. Throws `Failure` when
    /// no digit stands out.
    public static func run(_ image: RasterImage) throws -> Result {
        if let small = MNISTSized.read(image) { return small }
        let analysis = try analyse(image)
        let prepared = prepare(analysis.mask, width: analysis.width, height: analysis.height, strokeWidth: analysis.strokeWidth)
        return Result(digit: prepared.digit, inkIsDark: analysis.inkIsDark, strokeWidth: prepared.strokeWidth,
                      thickened: prepared.thickened, ruledLines: analysis.ruledLines)
    }

    /// Steps 4 and 5 for one digit's mask (cropped to the digit with a pixel of paper around it):
    /// thin strokes thickened, then MNIST's size normalization. `strokeWidth` is measured when not given.
    /// Returns the 28 x 28 digit, the stroke width in pixels of the 20 x 20 box and whether it was thickened.
    static func prepare(_ digitMask: [Bool], width digitWidth: Int, height digitHeight: Int,
                        strokeWidth: Double? = nil) -> (digit: [UInt8], strokeWidth: Double, thickened: Bool) {
        var mask = digitMask, width = digitWidth, height = digitHeight
        let stroke = strokeWidth ?? StrokeWidth.measure(mask, width: width, height: height) ?? 1
        let side = Double(max(width, height))
        let ratio = stroke / side
        var thickened = false
        if ratio < thickenBelow * mnistStrokeRatio {
            // Growing by r on every side makes the width w + 2r and the side M + 2r; solve
            // (w + 2r) / (M + 2r) = MNIST's ratio for r.
            // Capped, so that a mis-measured drawing is not swollen into a blob.
            let r = min((mnistStrokeRatio * side - stroke) / (2 * (1 - mnistStrokeRatio)), 0.12 * side)
            let pad = Int(r.rounded(.up)) + 1
            (mask, width, height) = padded(mask, width: width, height: height, by: pad)
            mask = StrokeWidth.dilate(mask, width: width, height: height, radius: r)
            thickened = true
        }
        let (tight, w, h) = cropped(mask, width: width, height: height)
        return (fitAndCentre(tight, width: w, height: h), stroke * 20 / side, thickened)
    }

    /// The stroke width relative to the larger side of the digit's bounding box, as `run` measures it
    /// before deciding to thicken: the figure `mnistStrokeRatio` was calibrated with.
    public static func strokeRatio(of image: RasterImage) throws -> Double {
        let a = try analyse(image)
        return a.strokeWidth / Double(max(a.width, a.height))
    }

    /// The digit found in a photograph: its binary mask cropped to its bounding box (with one pixel
    /// of paper around it) and its stroke width.
    struct Analysis {
        var mask: [Bool]
        var width: Int
        var height: Int
        var strokeWidth: Double
        var inkIsDark: Bool
        var ruledLines: Int
    }

    /// The pipeline's intermediate images at its working resolution, for looking into what it did:
    /// "signal" (ink strength, scaled to white), "hysteresis" (the ink mask), "lines removed" and
    /// "digit" (the components kept). Stages after a failure are missing.
    public static func stages(of image: RasterImage) -> [(name: String, image: RasterImage)] {
        var out: [(String, RasterImage)] = []
        _ = try? analyse(image) { name, values, width, height in
            let top = max(values.max() ?? 1, 1e-6)
            out.append((name, RasterImage(width: width, height: height, channels: 1,
                                          pixels: values.map { UInt8(max(0, min(255, ($0 / top * 255).rounded()))) })))
        }
        return out
    }

    /// The ink of a photograph at the pipeline's working resolution (steps 1 and 2, and ruled lines
    /// taken out), before any digit is chosen.
    struct Ink {
        var mask: [Bool]
        var width: Int
        var height: Int
        var inkIsDark: Bool
        /// The ruled lines removed from `mask`.
        var lines: [RuledLines.Line]
        /// Working pixel (x, y) is the photograph's ((x + originX) / scale, (y + originY) / scale).
        var scale: Double
        var originX: Int
        var originY: Int
    }

    static func ink(_ image: RasterImage, inspect: ((String, [Float], Int, Int) -> Void)? = nil) throws -> Ink {
        let longer = max(image.width, image.height)
        let target = longer > workingMaxSide ? workingMaxSide : max(longer, workingMinSide)
        let scale = Double(target) / Double(longer)
        let workingWidth = max(1, Int((Double(image.width) * scale).rounded()))
        let workingHeight = max(1, Int((Double(image.height) * scale).rounded()))
        // One channel at a time, so that a large photograph never has all its channels as floats.
        var planes = (0..<image.channels).map { c -> Plane in
            let plane = Plane(width: image.width, height: image.height, values: image.channel(c))
            if target == longer { return plane }
            return longer > workingMaxSide ? plane.resizedArea(width: workingWidth, height: workingHeight)
                : plane.resizedBilinear(width: workingWidth, height: workingHeight)
        }
        let sheet = SheetCrop.sheet(Plane.luma(planes))
        if let sheet { planes = planes.map { SheetCrop.crop($0, to: sheet) } }
        let width = planes[0].width, height = planes[0].height
        let signal = InkSignal(channels: planes)
        let smooth = binomialBlur(signal.plane)
        inspect?("signal", smooth.values.map { max(0, $0) }, width, height)
        let sigma = InkSignal.noise(smooth.values, width: width)
        let minimumContrast: Float = image.channels == 3 ? 30 : 20
        let candidate = max(4 * sigma, minimumContrast)
        let inkValues = smooth.values.filter { $0 > candidate }
        guard inkValues.count >= max(10, width * height / 20_000) else {
            throw Failure(description: "found no digit: the image has no marks that stand out from its background")
        }
        let level = Plane.percentile(inkValues, 0.75)
        let strong = max(0.5 * level, candidate), weak = max(0.3 * level, 3 * sigma)
        let weakComponents = ConnectedComponents(smooth.values.map { $0 >= weak }, width: width, height: height)
        // Which weak components hold a strong pixel, as a flag per component: a set insertion per
        // strong pixel was a noticeable share of a 280 x 280 picture's time.
        var seeded = [Bool](repeating: false, count: weakComponents.components.count)
        smooth.values.withUnsafeBufferPointer { v in
            weakComponents.labels.withUnsafeBufferPointer { labels in
                for i in 0..<v.count where v[i] >= strong && labels[i] > 0 { seeded[Int(labels[i]) - 1] = true }
            }
        }
        var mask = weakComponents.labels.map { $0 > 0 && seeded[Int($0) - 1] }
        inspect?("hysteresis", mask.map { $0 ? 1 : 0 }, width, height)

        let lines = RuledLines.remove(from: &mask, width: width, height: height)
        inspect?("lines removed", mask.map { $0 ? 1 : 0 }, width, height)
        return Ink(mask: mask, width: width, height: height, inkIsDark: signal.inkIsDark, lines: lines,
                   scale: scale, originX: sheet?.minX ?? 0, originY: sheet?.minY ?? 0)
    }

    static func analyse(_ image: RasterImage, inspect: ((String, [Float], Int, Int) -> Void)? = nil) throws -> Analysis {
        let ink = try ink(image, inspect: inspect)
        var mask = ink.mask
        let width = ink.width, height = ink.height, lines = ink.lines
        var selection = selectDigit(mask, width: width, height: height)
        let restored = restoreLines(lines, into: &mask, width: width, height: height, around: selection?.box)
        if restored > 0 { selection = selectDigit(mask, width: width, height: height) }
        let keptLines = lines.count - restored
        guard let selection else {
            throw Failure(description: "found no digit: nothing but specks and lines stand out from the background")
        }
        inspect?("digit", selection.mask.map { $0 ? 1 : 0 }, width, height)
        let (digit, w, h) = padded(selection.mask, width: width, height: height, box: selection.box, by: 1)
        let stroke = StrokeWidth.measure(digit, width: w, height: h) ?? 1
        return Analysis(mask: digit, width: w, height: h, strokeWidth: stroke, inkIsDark: ink.inkIsDark,
                        ruledLines: keptLines)
    }

    /// Puts back the removed `lines` that are not ruled lines around a drawing boxed by `box`: a line
    /// is kept out only if it runs well beyond the box on both sides, or across the page past a small
    /// drawing (a tightly cropped 7's bar is not a ruled line). Returns how many were put back.
    static func restoreLines(_ lines: [RuledLines.Line], into mask: inout [Bool], width: Int, height: Int, around box: Box?) -> Int {
        let wrong = lines.filter { line in
            guard let box else { return true }
            let (size, lo, hi) = line.vertical ? (height, box.minY, box.maxY) : (width, box.minX, box.maxX)
            let margin = Int(0.03 * Double(size))
            let beyondBoth = line.start < lo - margin && line.end > hi + margin
            let acrossPage = Double(line.end - line.start + 1) >= 0.95 * Double(size)
                && Double(hi - lo + 1) <= 0.4 * Double(size)
            return !(beyondBoth || acrossPage)
        }
        for line in wrong { for p in line.pixels { mask[p] = true } }
        return wrong.count
    }

    struct Box { var minX, minY, maxX, maxY: Int }

    /// The digit's components: the largest not touching the border (the largest of all if every
    /// sizeable one does), and every component of at least 2% of its area lying near the digit.
    static func selectDigit(_ mask: [Bool], width: Int, height: Int) -> (mask: [Bool], box: Box)? {
        let cc = ConnectedComponents(mask, width: width, height: height)
        guard !cc.components.isEmpty else { return nil }
        let sizeable = max(4, width * height / 5000)
        let inner = cc.components.indices.filter { !cc.components[$0].touchesBorder && cc.components[$0].area >= sizeable }
        let pool = inner.isEmpty ? Array(cc.components.indices) : inner
        let main = pool.max { cc.components[$0].area < cc.components[$1].area }!
        let mainArea = cc.components[main].area
        guard mainArea >= 4 else { return nil }
        var keep: Set<Int> = [main]
        let c = cc.components[main]
        var box = Box(minX: c.minX, minY: c.minY, maxX: c.maxX, maxY: c.maxY)
        let minimumArea = max(3, mainArea / 50)
        var changed = true
        while changed {
            changed = false
            for (i, part) in cc.components.enumerated() where !keep.contains(i) && part.area >= minimumArea {
                if part.touchesBorder && part.area > mainArea { continue }
                let reach = Int(0.25 * Double(max(box.maxX - box.minX + 1, box.maxY - box.minY + 1)))
                let gapX = max(0, max(part.minX - box.maxX, box.minX - part.maxX))
                let gapY = max(0, max(part.minY - box.maxY, box.minY - part.maxY))
                guard gapX <= reach && gapY <= reach else { continue }
                keep.insert(i)
                box = Box(minX: min(box.minX, part.minX), minY: min(box.minY, part.minY),
                          maxX: max(box.maxX, part.maxX), maxY: max(box.maxY, part.maxY))
                changed = true
            }
        }
        return (cc.mask(keeping: keep), box)
    }

    /// The part of `mask` inside `box` (the whole mask by default) with `pad` pixels of paper around it.
    static func padded(_ mask: [Bool], width: Int, height: Int, box: Box? = nil, by pad: Int) -> ([Bool], Int, Int) {
        let b = box ?? Box(minX: 0, minY: 0, maxX: width - 1, maxY: height - 1)
        let w = b.maxX - b.minX + 1 + 2 * pad, h = b.maxY - b.minY + 1 + 2 * pad
        var out = [Bool](repeating: false, count: w * h)
        for y in b.minY...b.maxY {
            for x in b.minX...b.maxX where mask[y * width + x] { out[(y - b.minY + pad) * w + (x - b.minX + pad)] = true }
        }
        return (out, w, h)
    }

    /// The mask cropped to its bounding box.
    static func cropped(_ mask: [Bool], width: Int, height: Int) -> ([Bool], Int, Int) {
        var b = Box(minX: width, minY: height, maxX: -1, maxY: -1)
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                b.minX = min(b.minX, x); b.maxX = max(b.maxX, x); b.minY = min(b.minY, y); b.maxY = max(b.maxY, y)
            }
        }
        guard b.maxX >= 0 else { return (mask, width, height) }
        return padded(mask, width: width, height: height, box: b, by: 0)
    }

    /// MNIST's size normalization: the drawing scaled to fit 20 x 20 (aspect ratio kept) by area
    /// averaging, then placed in 28 x 28 with its centre of mass at MNIST's centre.
    static func fitAndCentre(_ mask: [Bool], width: Int, height: Int) -> [UInt8] {
        let scale = 20 / Double(max(width, height))
        let w = max(1, min(20, Int((Double(width) * scale).rounded()))), h = max(1, min(20, Int((Double(height) * scale).rounded())))
        let small = Plane(width: width, height: height, values: mask.map { $0 ? 1 : 0 }).resizedArea(width: w, height: h)
        return centred(small)
    }

    /// `small` (at most 20 x 20, values 0-1) placed in 28 x 28 with its centre of mass at MNIST's
    /// centre, as bytes: the last step of MNIST's size normalization, for a mask (`fitAndCentre`)
    /// and for grey ink alike (`MNISTSized`).
    static func centred(_ small: Plane) -> [UInt8] {
        let w = small.width, h = small.height
        var mass = 0.0, sx = 0.0, sy = 0.0
        for y in 0..<h {
            for x in 0..<w {
                let v = Double(small[x, y])
                mass += v; sx += v * Double(x); sy += v * Double(y)
            }
        }
        let cx = mass > 0 ? sx / mass : Double(w - 1) / 2, cy = mass > 0 ? sy / mass : Double(h - 1) / 2
        let ox = min(max(Int((mnistCentre.x - cx).rounded()), 0), 28 - w)
        let oy = min(max(Int((mnistCentre.y - cy).rounded()), 0), 28 - h)
        var out = [UInt8](repeating: 0, count: 28 * 28)
        for y in 0..<h {
            for x in 0..<w {
                out[(y + oy) * 28 + x + ox] = UInt8(max(0, min(255, (255 * small[x, y]).rounded())))
            }
        }
        return out
    }

    /// A 3 x 3 binomial blur ([1 2 1] / 4 each way), edges repeated.
    static func binomialBlur(_ p: Plane) -> Plane {
        let w = p.width, h = p.height
        var rows = [Float](repeating: 0, count: w * h), out = [Float](repeating: 0, count: w * h)
        p.values.withUnsafeBufferPointer { v in
            for y in 0..<h {
                for x in 0..<w {
                    let l = v[y * w + max(x - 1, 0)], c = v[y * w + x], r = v[y * w + min(x + 1, w - 1)]
                    rows[y * w + x] = 0.25 * l + 0.5 * c + 0.25 * r
                }
            }
        }
        for y in 0..<h {
            let up = max(y - 1, 0), down = min(y + 1, h - 1)
            for x in 0..<w { out[y * w + x] = 0.25 * rows[up * w + x] + 0.5 * rows[y * w + x] + 0.25 * rows[down * w + x] }
        }
        return Plane(width: w, height: h, values: out)
    }
}
