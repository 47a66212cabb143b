/// An image that is already MNIST's size (28 x 28 or smaller) and a clean drawing on a plain
/// background, read at its own resolution instead of being enlarged to the mnist pipeline's
/// working size (280) and put through the photograph steps. Those steps (fitting the lighting,
/// hysteresis, stroke thickening at 280 x 280) exist for photographs; on a 28 x 28 drawing they
/// cost about 10 ms and give back a binarized redrawing of what was already MNIST's kind of image.
///
/// The image is taken as it is when all of these hold, and otherwise left to the full pipeline
/// (`MNISTPipeline.run`, unchanged):
///
/// - both sides at most 28 and at least 8 pixels;
/// - the paper is plain: at least half the pixels lie within the pipeline's minimum contrast
///   (20 grey levels, 30 for colour) of the median, which is the paper's level, and the ink is all
///   on one side of it (pixels beyond that contrast on the other side are at most 5% of the ink);
/// - the digit (the ink beyond that contrast, its components chosen as the pipeline chooses them:
///   `MNISTPipeline.selectDigit`) has strokes wider than one pixel (`StrokeWidth.measure` at
///   least `thinnestStroke`): a line one pixel wide, which MNIST's digits do not have, needs the
///   pipeline's thickening. At 28 x 28 the measure moves in coarse steps (1, 1.8, 3 pixels), too
///   coarse to compare with `MNISTPipeline.thickenBelow` of MNIST's ratio: asking that turned
///   away MNIST test digits the pipeline itself leaves unthickened, so nothing finer is asked
///   (948 of MNIST's first 1,000 test digits are read here, `SmallUploadTests`).
///
/// Then the ink's strength (its distance from the paper's level, ink made positive) is kept as
/// grey, not binarized: the chosen components and their faint anti-aliased rim (pixels next to
/// them with any ink at all); fainter marks elsewhere, specks and far blobs are dropped. The
/// strongest ink becomes 255, and MNIST's normalization follows as in the pipeline: the digit's
/// box scaled to fit 20 x 20 keeping its aspect ratio (area averaging to shrink, bilinear to
/// enlarge, nothing when its longer side is already 20, as an MNIST digit's is) and its centre of
/// mass put at `MNISTPipeline.mnistCentre`. A digit from MNIST's own test set comes back nearly
/// unchanged.
public enum MNISTSized {
    /// The largest side read at its own resolution: MNIST's.
    public static let largestSide = 28
    /// Smaller pictures than this are left to the pipeline (there is no room for a digit and its paper).
    public static let smallestSide = 8
    /// Strokes measured thinner than this (one pixel wide) are left to the pipeline, which thickens them.
    public static let thinnestStroke = 1.5

    /// The 28 x 28 digit, or nil when `image` is not an MNIST-sized drawing on plain paper (see
    /// the type's conditions); nil means: use the full pipeline.
    public static func read(_ image: RasterImage) -> MNISTPipeline.Result? {
        let w = image.width, h = image.height, n = w * h
        guard w <= largestSide, h <= largestSide, w >= smallestSide, h >= smallestSide else { return nil }
        // Grey with the pipeline's luma weights.
        let grey = Plane.luma((0..<image.channels).map { Plane(width: w, height: h, values: image.channel($0)) }).values
        let paper = Plane.percentile(grey, 0.5)
        let contrast: Float = image.channels == 3 ? 30 : 20
        var above = 0, below = 0
        for v in grey { if v - paper > contrast { above += 1 } else if paper - v > contrast { below += 1 } }
        let inkIsDark = below > above
        let ink = max(above, below), other = min(above, below)
        // Plain paper: half the picture at the paper's level, ink on one side of it only.
        guard 2 * (n - above - below) >= n, ink >= 10, 20 * other <= ink else { return nil }
        let strength = grey.map { max(0, inkIsDark ? paper - $0 : $0 - paper) }
        guard let selection = MNISTPipeline.selectDigit(strength.map { $0 > contrast }, width: w, height: h) else { return nil }
        // One-pixel lines go to the pipeline, which thickens them (measured as the pipeline
        // measures strokes: the digit's mask with a pixel of paper around it).
        let (digitMask, pw, ph) = MNISTPipeline.padded(selection.mask, width: w, height: h, box: selection.box, by: 1)
        guard let stroke = StrokeWidth.measure(digitMask, width: pw, height: ph) else { return nil }
        let padSide = Double(max(pw, ph))
        guard stroke >= thinnestStroke else { return nil }
        // The digit's grey: its components and the faint rim next to them, which MNIST's digits
        // have from their own anti-aliasing.
        var kept = [Float](repeating: 0, count: n)
        var box = MNISTPipeline.Box(minX: w, minY: h, maxX: -1, maxY: -1)
        for y in 0..<h {
            for x in 0..<w where strength[y * w + x] > 0 {
                var near = false
                for yy in max(0, y - 1)...min(h - 1, y + 1) where !near {
                    for xx in max(0, x - 1)...min(w - 1, x + 1) where selection.mask[yy * w + xx] { near = true; break }
                }
                guard near else { continue }
                kept[y * w + x] = strength[y * w + x]
                box.minX = min(box.minX, x); box.maxX = max(box.maxX, x)
                box.minY = min(box.minY, y); box.maxY = max(box.maxY, y)
            }
        }
        let top = kept.max() ?? 0
        guard top > 0 else { return nil }
        let bw = box.maxX - box.minX + 1, bh = box.maxY - box.minY + 1
        var crop = [Float](repeating: 0, count: bw * bh)
        for y in 0..<bh { for x in 0..<bw { crop[y * bw + x] = kept[(y + box.minY) * w + x + box.minX] / top } }
        // MNIST's size normalization, as `MNISTPipeline.fitAndCentre` does it, on grey instead of a mask.
        let side = max(bw, bh)
        let scale = 20 / Double(side)
        let sw = max(1, min(20, Int((Double(bw) * scale).rounded()))), sh = max(1, min(20, Int((Double(bh) * scale).rounded())))
        var small = Plane(width: bw, height: bh, values: crop)
        if sw != bw || sh != bh {
            small = side > 20 ? small.resizedArea(width: sw, height: sh) : small.resizedBilinear(width: sw, height: sh)
        }
        return MNISTPipeline.Result(digit: MNISTPipeline.centred(small), inkIsDark: inkIsDark,
                                    strokeWidth: stroke * 20 / padSide, thickened: false, ruledLines: 0, mnistSized: true)
    }
}
