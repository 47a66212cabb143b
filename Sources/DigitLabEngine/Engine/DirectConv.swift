import Foundation

/// Direct (implicit-GEMM) convolution of NHWC images: forward, weight gradient and input
/// gradient, with no patch matrix.
///
/// Each pass is the product im2col + GEMM would make, computed by one register-blocked kernel
/// (`accumulateTile` in Tile.swift: six rows of the product by sixteen columns) that reads its left
/// operand straight from the images: a patch row is `kh` runs of `kw·c` contiguous floats (NHWC),
/// so the kernel follows six pointers, one per row, instead of reading an unfolded copy. Why: on
/// conv2's shapes (121 pixels x 64 filters x 576 taps an image), OpenBLAS packs both operands on
/// every call and zeroes its output before a product with an inner dimension of 64, and im2col
/// and col2im copy the patch matrix in and out: together about 15% of a case 7 epoch on a Zen 3
/// (`perf`), against 51% in OpenBLAS's multiplying kernel. Here the weights are read in place,
/// and the input gradient is added onto the images without a patch matrix.
///
/// Layouts are the engine's: NHWC images, the HWIO kernel read as a `[kh·kw·c, f]` matrix, and
/// outputs and their gradients `[pixels, f]` row-major. Filters (forward, weight gradient) and
/// input channels (input gradient) go `tileColumns` at a time (16 on AVX2, 32 on AVX-512):
/// `DirectConvolution.supports` says when a convolution fits. The first layer's one-channel
/// patches are short (9 taps), but a tile's filters for six pixels still fill the registers: its
/// products run at 66-76 GFLOP/s on one Zen 3 core, where OpenBLAS managed 11-39% of its rate.

/// When convolutions take the direct kernels.
public enum DirectConvolution {
    /// Whether convolutions that the kernels `support` take them (`Conv2D.Method.direct`). A
    /// build for AVX-512 (`make` on an AVX-512 machine defines `DIGITLAB_AVX512`) has kernels of
    /// thirty-two columns in 512-bit registers and always takes them. A build for AVX2 has
    /// sixteen-column kernels in 256-bit registers, and keeps OpenBLAS's products where OpenBLAS
    /// runs AVX-512 kernels (on a Zen 5 those reach 490 GFLOP/s against 270 with AVX2).
    /// `DIGITLAB_CONVOLUTION` set to `direct` or `im2col` decides instead, for comparisons.
    public static let enabled = chooses(coreName: BLASRuntime.coreName, environment: ProcessInfo.processInfo.environment)

    /// Whether this build's kernels use AVX-512 registers.
    public static let usesAVX512 = tileColumns == 32

    /// The rule behind `enabled`.
    public static func chooses(coreName: String, environment: [String: String], kernelsUseAVX512: Bool = usesAVX512) -> Bool {
        switch environment["DIGITLAB_CONVOLUTION"] {
        case "direct": true
        case "im2col": false
        default: kernelsUseAVX512 || !BLASRuntime.avx512Cores.contains(coreName)
        }
    }

    /// True for a stride of 1 when filters are a multiple of `tileColumns`, the kernels' column
    /// width, and so are the input channels if the `inputGradient` is needed (its columns are
    /// channels).
    public static func supports(_ g: ConvGeometry, filters: Int, inputGradient: Bool) -> Bool {
        g.stride == 1 && filters % tileColumns == 0 && (!inputGradient || g.channels % tileColumns == 0)
    }
}

/// Pointers to the patches (their top-left input pixels) of output pixels `q ..< q + count`,
/// counted from the first image at `images`; missing rows repeat the last. One division finds the
/// first pixel and the others step from it: on conv1's short patches, a division per row cost as
/// much as the products.
@inline(__always)
private func patchCorners(_ images: UnsafePointer<Float>, first q: Int, count: Int, _ g: ConvGeometry) -> RowPointers {
    let image = q / g.patchesPerImage, r = q % g.patchesPerImage
    var oy = r / g.outWidth, ox = r % g.outWidth, row = image * g.height + oy
    var i = 0
    func next() -> Int {
        defer {
            i += 1
            if i < count {
                ox += 1
                if ox == g.outWidth {
                    ox = 0; oy += 1; row += 1
                    // Past an image's last output row: on to the next image's first.
                    if oy == g.outHeight { oy = 0; row += g.height - g.outHeight }
                }
            }
        }
        return (row * g.width + ox) * g.channels
    }
    let offsets = (next(), next(), next(), next(), next(), next())
    return RowPointers(base: images, offsets: offsets)
}

