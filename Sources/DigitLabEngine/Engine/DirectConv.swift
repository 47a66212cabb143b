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
/// input channels (input gradient) go sixteen at a time: `DirectConvolution.supports` says when a
/// convolution fits. The first layer's one-channel patches are short (9 taps), but sixteen filters
/// of six pixels still fill the registers: its products run at 66-76 GFLOP/s on one Zen 3 core,
/// where OpenBLAS managed 11-39% of its rate.

/// When convolutions take the direct kernels.
public enum DirectConvolution {
    /// Whether convolutions that the kernels `support` take them (`Conv2D.Method.direct`). The
    /// kernels are 16-lane loops built for AVX2 (two 256-bit registers a row); where OpenBLAS runs
    /// AVX-512 kernels, which on a Zen 5 reach 490 GFLOP/s against 270 with AVX2, its products
    /// are kept, since the direct path has not been measured against them. `DIGITLAB_CONVOLUTION`
    /// set to `direct` or `im2col` decides instead, for comparisons.
    public static let enabled = chooses(coreName: BLASRuntime.coreName, environment: ProcessInfo.processInfo.environment)

    /// The rule behind `enabled`.
    public static func chooses(coreName: String, environment: [String: String]) -> Bool {
        switch environment["DIGITLAB_CONVOLUTION"] {
        case "direct": true
        case "im2col": false
        default: !KernelChoice.avx512Cores.contains(coreName)
        }
    }

