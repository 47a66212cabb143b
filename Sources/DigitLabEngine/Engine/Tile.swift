/// The register-blocked inner kernel of the direct convolutions (DirectConv.swift): a tile of six
/// rows by sixteen columns of a matrix product, whose twelve AVX2 registers of sums stay in
/// registers while the inner dimension runs. Each step loads sixteen columns of the right operand
/// once and multiplies them by six broadcast values of the left operand, one from each of six row
/// pointers: rows need not be evenly spaced, which is what lets a convolution read its patches
/// from the images in place.

/// Rows of the product one kernel call computes.
let tileRows = 6

/// Six rows of sixteen sums: one tile of a product, held in registers while `accumulateTile` runs.
struct Tile {
    var r0: Lanes, r1: Lanes, r2: Lanes, r3: Lanes, r4: Lanes, r5: Lanes

    @inline(__always)
    init(repeating v: Lanes) { r0 = v; r1 = v; r2 = v; r3 = v; r4 = v; r5 = v }
}

/// Six row pointers of a tile's left operand.
struct RowPointers {
    var p0, p1, p2, p3, p4, p5: UnsafePointer<Float>

    /// Pointers for rows `first ..< first + count` (at most six; missing rows repeat the last),
    /// row `i` at `base + offset(i)`.
    @inline(__always)
    init(base: UnsafePointer<Float>, first: Int, count: Int, offset: (Int) -> Int) {
        let last = first + count - 1
        p0 = base + offset(first)
        p1 = base + offset(min(first + 1, last)); p2 = base + offset(min(first + 2, last))
        p3 = base + offset(min(first + 3, last)); p4 = base + offset(min(first + 4, last))
        p5 = base + offset(min(first + 5, last))
    }
}

/// `tile.r[i] += Σ_j a.p_i[j·aStride] · b[j·bStride ..< +16]` for `j < count`: the inner loop of
/// every direct pass. Each step loads sixteen columns of `b` once and broadcasts six values of
/// the left operand against them.
@inline(__always)
func accumulateTile(_ tile: inout Tile, _ a: RowPointers, aStride: Int,
                    _ b: UnsafePointer<Float>, bStride: Int, count: Int) {
    var (t0, t1, t2, t3, t4, t5) = (tile.r0, tile.r1, tile.r2, tile.r3, tile.r4, tile.r5)
    var ai = 0, bi = b
    for _ in 0..<count {
        let w = load(bi)
        t0 = multiplyAdd(t0, Lanes(repeating: a.p0[ai]), w)
        t1 = multiplyAdd(t1, Lanes(repeating: a.p1[ai]), w)
        t2 = multiplyAdd(t2, Lanes(repeating: a.p2[ai]), w)
        t3 = multiplyAdd(t3, Lanes(repeating: a.p3[ai]), w)
        t4 = multiplyAdd(t4, Lanes(repeating: a.p4[ai]), w)
        t5 = multiplyAdd(t5, Lanes(repeating: a.p5[ai]), w)
        ai += aStride
        bi += bStride
    }
    tile.r0 = t0; tile.r1 = t1; tile.r2 = t2; tile.r3 = t3; tile.r4 = t4; tile.r5 = t5
}

extension RowPointers {
    /// Row `i` at `base + offsets.i`.
    @inline(__always)
    init(base: UnsafePointer<Float>, offsets o: (Int, Int, Int, Int, Int, Int)) {
        p0 = base + o.0; p1 = base + o.1; p2 = base + o.2
        p3 = base + o.3; p4 = base + o.4; p5 = base + o.5
    }

    /// Every pointer moved by `offset`.
    @inline(__always)
    init(shifting r: RowPointers, by offset: Int) {
        p0 = r.p0 + offset; p1 = r.p1 + offset; p2 = r.p2 + offset
        p3 = r.p3 + offset; p4 = r.p4 + offset; p5 = r.p5 + offset
    }
}

extension Tile {
    /// Loads the first `count` rows `p[i·stride]`; the others are zero.
    @inline(__always)
    init(_ p: UnsafePointer<Float>, stride: Int, count: Int) {
        self.init(repeating: Lanes(repeating: 0))
        r0 = load(p)
        if count > 1 { r1 = load(p + stride) }
        if count > 2 { r2 = load(p + 2 * stride) }
        if count > 3 { r3 = load(p + 3 * stride) }
        if count > 4 { r4 = load(p + 4 * stride) }
        if count > 5 { r5 = load(p + 5 * stride) }
    }

    /// Loads the rows at six row pointers.
    @inline(__always)
    init(_ p: RowPointers) {
        r0 = load(p.p0); r1 = load(p.p1); r2 = load(p.p2)
        r3 = load(p.p3); r4 = load(p.p4); r5 = load(p.p5)
    }

    /// Stores the first `count` rows at `p + i·stride`.
    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>, stride: Int, count: Int) {
        DigitLabEngine.store(r0, p)
        if count > 1 { DigitLabEngine.store(r1, p + stride) }
        if count > 2 { DigitLabEngine.store(r2, p + 2 * stride) }
        if count > 3 { DigitLabEngine.store(r3, p + 3 * stride) }
        if count > 4 { DigitLabEngine.store(r4, p + 4 * stride) }
        if count > 5 { DigitLabEngine.store(r5, p + 5 * stride) }
    }

    /// Stores the first `count` rows at their row pointers.
    @inline(__always)
    func store(to p: RowPointers, count: Int) {
        let m = { (q: UnsafePointer<Float>) in UnsafeMutablePointer(mutating: q) }
        DigitLabEngine.store(r0, m(p.p0))
        if count > 1 { DigitLabEngine.store(r1, m(p.p1)) }
        if count > 2 { DigitLabEngine.store(r2, m(p.p2)) }
        if count > 3 { DigitLabEngine.store(r3, m(p.p3)) }
        if count > 4 { DigitLabEngine.store(r4, m(p.p4)) }
        if count > 5 { DigitLabEngine.store(r5, m(p.p5)) }
    }
}