/// `out[p, f] = bias[f] + Σ_k patch(p)[k] · kernel[k, f]` for the output pixels of `images`, on
/// the calling thread: what im2col and `col · W + b` give, without the patch matrix.
/// `kernelFilterBlocks` is the kernel in blocks of `tileColumns` filters (`packFilterBlocks` with `taps` rows), so that a
/// tile's right operand is one contiguous run rather than 64-byte pieces a kernel row apart
/// (conv2: 89 -> 98 GFLOP/s on one Zen 3 core).
public func convolveDirect(_ input: UnsafePointer<Float>, images: Range<Int>, geometry g: ConvGeometry,
                           kernelFilterBlocks: UnsafePointer<Float>, bias: UnsafePointer<Float>, filters f: Int,
                           into output: UnsafeMutablePointer<Float>) {
    let perImage = g.patchesPerImage
    convolveDirect(input, pixels: images.lowerBound * perImage..<images.upperBound * perImage, geometry: g,
                   kernelFilterBlocks: kernelFilterBlocks, bias: bias, filters: f,
                   into: output + images.lowerBound * perImage * f)
}

/// `convolveDirect(_:images:…)` for output pixels `pixels` (counted over the images of `input`,
/// image after image, row by row), written to `out` as `[pixels.count, f]`: a few output rows of
/// one image, for a stage that pools them while they are in cache. Only the first `columns` of each
/// output row are computed and written (the rest of `out` is left as it was): a pooling's windows
/// may cover fewer than all (conv2's 10 of 11).
///
/// Zeros in the input are skipped twice over. A patch whose inputs are all zero (`InputMasks`)
/// gets its bias with no multiplies: MNIST's blank background leaves about 63% of conv1's patches
/// so. The others go six to a tile in raster order, and a tile skips the steps (taps) whose six
/// inputs are all zero (`ZeroSteps`): most of conv2's, once training has made its inputs sparse.
/// The bytes are those of computing every product: each output is its own tile row, summed in the
/// same order whichever patches share its tile, and a skipped product has a zero factor, which
/// leaves a sum as it was. Only a NaN or infinity in the kernel would differ (times zero it makes
/// NaN), and a run whose weights hold one is lost either way.
public func convolveDirect(_ input: UnsafePointer<Float>, pixels: Range<Int>, geometry g: ConvGeometry,
                           kernelFilterBlocks: UnsafePointer<Float>, bias: UnsafePointer<Float>, filters f: Int,
                           columns: Int? = nil, into out: UnsafeMutablePointer<Float>) {
    guard !pixels.isEmpty else { return }
    // The masks and step bits are a few hundred words at most: on the stack, not the heap, in
    // this hot loop.
    let stepWords = ZeroSteps.wordCount(geometry: g)
    withUnsafeTemporaryAllocation(of: UInt64.self,
                                  capacity: stepWords + InputMasks.wordCount(pixels: pixels, geometry: g, channelBits: stepWords > 0)) { scratch in
        let zeroSteps = ZeroSteps(geometry: g, words: scratch.baseAddress!)
        let masks = InputMasks(input, pixels: pixels, geometry: g, channelBits: stepWords > 0, words: scratch.baseAddress! + stepWords)
        let run = g.kernelWidth * g.channels, rowStride = g.width * g.channels, taps = g.patchSize
        let width = min(columns ?? g.outWidth, g.outWidth)
        // Up to six patches waiting for a tile: their offsets in `input` and in `out`, and their
        // top-left pixels in `masks`.
        var corners = (0, 0, 0, 0, 0, 0), outputs = (0, 0, 0, 0, 0, 0), maskPixels = (0, 0, 0, 0, 0, 0), waiting = 0
        func computeWaiting() {
            let rows = RowPointers(base: input, offsets: corners)
            let results = RowPointers(base: out, offsets: outputs)
            let skipping = zeroSteps.find(masks, patches: maskPixels)
            for fb in stride(from: 0, to: f, by: tileColumns) {
                var tile = Tile(repeating: TileRow(bias + fb))
                let block = kernelFilterBlocks + fb * taps
                if skipping {
                    zeroSteps.accumulateNonzeroSteps(&tile, rows, block, rowStride: rowStride)
                } else if g.kernelHeight == 3 && run == 3 {
                    // conv1's one-channel 3x3 patches with constant sizes, so that its nine steps unroll.
                    accumulatePatch(&tile, rows, block, rowStride: rowStride, kernelHeight: 3, run: 3)
                } else {
                    accumulatePatch(&tile, rows, block, rowStride: rowStride, kernelHeight: g.kernelHeight, run: run)
                }
                tile.store(to: RowPointers(shifting: results, by: fb), count: waiting)
            }
            waiting = 0
        }
        var q = pixels.lowerBound
        while q < pixels.upperBound {
            let image = q / g.patchesPerImage, r = q % g.patchesPerImage
            let oy = r / g.outWidth, firstColumn = r % g.outWidth
            let rowEnd = min(q - firstColumn + g.outWidth, pixels.upperBound)
            let nonblank = masks.nonblankColumns(image: image, outputRow: oy)
            for ox in firstColumn..<min(firstColumn + rowEnd - q, width) {
                let o = (q - firstColumn + ox - pixels.lowerBound) * f
                guard nonblank.contains(ox) else {
                    copyFloats(bias, out + o, count: f)
                    continue
                }
                let corner = ((image * g.height + oy) * g.width + ox) * g.channels
                let pixel = masks.pixel(image: image, row: oy, column: ox)
                switch waiting {
                case 0: corners = (corner, corner, corner, corner, corner, corner); outputs = (o, o, o, o, o, o)
                    maskPixels = (pixel, pixel, pixel, pixel, pixel, pixel)
                case 1: corners.1 = corner; outputs.1 = o; maskPixels.1 = pixel
                case 2: corners.2 = corner; outputs.2 = o; maskPixels.2 = pixel
                case 3: corners.3 = corner; outputs.3 = o; maskPixels.3 = pixel
                case 4: corners.4 = corner; outputs.4 = o; maskPixels.4 = pixel
                default: corners.5 = corner; outputs.5 = o; maskPixels.5 = pixel
                }
                waiting += 1
                if waiting == tileRows { computeWaiting() }
            }
            q = rowEnd
        }
        if waiting > 0 {
            // Missing rows repeat the first (the tile reads them but stores only `waiting`).
            computeWaiting()
        }
    }
}

