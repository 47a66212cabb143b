/// Winograd's minimal filtering F(2x2, 3x3) for 3x3, stride-1 convolutions of NHWC images
/// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
///
/// A 2x2 block of outputs of one channel pair is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`, where `d` is the
/// 4x4 input tile under it and `g` the 3x3 kernel: 16 multiplies where the direct product does 36.
/// Summed over input channels, the element-wise products become 16 independent matrix products
/// per batch of tiles, `M[ξν] = V[ξν] · U[ξν]` (tiles x channels times channels x filters), which
/// run on the direct kernels' register tile (`accumulateTile`): six tiles by `tileColumns`
/// filters, the transformed kernel in blocks of `tileColumns` columns like `packFilterBlocks`.
///
/// Six tiles at a time, on the calling thread: their input transform (`[16, 6, channels]`, 24 KB
/// for 64 channels, in L1), the 16 products of each filter block into a `[16, 6, tileColumns]`
/// buffer, and the output transform of that buffer, with the bias, straight into the output; the
/// transformed tiles never leave the core's cache. The kernel's transform (`packWinogradKernel`,
/// `[16, channels, filters]`) is made once per pass, not per tile. Output sizes that are not
/// even (conv2's 11x11) end in partial tiles: their input past the image reads as zeros and their
/// outputs past it are not written.
///
/// The input gradient of a valid convolution is the full correlation of the output gradient with
/// the kernel turned 180 degrees and its channels swapped: the same computation on the output
/// gradient read with two zero rows and columns around it (`padding: 2`) and the kernel packed
/// `rotated`. The weight gradient stays on the direct kernels.
///
/// Rounding: the transforms add and subtract tile values (and halve kernel values), so each output
/// is a different float32 sum of the same products than the direct kernels'; the tests measure
/// the difference on the paper's shapes (WinogradTests).

/// When a convolution can take the Winograd kernels.
public enum WinogradConvolution {
    /// Outputs along each side of a tile.
    public static let tileSize = 2
    /// Input pixels along each side of a tile: `tileSize + 2`.
    static let inputTileSize = 4
    /// Entries of a transformed tile: one matrix product each.
    static let points = 16
    /// Tiles one call of the register kernel takes.
    static let tilesPerGroup = tileRows

    /// True for a 3x3 kernel at stride 1 whose filters and input channels are multiples of
    /// `tileColumns` (the products' columns are filters forward and channels backward; the input
    /// transform runs sixteen channels at a time).
    public static func supports(_ g: ConvGeometry, filters: Int) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1
            && filters % tileColumns == 0 && g.channels % tileColumns == 0
    }

    /// Floats of a transformed kernel of `channels` x `filters`.
    public static func kernelFloats(channels: Int, filters: Int) -> Int { points * channels * filters }

    /// Floats of the per-thread buffer `winogradConvolve` works in, for products over `channels`.
    public static func scratchFloats(channels: Int) -> Int { points * tilesPerGroup * (channels + tileColumns) }
}