    /// True when filters are a multiple of 16, the kernels' column width, and so are the input
    /// channels if the `inputGradient` is needed (its columns are channels).
    public static func supports(_ g: ConvGeometry, filters: Int, inputGradient: Bool) -> Bool {
        filters % 16 == 0 && (!inputGradient || g.channels % 16 == 0)
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
/// `kernelFilterBlocks` is the kernel in blocks of sixteen filters (`packFilterBlocks` with `taps` rows), so that a
/// tile's right operand is one contiguous run rather than 64-byte pieces a kernel row apart
/// (conv2: 89 -> 98 GFLOP/s on one Zen 3 core).
public func convolveDirect(_ input: UnsafePointer<Float>, images: Range<Int>, geometry g: ConvGeometry,
                           kernelFilterBlocks: UnsafePointer<Float>, bias: UnsafePointer<Float>, filters f: Int,
                           into output: UnsafeMutablePointer<Float>) {
    let first = input + images.lowerBound * g.height * g.width * g.channels
    let out = output + images.lowerBound * g.patchesPerImage * f
    let pixels = images.count * g.patchesPerImage
    let run = g.kernelWidth * g.channels, rowStride = g.width * g.channels, taps = g.patchSize
    for q in stride(from: 0, to: pixels, by: tileRows) {
        let rows = min(tileRows, pixels - q)
        let corners = patchCorners(first, first: q, count: rows, g)
        for fb in stride(from: 0, to: f, by: 16) {
            var tile = Tile(repeating: load(bias + fb))
            let block = kernelFilterBlocks + fb * taps
            for ky in 0..<g.kernelHeight {
                let a = RowPointers(shifting: corners, by: ky * rowStride)
                accumulateTile(&tile, a, aStride: 1, block + ky * run * 16, bStride: 16, count: run)
            }
            tile.store(to: out + q * f + fb, stride: f, count: rows)
        }
    }
}

/// `kernelGradient[k, f] += Σ_p patch(p)[k] · gradOutput[p, f]` over the output pixels of
/// `images`, on the calling thread: what `colᵀ · dOut` gives, without the patch matrix. The tile's
/// six rows are six taps; its inner loop runs along an output row, one pixel (`c` floats) a step.
/// The output gradient comes as `gradientBlocks`, the images' `[pixels, f]` gradient in filter
/// blocks (`packFilterBlocks`), so that each step's sixteen filters are contiguous with the next
/// pixel's: conv2's weight gradient ran at 65-77 GFLOP/s on one Zen 3 core reading the gradient
/// in place, 85-87 from blocks (the copy included).
public func convolveDirectWeightGradient(_ input: UnsafePointer<Float>, gradientBlocks: UnsafePointer<Float>,
                                         images: Range<Int>, geometry g: ConvGeometry, filters f: Int,
                                         kernelGradient: UnsafeMutablePointer<Float>) {
    let run = g.kernelWidth * g.channels, rowStride = g.width * g.channels
    let taps = g.patchSize, imageStride = g.height * rowStride
    let pixels = images.count * g.patchesPerImage
    for k in stride(from: 0, to: taps, by: tileRows) {
        let rows = min(tileRows, taps - k)
        let offsets = RowPointers(base: input, first: k, count: rows) { ($0 / run) * rowStride + $0 % run }
        for fb in stride(from: 0, to: f, by: 16) {
            let dW = kernelGradient + k * f + fb
            var tile = Tile(dW, stride: f, count: rows)
            for (i, b) in images.enumerated() {
                for oy in 0..<g.outHeight {
                    let a = RowPointers(shifting: offsets, by: b * imageStride + oy * rowStride)
                    let dOut = gradientBlocks + fb * pixels + (i * g.patchesPerImage + oy * g.outWidth) * 16
                    accumulateTile(&tile, a, aStride: g.channels, dOut, bStride: 16, count: g.outWidth)
                }
            }
            tile.store(to: dW, stride: f, count: rows)
        }
    }
}

/// Writes the row-major `[rows, f]` matrix `m` (`f` a multiple of 16) as `f / 16` blocks of
/// `[rows, 16]`: block `j` holds columns `16j ..< 16j + 16` of every row, row after row. The
/// direct kernels read sixteen columns a step, so this turns a walk down the rows into one
/// contiguous stream.
public func packFilterBlocks(_ m: UnsafePointer<Float>, rows: Int, filters f: Int,
                             into packed: UnsafeMutablePointer<Float>) {
    precondition(f % 16 == 0, "filter blocks need a multiple of 16 columns, not \(f)")
    for r in 0..<rows {
        for fb in stride(from: 0, to: f, by: 16) { store(load(m + r * f + fb), packed + fb * rows + r * 16) }
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
        let a = RowPointers(base: gradientBlocks, first: q, count: rows) { $0 * 16 }
        let corners = patchCorners(first, first: q, count: rows, g)
        for k in stride(from: 0, to: taps, by: 16) {
            let shift = (k / run) * rowStride + k % run
            let dx = RowPointers(shifting: corners, by: shift)
            var tile = Tile(dx)
            for fb in stride(from: 0, to: f, by: 16) {
                accumulateTile(&tile, RowPointers(shifting: a, by: fb * pixels), aStride: 1,
                               kernelTapBlocks + k * f + fb * 16, bStride: 16, count: 16)
            }
            tile.store(to: dx, count: rows)
        }
    }
}

/// Writes the HWIO kernel `[kh·kw·c, f]` (`taps` a multiple of 16) as `taps / 16` blocks of
/// `[f, 16]`, for `convolveDirectInputGradient`: block `k / 16` holds taps `k ..< k + 16` of every
/// filter, filter after filter, so the kernel's inner loop over filters reads one contiguous 4 KB
/// block (64 filters) where the transpose `[f, taps]` had it stride 2.3 KB a step (conv2's input
/// gradient: 87 -> 93 GFLOP/s on one Zen 3 core).
public func packKernelTapBlocks(_ kernel: UnsafePointer<Float>, taps: Int, filters f: Int,
                                into packed: UnsafeMutablePointer<Float>) {
    precondition(taps % 16 == 0, "tap blocks need a multiple of 16 taps, not \(taps)")
    for k in 0..<taps {
        let block = packed + (k / 16) * f * 16 + k % 16
        for j in 0..<f { block[j * 16] = kernel[k * f + j] }
    }
}

/// `sums[j] += Σ_r m[r, j]` for a matrix in filter blocks (`packFilterBlocks`): the bias gradient
/// of a direct convolution, row after row as `addColumnSums` adds them, so the same numbers.
func addBlockColumnSums(_ blocks: UnsafePointer<Float>, rows: Int, filters f: Int, into sums: UnsafeMutablePointer<Float>) {
    for fb in stride(from: 0, to: f, by: 16) {
        var total = load(sums + fb)
        let block = blocks + fb * rows
        for r in 0..<rows { total += load(block + r * 16) }
        store(total, sums + fb)
    }
}