/// The steps of a tile (one tap of the kernel for six patches) whose six inputs are all zero, as
/// a bit per tap, a row of words per kernel row, for patch rows of whole 16-float vectors
/// (`kw·c` a multiple of 16: conv2, conv3); made from the input's channel bits (`InputMasks`),
/// so each input pixel is looked at once, not once for every tile that reads it. Behind a ReLU
/// and a pooling, most of a channel's inputs can be zero together: a trained case 7 model leaves
/// 80% of conv2's inputs zero, and 73% of its steps have all six zero (case 1 after 20 epochs:
/// 75% and 52%; after one epoch on a few thousand images, about 9%).
struct ZeroSteps {
    private let words: UnsafeMutablePointer<UInt64>
    private let wordsPerRow: Int, run: Int, kernelHeight: Int, kernelWidth: Int, channels: Int, inputWidth: Int
    /// Above this many nonzero steps of every 64, the tile takes the dense loop (whose inner
    /// loop is shorter), with the same bytes.
    static let densestSkipped = 56

    /// The words `init` needs for `g`: a row per kernel row, none where the shape does not fit.
    static func wordCount(geometry g: ConvGeometry) -> Int { g.kernelHeight * wordsPerRow(geometry: g) }

    private static func wordsPerRow(geometry g: ConvGeometry) -> Int {
        let run = g.kernelWidth * g.channels
        return run % 16 == 0 ? (run + 63) / 64 : 0
    }

    /// Step bits for `g` in `words` (`wordCount(geometry:)` of them, the caller's).
    init(geometry g: ConvGeometry, words: UnsafeMutablePointer<UInt64>) {
        run = g.kernelWidth * g.channels
        kernelHeight = g.kernelHeight
        kernelWidth = g.kernelWidth
        channels = g.channels
        inputWidth = g.width
        wordsPerRow = ZeroSteps.wordsPerRow(geometry: g)
        self.words = words
    }

