/// `destination[c · destinationStride + r] = source[r · sourceStride + c]` for `r < rows`,
/// `c < columns`: a matrix transposed, sixteen by sixteen in registers where whole blocks fit, one
/// float at a time at the edges. Only moves floats, so the bytes are those of the plain loop.
///
/// Why: the kernel is re-laid out every training step for the input gradients
/// (`packKernelByFilter`, `packKernelTapBlocks`) and each worker's kernel gradient goes into and
/// out of its transposed form (`SparseOutputGradient.hold`, `release`): eight transposes of
/// conv2's and conv3's 576x64 kernels a step, all on the calling thread while the other waited,
/// until f296c06. The plain loop writes a float a cycle with a 2.3 KB stride (16 µs for one such
/// kernel on a Zen 5); sixteen loaded rows turned in four rounds of shuffles take 2.6 µs.
public func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, sourceStride: Int,
                      into destination: UnsafeMutablePointer<Float>, destinationStride: Int) {
    let wholeRows = rows - rows % 16, wholeColumns = columns - columns % 16
    for r in stride(from: 0, to: wholeRows, by: 16) {
        for c in stride(from: 0, to: wholeColumns, by: 16) {
            transposeBlock(source + r * sourceStride + c, sourceStride, destination + c * destinationStride + r, destinationStride)
        }
    }
    // The edges: the last columns of the whole rows, then the last rows.
    for r in 0..<wholeRows {
        for c in wholeColumns..<columns { destination[c * destinationStride + r] = source[r * sourceStride + c] }
    }
    for r in wholeRows..<rows {
        for c in 0..<columns { destination[c * destinationStride + r] = source[r * sourceStride + c] }
    }
}

/// Lanes 0, 2, 4, ... of `a` then of `b`, and lanes 1, 3, 5, ... of `a` then of `b`.
@inline(__always)
private func deinterleave(_ a: Lanes, _ b: Lanes) -> (even: Lanes, odd: Lanes) {
    let both = SIMD32<Float>(lowHalf: a, highHalf: b)
    return (both.evenHalf, both.oddHalf)
}

/// One 16x16 block. A round takes rows 2i and 2i+1 into row i (their even lanes) and row i + 8
/// (their odd lanes), which rotates the 8 bits of (row, column) right by one; four rounds swap row
/// and column.
@inline(__always)
private func transposeBlock(_ s: UnsafePointer<Float>, _ sourceStride: Int, _ d: UnsafeMutablePointer<Float>, _ destinationStride: Int) {
    var (v0, v1, v2, v3) = (load(s), load(s + sourceStride), load(s + 2 * sourceStride), load(s + 3 * sourceStride))
    var (v4, v5, v6, v7) = (load(s + 4 * sourceStride), load(s + 5 * sourceStride), load(s + 6 * sourceStride), load(s + 7 * sourceStride))
    var (v8, v9, v10, v11) = (load(s + 8 * sourceStride), load(s + 9 * sourceStride), load(s + 10 * sourceStride), load(s + 11 * sourceStride))
    var (v12, v13, v14, v15) = (load(s + 12 * sourceStride), load(s + 13 * sourceStride), load(s + 14 * sourceStride), load(s + 15 * sourceStride))
    for _ in 0..<4 {
        let (a0, a8) = deinterleave(v0, v1), (a1, a9) = deinterleave(v2, v3)
        let (a2, a10) = deinterleave(v4, v5), (a3, a11) = deinterleave(v6, v7)
        let (a4, a12) = deinterleave(v8, v9), (a5, a13) = deinterleave(v10, v11)
        let (a6, a14) = deinterleave(v12, v13), (a7, a15) = deinterleave(v14, v15)
        (v0, v1, v2, v3, v4, v5, v6, v7) = (a0, a1, a2, a3, a4, a5, a6, a7)
        (v8, v9, v10, v11, v12, v13, v14, v15) = (a8, a9, a10, a11, a12, a13, a14, a15)
    }
    let t = destinationStride
    store(v0, d); store(v1, d + t); store(v2, d + 2 * t); store(v3, d + 3 * t)
    store(v4, d + 4 * t); store(v5, d + 5 * t); store(v6, d + 6 * t); store(v7, d + 7 * t)
    store(v8, d + 8 * t); store(v9, d + 9 * t); store(v10, d + 10 * t); store(v11, d + 11 * t)
    store(v12, d + 12 * t); store(v13, d + 13 * t); store(v14, d + 14 * t); store(v15, d + 15 * t)
}
