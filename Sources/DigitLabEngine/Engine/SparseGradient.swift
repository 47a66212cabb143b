/// The direct convolution's two gradients, multiplying only the output gradient's nonzero entries.
///
/// Behind a ReLU and a 2x2 max pooling (the paper's conv2 and conv3) at most one output of each
/// window and filter has a gradient: the window's maximum, and only where it was positive. So
/// three quarters or more of a convolution's output gradient is zero, and the dense kernels
/// (`convolveDirectWeightGradient`, `convolveDirectInputGradient`) spend that share of their
/// multiplies adding zero. These kernels list the nonzero entries of each image's gradient (per
/// filter, and per pixel) and multiply only those.
///
/// They give the dense kernels' bytes, not just their values: each sum takes the same nonzero
/// terms, fused multiply-add after fused multiply-add, in the same order as the dense kernels
/// take them (a term with a zero factor adds zero and leaves a sum as it was). The weight gradient
/// runs each filter's sum over the chunk's images and their pixels in raster order, as the dense
/// kernel's tiles do. The input gradient follows the dense kernel's tiles of six output pixels:
/// tile after tile, and within a tile pixel after pixel from the last, which is the order in which
/// the dense kernel (taps outer, six pixels at once) reaches the input pixels two patches share
/// (the later pixel reaches a shared input through an earlier tap). So a run's weights do not
/// change whichever kernels compute its gradients (`SparseGradientTests`), and `Conv2D` chooses
/// these only for speed: where at most `SparseOutputGradient.densestSkipped` of a chunk's gradient
/// is nonzero. An input or kernel holding an infinity or NaN would differ (the dense kernels
/// multiply it by a zero gradient and get NaN; these skip it), but a run is finished by then.
///
/// Both passes are one kernel (`accumulateListed`): `sum += Σ_e value[e] · source[offset[e] ...]`
/// over a run of `kw·c` floats, the sum in registers. For the weight gradient the sum is a
/// filter's gradient for one kernel row (`kw·c` taps, the filter's column of the HWIO gradient,
/// held transposed while the passes run) and the sources are the patches of the pixels where the
/// filter's gradient is nonzero; for the input gradient the sum is one kernel row of a patch of
/// the input gradient and the sources are the rows of the kernel (transposed, filter by filter)
/// of the filters whose gradient at that pixel is nonzero.

/// A worker's lists of one image's nonzero output gradient, and its kernel gradient held
/// transposed (`[filters, taps]`) between sparse chunks: allocated once per convolution and worker.
public final class SparseOutputGradient {
    /// At most this share of a chunk's output gradient may be nonzero for the sparse kernels to
    /// run; denser gradients (say, random ones, or a convolution without pooling after it) take
    /// the dense kernels, whose rate per multiply is higher.
    public static let densestSkipped = 0.5

    let filters: Int, pixelsPerImage: Int, taps: Int
    /// Per output pixel of the image, up to `filters` entries: `filter · taps` (the filter's row in
    /// the transposed kernel) and the gradient.
    let pixelOffsets: UnsafeMutablePointer<Int32>
    let pixelValues: UnsafeMutablePointer<Float>
    let pixelCounts: UnsafeMutablePointer<Int>
    /// Per filter, up to `pixelsPerImage` entries in raster order: the offset of the pixel's patch
    /// in its image and the gradient.
    let filterOffsets: UnsafeMutablePointer<Int32>
    let filterValues: UnsafeMutablePointer<Float>
    let filterCounts: UnsafeMutablePointer<Int>
    /// The worker's kernel gradient, `[filters, taps]`, while `holdsKernelGradient`.
    let transposedKernelGradient: UnsafeMutablePointer<Float>
    /// Whether the worker's kernel gradient is in `transposedKernelGradient` rather than its own
    /// buffer (`release(into:)` puts it back).
    public private(set) var holdsKernelGradient = false