    /// Finds the zero steps of the six patches whose top-left pixels are `patches` in `inputs`
    /// (`InputMasks.pixel`); false (take the dense loop) where the shape does not fit or too few
    /// steps are zero. Step `kx·c + ch` of kernel row `ky` is nonzero where channel `ch` of the
    /// pixel `ky` rows down and `kx` across from any of the six corners is.
    func find(_ inputs: InputMasks, patches p: (Int, Int, Int, Int, Int, Int)) -> Bool {
        guard wordsPerRow > 0 else { return false }
        var nonzero = 0
        for ky in 0..<kernelHeight {
            let row = words + ky * wordsPerRow
            row.update(repeating: 0, count: wordsPerRow)
            for kx in 0..<kernelWidth {
                let shift = ky * inputWidth + kx
                for word in 0..<inputs.wordsPerPixel {
                    let any = inputs.channelBits(p.0 + shift, word) | inputs.channelBits(p.1 + shift, word)
                        | inputs.channelBits(p.2 + shift, word) | inputs.channelBits(p.3 + shift, word)
                        | inputs.channelBits(p.4 + shift, word) | inputs.channelBits(p.5 + shift, word)
                    // Channels `64·word ...` of tap `kx` are steps `kx·c + 64·word ...`, which may
                    // straddle two words of the row.
                    let step = kx * channels + 64 * word, at = step / 64, offset = UInt64(step % 64)
                    row[at] |= any << offset
                    if offset != 0 && at + 1 < wordsPerRow { row[at + 1] |= any >> (64 - offset) }
                }
            }
            for w in 0..<wordsPerRow { nonzero += row[w].nonzeroBitCount }
        }
        return nonzero * 64 <= ZeroSteps.densestSkipped * kernelHeight * run
    }

    /// `accumulatePatch` over the steps `find` left, in the same order: the same sums, since each
    /// skipped step would add six products with a zero factor.
    @inline(__always)
    func accumulateNonzeroSteps(_ tile: inout Tile, _ rows: RowPointers, _ block: UnsafePointer<Float>, rowStride: Int) {
        var sums = tile
        for ky in 0..<kernelHeight {
            let a = RowPointers(shifting: rows, by: ky * rowStride), b = block + ky * run * tileColumns
            for word in 0..<wordsPerRow {
                var bits = words[ky * wordsPerRow + word]
                while bits != 0 {
                    let j = word * 64 + bits.trailingZeroBitCount
                    bits &= bits - 1
                    sums.add(a, at: j, times: TileRow(b + j * tileColumns))
                }
            }
        }
        tile = sums
    }
}

/// Which inputs are nonzero, for the input rows a range of output pixels reads: a bit per pixel
/// (any channel nonzero), a word per input row, from which `nonblankColumns` finds the patches
/// that hold a nonzero input, and where `ZeroSteps` is used, a bit per channel of each pixel
/// (`wordsPerPixel` words a pixel), from which it finds a tile's zero steps. Images wider than 64
/// pixels count every patch as nonblank (every row bit set, and no bit past the 64th).
///
/// The channel bits are only made where they are used: on conv1's one-channel rows a pixel's
/// bits cost as much as its products, and a row of pixel bits alone stops at a pixel's first
/// nonzero channel.
struct InputMasks {
    private let rowBits: UnsafeMutablePointer<UInt64>
    private let pixelBits: UnsafeMutablePointer<UInt64>
    /// Words of channel bits a pixel: one per 64 channels.
    let wordsPerPixel: Int
    private let firstRow: Int
    private let g: ConvGeometry

    /// The input row (counted over the images) where the patch of output pixel `q` starts.
    private static func inputRow(_ q: Int, geometry g: ConvGeometry) -> Int {
        (q / g.patchesPerImage) * g.height + (q % g.patchesPerImage) / g.outWidth
    }

    private static func rowCount(pixels: Range<Int>, geometry g: ConvGeometry) -> Int {
        inputRow(pixels.upperBound - 1, geometry: g) + g.kernelHeight - inputRow(pixels.lowerBound, geometry: g)
    }