/// `G g Gᵀ` for the 3x3 kernel `g(row, column)`, in double precision, each of its 16 entries
/// (row-major) passed to `put(point, value)`; G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
@inline(__always)
private func transformKernel(_ g: (Int, Int) -> Double, _ put: (Int, Double) -> Void) {
    // G g, column by column: a(i, j) for i < 4, j < 3.
    @inline(__always) func gColumn(_ j: Int) -> (Double, Double, Double, Double) {
        let (g0, g1, g2) = (g(0, j), g(1, j), g(2, j))
        return (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
    }
    let (c0, c1, c2) = (gColumn(0), gColumn(1), gColumn(2))
    // (G g) Gᵀ, row by row.
    @inline(__always) func row(_ i: Int, _ a0: Double, _ a1: Double, _ a2: Double) {
        put(4 * i, a0); put(4 * i + 1, (a0 + a1 + a2) / 2); put(4 * i + 2, (a0 - a1 + a2) / 2); put(4 * i + 3, a2)
    }
    row(0, c0.0, c1.0, c2.0); row(1, c0.1, c1.1, c2.1); row(2, c0.2, c1.2, c2.2); row(3, c0.3, c1.3, c2.3)
}

/// Transforms the HWIO 3x3 kernel `[3, 3, c, f]` for `winogradConvolve`: `[16, columns / W,
/// rows, W]` (W = `tileColumns`), point `ξν`'s `rows x columns` matrix in blocks of W columns, so
/// that a product's right operand is one contiguous run. Forward the rows are the `c` input
/// channels and the columns the `f` filters; `rotated` (for the input gradient) the kernel is
/// turned 180 degrees and the rows are the filters, the columns the channels.
public func packWinogradKernel(_ kernel: UnsafePointer<Float>, channels c: Int, filters f: Int, rotated: Bool,
                               into packed: UnsafeMutablePointer<Float>) {
    let (rows, columns) = rotated ? (f, c) : (c, f)
    precondition(columns % tileColumns == 0, "Winograd kernel blocks need a multiple of \(tileColumns) columns, not \(columns)")
    let w = tileColumns, blocks = columns / w
    for r in 0..<rows {
        for col in 0..<columns {
            let (ci, co) = rotated ? (col, r) : (r, col)
            let out = packed + (col / w * rows + r) * w + col % w, pointStride = blocks * rows * w
            transformKernel({ y, x in
                let tap = rotated ? 8 - (3 * y + x) : 3 * y + x
                return Double(kernel[(tap * c + ci) * f + co])
            }, { point, value in out[point * pointStride] = Float(value) })
        }
    }
}

/// The images `images` of `source` (`[n, height, width, channels]`, read with `padding` zero rows
/// and columns around each image) correlated with a 3x3 kernel packed by `packWinogradKernel`
/// (`channels` rows, `columns` columns): `output[b, y, x, j] = bias[j] + Σ_{ky, kx, i}
/// source[b, y + ky - padding, x + kx - padding, i] · kernel[ky, kx, i, j]` for `y < outHeight`,
/// `x < outWidth`, overwriting those images of `output` (`[n, outHeight, outWidth, columns]`); no
/// bias when it is nil. With a `region`, only the outputs with `y < region.height` and `x <
/// region.width` are computed and written (the rest of `output` is left as it was): those a
/// pooling after the convolution reads. On the calling thread, with `scratch` of
/// `WinogradConvolution.scratchFloats(channels:)` floats.
///
/// Forward, `padding` is 0 and the output is the valid convolution's; for the input gradient the
/// source is the output gradient, `padding` 2, the kernel packed `rotated`, and the output the
/// input's size.
public func winogradConvolve(_ source: UnsafePointer<Float>, images: Range<Int>, height: Int, width: Int, channels c: Int,
                             padding: Int, packedKernel: UnsafePointer<Float>, bias: UnsafePointer<Float>?, columns n: Int,
                             outHeight: Int, outWidth: Int, region: (height: Int, width: Int)? = nil,
                             into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
    precondition(c % Lanes.scalarCount == 0 && n % tileColumns == 0, "Winograd products over \(c) channels into \(n) columns")
    let group = WinogradConvolution.tilesPerGroup, points = WinogradConvolution.points, w = tileColumns
    let computed = (height: min(region?.height ?? outHeight, outHeight), width: min(region?.width ?? outWidth, outWidth))
    let tilesDown = (computed.height + 1) / 2, tilesAcross = (computed.width + 1) / 2, tilesPerImage = tilesDown * tilesAcross
    let transformed = scratch, products = scratch + points * group * c
    let tiles = images.count * tilesPerImage
    /// Tile `t` of the images: its image and its top-left output pixel.
    @inline(__always) func corner(_ t: Int) -> (image: Int, y: Int, x: Int) {
        let r = t % tilesPerImage
        return (images.lowerBound + t / tilesPerImage, 2 * (r / tilesAcross), 2 * (r % tilesAcross))
    }
    for first in stride(from: 0, to: tiles, by: group) {
        let count = min(group, tiles - first)
        for slot in 0..<count {
            let (b, y, x) = corner(first + slot)
            transformInputTile(source, image: b, top: y - padding, left: x - padding,
                               height: height, width: width, channels: c,
                               into: transformed + slot * c, pointStride: group * c)
        }
        let rows = RowPointers(base: transformed, first: 0, count: count) { $0 * c }
        for block in stride(from: 0, to: n, by: w) {
            for point in 0..<points {
                var tile = Tile(repeating: .zero)
                accumulateTile(&tile, RowPointers(shifting: rows, by: point * group * c), aStride: 1,
                               packedKernel + (point * (n / w) + block / w) * c * w, bStride: w, count: c)
                tile.store(to: products + point * group * w, stride: w, count: count)
            }
            for slot in 0..<count {
                let (b, y, x) = corner(first + slot)
                transformOutputTile(products + slot * w, pointStride: group * w, bias: bias.map { $0 + block },
                                    into: output + block, image: b, top: y, left: x, outHeight: outHeight, outWidth: outWidth,
                                    rows: min(2, computed.height - y), across: min(2, computed.width - x), columns: n)
            }
        }
    }
}

/// Four vectors of lanes: a row (or column) of a tile, sixteen channels each.
private struct Quad {
    var v0, v1, v2, v3: Lanes

    @inline(__always)
    static func + (a: Quad, b: Quad) -> Quad { Quad(v0: a.v0 + b.v0, v1: a.v1 + b.v1, v2: a.v2 + b.v2, v3: a.v3 + b.v3) }

    @inline(__always)
    static func - (a: Quad, b: Quad) -> Quad { Quad(v0: a.v0 - b.v0, v1: a.v1 - b.v1, v2: a.v2 - b.v2, v3: a.v3 - b.v3) }
}

/// `Bᵀ d B` for the 4x4 tile of image `b` whose top-left pixel is (`top`, `left`) (pixels outside
/// the image read as zero), sixteen channels at a time: point `ξν` of channel `i` goes to
/// `out[ξν·pointStride + i]`. Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
@inline(__always)
private func transformInputTile(_ source: UnsafePointer<Float>, image b: Int, top: Int, left: Int,
                                height: Int, width: Int, channels c: Int,
                                into out: UnsafeMutablePointer<Float>, pointStride: Int) {
    // Bit 4i + j: pixel (top + i, left + j) lies in the image.
    var inside = 0
    for i in 0..<4 where (0..<height).contains(top + i) {
        for j in 0..<4 where (0..<width).contains(left + j) { inside |= 1 << (4 * i + j) }
    }
    let zero = Lanes(repeating: 0), rowStride = width * c
    let corner = ((b * height + top) * width + left) * c
    for ch in stride(from: 0, to: c, by: Lanes.scalarCount) {
        @inline(__always) func d(_ i: Int, _ j: Int) -> Lanes {
            inside & (1 << (4 * i + j)) == 0 ? zero : load(source + (corner + i * rowStride + j * c + ch))
        }
        @inline(__always) func row(_ i: Int) -> Quad { Quad(v0: d(i, 0), v1: d(i, 1), v2: d(i, 2), v3: d(i, 3)) }
        // Bᵀ d: rows combined.
        let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3))
        let t = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
        // (Bᵀ d) B: each row's columns combined.
        @inline(__always) func put(_ i: Int, _ r: Quad) {
            let p = out + 4 * i * pointStride + ch
            store(r.v0 - r.v2, p)
            store(r.v1 + r.v2, p + pointStride)
            store(r.v2 - r.v1, p + 2 * pointStride)
            store(r.v1 - r.v3, p + 3 * pointStride)
        }
        put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3)
    }
}