    public init(geometry g: ConvGeometry, filters: Int) {
        self.filters = filters
        pixelsPerImage = g.patchesPerImage
        taps = g.patchSize
        let entries = pixelsPerImage * filters
        pixelOffsets = .allocate(capacity: entries); pixelValues = .allocate(capacity: entries)
        pixelCounts = .allocate(capacity: pixelsPerImage)
        filterOffsets = .allocate(capacity: entries); filterValues = .allocate(capacity: entries)
        filterCounts = .allocate(capacity: filters)
        transposedKernelGradient = .allocate(capacity: taps * filters)
    }

    deinit {
        pixelOffsets.deallocate(); pixelValues.deallocate(); pixelCounts.deallocate()
        filterOffsets.deallocate(); filterValues.deallocate(); filterCounts.deallocate()
        transposedKernelGradient.deallocate()
    }

    /// Whether the sparse kernels fit a convolution: each kernel row of a patch (`kw·c` floats)
    /// in whole 16-float vectors, and the dense kernels' shapes (`DirectConvolution.supports`).
    public static func supports(_ g: ConvGeometry) -> Bool {
        g.stride == 1 && (g.kernelWidth * g.channels) % 16 == 0
    }

    /// Whether at most `densestSkipped` of `count` floats of `gradient` are nonzero.
    public static func isSparse(_ gradient: UnsafePointer<Float>, count: Int) -> Bool {
        var nonzero = SIMD16<Int32>(repeating: 0), i = 0
        let zero = Lanes(repeating: 0), one = SIMD16<Int32>(repeating: 1)
        while i + 16 <= count {
            nonzero &+= SIMD16<Int32>(repeating: 0).replacing(with: one, where: load(gradient + i) .!= zero)
            i += 16
        }
        var total = Int(nonzero.wrappedSum())
        while i < count { if gradient[i] != 0 { total += 1 }; i += 1 }
        return Double(total) <= densestSkipped * Double(count)
    }

    /// Moves the worker's kernel gradient (`[taps, filters]`) into `transposedKernelGradient`.
    public func hold(_ kernelGradient: UnsafePointer<Float>) {
        guard !holdsKernelGradient else { return }
        transpose(kernelGradient, rows: taps, columns: filters, sourceStride: filters,
                  into: transposedKernelGradient, destinationStride: taps)
        holdsKernelGradient = true
    }

    /// `hold` of a kernel gradient that is all zeros (a worker's first chunk of a pass): the
    /// same zeros, without reading them.
    public func holdZeros() {
        guard !holdsKernelGradient else { return }
        transposedKernelGradient.update(repeating: 0, count: taps * filters)
        holdsKernelGradient = true
    }

    /// Puts the kernel gradient back in the worker's buffer, if this holds it.
    public func release(into kernelGradient: UnsafeMutablePointer<Float>) {
        guard holdsKernelGradient else { return }
        release(taps: 0..<taps, into: kernelGradient)
        endHolding()
    }

    /// Puts taps `range` of the held kernel gradient back in the worker's buffer (threads may
    /// share the taps); `endHolding()` once every tap is back.
    public func release(taps range: Range<Int>, into kernelGradient: UnsafeMutablePointer<Float>) {
        precondition(holdsKernelGradient, "release of a kernel gradient not held")
        transpose(transposedKernelGradient + range.lowerBound, rows: filters, columns: range.count, sourceStride: taps,
                  into: kernelGradient + range.lowerBound * filters, destinationStride: filters)
    }

    /// Marks the kernel gradient as back in the worker's buffer (`release(taps:into:)`).
    public func endHolding() { holdsKernelGradient = false }

    /// Adds taps `range` of `other`'s held kernel gradient onto this one's (both held):
    /// `mine + other's` for every filter, the sum adding the worker buffers would give.
    public func addHeld(_ other: SparseOutputGradient, taps range: Range<Int>) {
        precondition(holdsKernelGradient && other.holdsKernelGradient && other.taps == taps, "addHeld needs two held gradients")
        for f in 0..<filters {
            addInPlace(other.transposedKernelGradient + f * taps + range.lowerBound,
                       transposedKernelGradient + f * taps + range.lowerBound, count: range.count)
        }
    }