    /// The words `init` needs for output pixels `pixels`: for each input row they read, one word
    /// of pixel bits and, with `channelBits`, `wordsPerPixel` of channel bits per pixel.
    static func wordCount(pixels: Range<Int>, geometry g: ConvGeometry, channelBits: Bool) -> Int {
        rowCount(pixels: pixels, geometry: g) * (1 + (channelBits ? g.width * ((g.channels + 63) / 64) : 0))
    }

    /// Finds the nonzero inputs of the rows `pixels` read, into `words`
    /// (`wordCount(pixels:geometry:channelBits:)` of them, the caller's); the channel bits only
    /// with `channelBits`.
    init(_ input: UnsafePointer<Float>, pixels: Range<Int>, geometry g: ConvGeometry, channelBits: Bool,
         words: UnsafeMutablePointer<UInt64>) {
        self.g = g
        wordsPerPixel = channelBits ? (g.channels + 63) / 64 : 0
        firstRow = InputMasks.inputRow(pixels.lowerBound, geometry: g)
        let rows = InputMasks.rowCount(pixels: pixels, geometry: g)
        rowBits = words
        pixelBits = words + rows
        for row in 0..<rows {
            // Wider images than a word's 64 columns need no pixel bits (every patch counts as
            // nonblank), only their channel bits if any.
            guard g.width <= 64 || channelBits else { rowBits[row] = ~0; continue }
            let rowStart = input + (firstRow + row) * g.width * g.channels
            var mask: UInt64 = 0
            for x in 0..<g.width {
                let pixel = rowStart + x * g.channels
                var any = false
                if channelBits {
                    for word in 0..<wordsPerPixel {
                        let bits = nonzeroBits(pixel + 64 * word, count: min(64, g.channels - 64 * word))
                        pixelBits[(row * g.width + x) * wordsPerPixel + word] = bits
                        any = any || bits != 0
                    }
                } else {
                    for ch in 0..<g.channels where pixel[ch] != 0 { any = true; break }
                }
                if any && x < 64 { mask |= 1 << UInt64(x) }
            }
            rowBits[row] = g.width <= 64 ? mask : ~0
        }
    }

    /// Where pixel (`row`, `column`) of `image` is among the pixels `channelBits` knows.
    @inline(__always)
    func pixel(image: Int, row y: Int, column x: Int) -> Int { (image * g.height + y - firstRow) * g.width + x }

    /// Word `word` of the channel bits of `pixel` (`pixel(image:row:column:)`, or a pixel that
    /// many rows and columns on): bit `ch` set where channel `64·word + ch` is nonzero.
    @inline(__always)
    func channelBits(_ pixel: Int, _ word: Int) -> UInt64 { pixelBits[pixel * wordsPerPixel + word] }

    /// The columns of output row `outputRow` of `image` whose patches hold a nonzero input.
    func nonblankColumns(image: Int, outputRow oy: Int) -> NonblankColumns {
        let top = image * g.height + oy - firstRow
        var rows: UInt64 = 0
        for ky in 0..<g.kernelHeight { rows |= rowBits[top + ky] }
        var columns: UInt64 = 0
        for kx in 0..<g.kernelWidth { columns |= rows >> UInt64(kx) }
        return NonblankColumns(bits: columns)
    }

    /// A bit per output column, set where its patch holds a nonzero input; a column past the
    /// 64th has no bit and counts as nonblank (Swift's `>>` by 64 or more would give 0: blank).
    struct NonblankColumns {
        let bits: UInt64

        func contains(_ column: Int) -> Bool { column >= 64 || bits >> UInt64(column) & 1 != 0 }
    }
}

/// Adds to `tile` the products of six patches (top-left pixels at `corners`: `kernelHeight`
/// runs of `run` floats, `rowStride` apart) with a block of `tileColumns` filters.
@inline(__always)
private func accumulatePatch(_ tile: inout Tile, _ corners: RowPointers, _ block: UnsafePointer<Float>,
                             rowStride: Int, kernelHeight: Int, run: Int) {
    for ky in 0..<kernelHeight {
        accumulateTile(&tile, RowPointers(shifting: corners, by: ky * rowStride), aStride: 1,
                       block + ky * run * tileColumns, bStride: tileColumns, count: run)
    }
}