/// `Aᵀ m A` (+ bias) for one tile's `tileColumns` columns of products, point `ξν` at
/// `m + ξν·pointStride`, written to the first `rows` x `across` of the 2x2 outputs of image `b` at
/// (`top`, `left`) in the `outHeight` x `outWidth` output. Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
@inline(__always)
private func transformOutputTile(_ m: UnsafePointer<Float>, pointStride: Int, bias: UnsafePointer<Float>?,
                                 into output: UnsafeMutablePointer<Float>, image b: Int, top: Int, left: Int,
                                 outHeight: Int, outWidth: Int, rows: Int, across: Int, columns n: Int) {
    for ch in stride(from: 0, to: tileColumns, by: Lanes.scalarCount) {
        @inline(__always) func row(_ i: Int) -> Quad {
            let p = m + 4 * i * pointStride + ch
            return Quad(v0: load(p), v1: load(p + pointStride), v2: load(p + 2 * pointStride), v3: load(p + 3 * pointStride))
        }
        // Aᵀ m: two rows of four.
        let (m0, m1, m2, m3) = (row(0), row(1), row(2), row(3))
        let s = (m0 + m1 + m2, m1 - m2 - m3)
        let start = bias.map { load($0 + ch) } ?? Lanes(repeating: 0)
        for i in 0..<rows {
            let r = i == 0 ? s.0 : s.1
            let p = output + ((b * outHeight + top + i) * outWidth + left) * n + ch
            store(start + (r.v0 + r.v1 + r.v2), p)
            if across > 1 { store(start + (r.v1 - r.v2 - r.v3), p + n) }
        }
    }
}