    /// Lists the nonzero gradient of the image whose first pixel is pixel `first` of `blocks` (a
    /// chunk of `pixels` pixels in filter blocks, `packFilterBlocks`), by pixel and by filter.
    func list(_ blocks: UnsafePointer<Float>, pixels: Int, first: Int, geometry g: ConvGeometry) {
        filterCounts.update(repeating: 0, count: filters)
        for p in 0..<pixelsPerImage {
            let patch = Int32(((p / g.outWidth) * g.width + p % g.outWidth) * g.channels)
            var n = 0
            let listed = p * filters
            for fb in stride(from: 0, to: filters, by: tileColumns) {
                let row = blocks + fb * pixels + (first + p) * tileColumns
                var bits = nonzeroBits(row, count: tileColumns)
                while bits != 0 {
                    let j = bits.trailingZeroBitCount
                    bits &= bits - 1
                    let f = fb + j, value = row[j]
                    pixelOffsets[listed + n] = Int32(f * taps); pixelValues[listed + n] = value
                    n += 1
                    let m = filterCounts[f]
                    filterOffsets[f * pixelsPerImage + m] = patch; filterValues[f * pixelsPerImage + m] = value
                    filterCounts[f] = m + 1
                }
            }
            pixelCounts[p] = n
        }
    }
}

/// `kernelGradient[k, f] += Σ_p patch(p)[k] · gradOutput[p, f]` over the output pixels of
/// `images`, multiplying only the nonzero gradient: `convolveDirectWeightGradient`'s bytes. The
/// output gradient comes in filter blocks (`packFilterBlocks`, the chunk's pixels from its first
/// image); the kernel gradient is `sparse`'s (`hold`), transposed.
///
/// `convolveSparseInputGradient` for the same chunk needs the lists this makes, so a caller
/// wanting both calls `convolveSparseGradients`.
public func convolveSparseGradients(_ input: UnsafePointer<Float>, gradientBlocks: UnsafePointer<Float>, images: Range<Int>,
                                    geometry g: ConvGeometry, filters f: Int, sparse: SparseOutputGradient,
                                    kernelByFilter: UnsafePointer<Float>?, inputGradient: UnsafeMutablePointer<Float>?) {
    precondition(sparse.holdsKernelGradient, "hold the kernel gradient before the sparse passes")
    let run = g.kernelWidth * g.channels, rowStride = g.width * g.channels
    let taps = g.patchSize, imageFloats = g.height * rowStride, ppi = g.patchesPerImage
    let pixels = images.count * ppi
    let dW = sparse.transposedKernelGradient
    for (i, b) in images.enumerated() {
        sparse.list(gradientBlocks, pixels: pixels, first: i * ppi, geometry: g)
        let image = input + b * imageFloats
        // Weight gradient: filter by filter, each kernel row's taps in registers over the
        // filter's pixels in raster order.
        for filter in 0..<f {
            let n = sparse.filterCounts[filter]
            guard n > 0 else { continue }
            for ky in 0..<g.kernelHeight {
                accumulateListed(dW + filter * taps + ky * run, image + ky * rowStride,
                                 offsets: sparse.filterOffsets + filter * ppi, values: sparse.filterValues + filter * ppi,
                                 count: n, width: run)
            }
        }
        // Input gradient: the dense kernel's tiles of six pixels (counted from the chunk's first
        // pixel), tile after tile, each tile's pixels from the last.
        guard let kernelByFilter, let inputGradient else { continue }
        let dX = inputGradient + b * imageFloats
        dX.update(repeating: 0, count: imageFloats)
        let first = i * ppi, end = first + ppi
        var tile = first - first % tileRows
        while tile < end {
            for q in (max(tile, first)..<min(tile + tileRows, end)).reversed() {
                let p = q - first, n = sparse.pixelCounts[p]
                guard n > 0 else { continue }
                let patch = dX + ((p / g.outWidth) * g.width + p % g.outWidth) * g.channels
                for ky in 0..<g.kernelHeight {
                    accumulateListed(patch + ky * rowStride, kernelByFilter + ky * run,
                                     offsets: sparse.pixelOffsets + p * f, values: sparse.pixelValues + p * f,
                                     count: n, width: run)
                }
            }
            tile += tileRows
        }
    }
}