/// `kernelGradient[k, f] += Σ_p patch(p)[k] · gradOutput[p, f]` over the output pixels of
/// `images`, on the calling thread: what `colᵀ · dOut` gives, without the patch matrix. The tile's
/// six rows are six taps; its inner loop runs along an output row, one pixel (`c` floats) a step.
/// The output gradient comes as `gradientBlocks`, the images' `[pixels, f]` gradient in filter
/// blocks (`packFilterBlocks`), so that each step's filters are contiguous with the next
/// pixel's: conv2's weight gradient ran at 65-77 GFLOP/s on one Zen 3 core reading the gradient
/// in place, 85-87 from blocks (the copy included).
///
/// Pixels whose patches are blank (`InputMasks`: MNIST's background leaves about 63% of conv1's
/// so) are skipped: along each output row the kernel runs only over the stretches of nonblank
/// pixels. Same bytes: a skipped term is a zero input times a gradient, ±0, and a sum that began
/// at +0 is never -0, so adding ±0 leaves it as it was (an infinite or NaN gradient would differ,
/// as for the forward pass's skips).
public func convolveDirectWeightGradient(_ input: UnsafePointer<Float>, gradientBlocks: UnsafePointer<Float>,
                                         images: Range<Int>, geometry g: ConvGeometry, filters f: Int,
                                         kernelGradient: UnsafeMutablePointer<Float>) {
    guard !images.isEmpty else { return }
    let run = g.kernelWidth * g.channels, rowStride = g.width * g.channels
    let taps = g.patchSize, imageStride = g.height * rowStride
    let pixels = images.count * g.patchesPerImage
    let outputPixels = images.lowerBound * g.patchesPerImage..<images.upperBound * g.patchesPerImage
    // Every output column of a row, as bits (a row wider than 64 has no bits: every column runs).
    let wholeRow: UInt64 = g.outWidth >= 64 ? ~0 : (1 << UInt64(g.outWidth)) - 1
    withUnsafeTemporaryAllocation(of: UInt64.self,
                                  capacity: InputMasks.wordCount(pixels: outputPixels, geometry: g, channelBits: false)) { words in
        let masks = InputMasks(input, pixels: outputPixels, geometry: g, channelBits: false, words: words.baseAddress!)
        for k in stride(from: 0, to: taps, by: tileRows) {
            let rows = min(tileRows, taps - k)
            let offsets = RowPointers(base: input, first: k, count: rows) { ($0 / run) * rowStride + $0 % run }
            for fb in stride(from: 0, to: f, by: tileColumns) {
                let dW = kernelGradient + k * f + fb
                var tile = Tile(dW, stride: f, count: rows)
                for (i, b) in images.enumerated() {
                    for oy in 0..<g.outHeight {
                        let a = RowPointers(shifting: offsets, by: b * imageStride + oy * rowStride)
                        let dOut = gradientBlocks + fb * pixels + (i * g.patchesPerImage + oy * g.outWidth) * tileColumns
                        guard g.outWidth <= 64 else {
                            accumulateTile(&tile, a, aStride: g.channels, dOut, bStride: tileColumns, count: g.outWidth)
                            continue
                        }
                        var columns = masks.nonblankColumns(image: b, outputRow: oy).bits & wholeRow
                        while columns != 0 {
                            // The next stretch of nonblank columns: `first ..< end`.
                            let first = columns.trailingZeroBitCount
                            let end = first + (~(columns >> UInt64(first))).trailingZeroBitCount
                            accumulateTile(&tile, RowPointers(shifting: a, by: first * g.channels), aStride: g.channels,
                                           dOut + first * tileColumns, bStride: tileColumns, count: end - first)
                            columns = end >= 64 ? 0 : columns & ~((1 << UInt64(end)) - 1)
                        }
                    }
                }
                tile.store(to: dW, stride: f, count: rows)
            }
        }
    }
}

/// Writes the row-major `[rows, f]` matrix `m` (`f` a multiple of `tileColumns`, W) as `f / W`
/// blocks of `[rows, W]`: block `j` holds columns `Wj ..< Wj + W` of every row, row after row. The
/// direct kernels read W columns a step, so this turns a walk down the rows into one contiguous
/// stream. With `only`, just those rows are written (the rest of `packed` is left as it was), so
/// that threads can share the work.
public func packFilterBlocks(_ m: UnsafePointer<Float>, rows: Int, filters f: Int,
                             into packed: UnsafeMutablePointer<Float>, only: Range<Int>? = nil) {
    precondition(f % tileColumns == 0, "filter blocks need a multiple of \(tileColumns) columns, not \(f)")
    for r in only ?? 0..<rows {
        for fb in stride(from: 0, to: f, by: tileColumns) { TileRow(m + r * f + fb).store(to: packed + fb * rows + r * tileColumns) }
    }
}