/// Writes the HWIO kernel `[taps, f]` transposed, `[f, taps]`: each filter's taps in a row, for
/// the sparse input gradient. With `only`, just those taps are written.
public func packKernelByFilter(_ kernel: UnsafePointer<Float>, taps: Int, filters f: Int, into packed: UnsafeMutablePointer<Float>,
                               only: Range<Int>? = nil) {
    let range = only ?? 0..<taps
    transpose(kernel + range.lowerBound * f, rows: range.count, columns: f, sourceStride: f,
              into: packed + range.lowerBound, destinationStride: taps)
}

/// `sum[0 ..< width] += Σ_e values[e] · source[offsets[e] ..< + width]`, `width` a multiple of
/// 16, entry after entry (one fused multiply-add per entry and float, in list order), the sums in
/// registers: twelve vectors at a time with AVX-512 (32 registers), four with AVX2.
@inline(__always)
private func accumulateListed(_ sum: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>,
                              offsets: UnsafePointer<Int32>, values: UnsafePointer<Float>, count: Int, width: Int) {
    var w = 0
    #if DIGITLAB_AVX512
    while w + 192 <= width {
        accumulateListed12(sum + w, source + w, offsets: offsets, values: values, count: count)
        w += 192
    }
    #endif
    while w + 64 <= width {
        accumulateListed4(sum + w, source + w, offsets: offsets, values: values, count: count)
        w += 64
    }
    while w < width {
        var a = load(sum + w)
        for e in 0..<count { a = multiplyAdd(a, Lanes(repeating: values[e]), load(source + w + Int(offsets[e]))) }
        store(a, sum + w)
        w += 16
    }
}

@inline(__always)
private func accumulateListed12(_ sum: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>,
                                offsets: UnsafePointer<Int32>, values: UnsafePointer<Float>, count: Int) {
    var a0 = load(sum), a1 = load(sum + 16), a2 = load(sum + 32), a3 = load(sum + 48)
    var a4 = load(sum + 64), a5 = load(sum + 80), a6 = load(sum + 96), a7 = load(sum + 112)
    var a8 = load(sum + 128), a9 = load(sum + 144), a10 = load(sum + 160), a11 = load(sum + 176)
    for e in 0..<count {
        let s = Lanes(repeating: values[e]), x = source + Int(offsets[e])
        a0 = multiplyAdd(a0, s, load(x)); a1 = multiplyAdd(a1, s, load(x + 16))
        a2 = multiplyAdd(a2, s, load(x + 32)); a3 = multiplyAdd(a3, s, load(x + 48))
        a4 = multiplyAdd(a4, s, load(x + 64)); a5 = multiplyAdd(a5, s, load(x + 80))
        a6 = multiplyAdd(a6, s, load(x + 96)); a7 = multiplyAdd(a7, s, load(x + 112))
        a8 = multiplyAdd(a8, s, load(x + 128)); a9 = multiplyAdd(a9, s, load(x + 144))
        a10 = multiplyAdd(a10, s, load(x + 160)); a11 = multiplyAdd(a11, s, load(x + 176))
    }
    store(a0, sum); store(a1, sum + 16); store(a2, sum + 32); store(a3, sum + 48)
    store(a4, sum + 64); store(a5, sum + 80); store(a6, sum + 96); store(a7, sum + 112)
    store(a8, sum + 128); store(a9, sum + 144); store(a10, sum + 160); store(a11, sum + 176)
}

@inline(__always)
private func accumulateListed4(_ sum: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>,
                               offsets: UnsafePointer<Int32>, values: UnsafePointer<Float>, count: Int) {
    var a0 = load(sum), a1 = load(sum + 16), a2 = load(sum + 32), a3 = load(sum + 48)
    for e in 0..<count {
        let s = Lanes(repeating: values[e]), x = source + Int(offsets[e])
        a0 = multiplyAdd(a0, s, load(x)); a1 = multiplyAdd(a1, s, load(x + 16))
        a2 = multiplyAdd(a2, s, load(x + 32)); a3 = multiplyAdd(a3, s, load(x + 48))
    }
    store(a0, sum); store(a1, sum + 16); store(a2, sum + 32); store(a3, sum + 48)
}