/// `inputGradient[corner(p) + k] = Σ_p Σ_f gradOutput[p, f] · kernel[k, f]` for the images of
/// `images`, which are overwritten, on the calling thread: what `dOut · Wᵀ` and col2im give,
/// without the patch matrix. The output gradient comes as `gradientBlocks` (see
/// `convolveDirectWeightGradient`) and the kernel as `kernelTapBlocks` (`packKernelTapBlocks`), so
/// that both operands are read contiguously. The tile's six rows are six output pixels; each tile
/// of sums is added onto the six patches' pixels it belongs to.
public func convolveDirectInputGradient(gradientBlocks: UnsafePointer<Float>, images: Range<Int>,
                                        geometry g: ConvGeometry, kernelTapBlocks: UnsafePointer<Float>,
                                        filters f: Int, into inputGradient: UnsafeMutablePointer<Float>) {
    let run = g.kernelWidth * g.channels, rowStride = g.width * g.channels
    let taps = g.patchSize, imageFloats = g.height * rowStride
    let first = inputGradient + images.lowerBound * imageFloats
    first.update(repeating: 0, count: images.count * imageFloats)
    let pixels = images.count * g.patchesPerImage
    for q in stride(from: 0, to: pixels, by: tileRows) {
        let rows = min(tileRows, pixels - q)
        let a = RowPointers(base: gradientBlocks, first: q, count: rows) { $0 * tileColumns }
        let corners = patchCorners(first, first: q, count: rows, g)
        for k in stride(from: 0, to: taps, by: tileColumns) {
            let shift = (k / run) * rowStride + k % run
            let dx = RowPointers(shifting: corners, by: shift)
            var tile = Tile(dx)
            for fb in stride(from: 0, to: f, by: tileColumns) {
                accumulateTile(&tile, RowPointers(shifting: a, by: fb * pixels), aStride: 1,
                               kernelTapBlocks + k * f + fb * tileColumns, bStride: tileColumns, count: tileColumns)
            }
            tile.store(to: dx, count: rows)
        }
    }
}

/// Writes the HWIO kernel `[kh·kw·c, f]` (`taps` a multiple of `tileColumns`, W) as `taps / W`
/// blocks of `[f, W]`, for `convolveDirectInputGradient`: block `k / W` holds taps `k ..< k + W`
/// of every filter, filter after filter, so the kernel's inner loop over filters reads one
/// contiguous block where the transpose `[f, taps]` had it stride 2.3 KB a step (conv2's input
/// gradient: 87 -> 93 GFLOP/s on one Zen 3 core). With `only`, just those taps are written.
public func packKernelTapBlocks(_ kernel: UnsafePointer<Float>, taps: Int, filters f: Int,
                                into packed: UnsafeMutablePointer<Float>, only: Range<Int>? = nil) {
    precondition(taps % tileColumns == 0, "tap blocks need a multiple of \(tileColumns) taps, not \(taps)")
    let range = only ?? 0..<taps
    var k = range.lowerBound
    while k < range.upperBound {
        // The taps of `range` in block `k / W`: a transpose of those kernel rows into the block.
        let end = min(range.upperBound, (k / tileColumns + 1) * tileColumns)
        transpose(kernel + k * f, rows: end - k, columns: f, sourceStride: f,
                  into: packed + (k / tileColumns) * f * tileColumns + k % tileColumns, destinationStride: tileColumns)
        k = end
    }
}

/// `sums[j] += Σ_r m[r, j]` for a matrix in filter blocks (`packFilterBlocks`): the bias gradient
/// of a direct convolution, row after row as `addColumnSums` adds them, so the same numbers.
func addBlockColumnSums(_ blocks: UnsafePointer<Float>, rows: Int, filters f: Int, into sums: UnsafeMutablePointer<Float>) {
    for fb in stride(from: 0, to: f, by: tileColumns) {
        var total = TileRow(sums + fb)
        let block = blocks + fb * rows
        for r in 0..<rows { total = total + TileRow(block + r * tileColumns) }
        total.store(to: sums + fb)
    }
}
