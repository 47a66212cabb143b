/// The register-blocked inner kernel of the direct convolutions (DirectConv.swift): a tile of six
/// rows by `tileColumns` columns of a matrix product, whose sums stay in registers while the inner
/// dimension runs. Each step loads a row's worth of columns of the right operand once and
/// multiplies them by six broadcast values of the left operand, one from each of six row pointers:
/// rows need not be evenly spaced, which is what lets a convolution read its patches from the
/// images in place.

/// Rows of the product one kernel call computes.
let tileRows = 6

#if DIGITLAB_AVX512
/// A tile row: thirty-two columns, two 512-bit registers. Six rows of one register each would
/// leave six chains of dependent multiply-adds, too few to cover the FMA latency of two AVX-512
/// units (four cycles, two a cycle: eight in flight); twelve registers of sums cover it, and each
/// broadcast value feeds two multiply-adds instead of one.
struct TileRow {
    var low: Lanes, high: Lanes

    @inline(__always)
    init(low: Lanes, high: Lanes) { self.low = low; self.high = high }

    @inline(__always)
    init(_ p: UnsafePointer<Float>) { low = load(p); high = load(p + 16) }

    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>) { DigitLabEngine.store(low, p); DigitLabEngine.store(high, p + 16) }

    @inline(__always)
    static func + (a: TileRow, b: TileRow) -> TileRow { TileRow(low: a.low + b.low, high: a.high + b.high) }

    /// `self + a · b`, lane by lane, `a` the same in every lane.
    @inline(__always)
    func adding(_ a: Float, times b: TileRow) -> TileRow {
        let s = Lanes(repeating: a)
        return TileRow(low: multiplyAdd(low, s, b.low), high: multiplyAdd(high, s, b.high))
    }

    static var zero: TileRow { TileRow(low: Lanes(repeating: 0), high: Lanes(repeating: 0)) }
}

/// Columns of a tile: the width of the blocks the direct kernels read their operands in.
public let tileColumns = 32
#else
/// A tile row: sixteen columns, two 256-bit registers on AVX2 (twelve registers of sums).
struct TileRow {
    var lanes: Lanes

    @inline(__always)
    init(lanes: Lanes) { self.lanes = lanes }

    @inline(__always)
    init(_ p: UnsafePointer<Float>) { lanes = load(p) }

    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>) { DigitLabEngine.store(lanes, p) }

    @inline(__always)
    static func + (a: TileRow, b: TileRow) -> TileRow { TileRow(lanes: a.lanes + b.lanes) }

    /// `self + a · b`, lane by lane, `a` the same in every lane.
    @inline(__always)
    func adding(_ a: Float, times b: TileRow) -> TileRow { TileRow(lanes: multiplyAdd(lanes, Lanes(repeating: a), b.lanes)) }

    static var zero: TileRow { TileRow(lanes: Lanes(repeating: 0)) }
}

/// Columns of a tile: the width of the blocks the direct kernels read their operands in.
public let tileColumns = 16
#endif

/// Six rows of `tileColumns` sums: one tile of a product, held in registers while `accumulateTile` runs.
struct Tile {
    var r0: TileRow, r1: TileRow, r2: TileRow, r3: TileRow, r4: TileRow, r5: TileRow

    @inline(__always)
    init(repeating v: TileRow) { r0 = v; r1 = v; r2 = v; r3 = v; r4 = v; r5 = v }
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

/// `tile.r[i] += Σ_j a.p_i[j·aStride] · b[j·bStride ..< +tileColumns]` for `j < count`: the inner
/// loop of every direct pass. Each step loads a tile row of `b` once and broadcasts six values of
/// the left operand against it.
@inline(__always)
func accumulateTile(_ tile: inout Tile, _ a: RowPointers, aStride: Int,
                    _ b: UnsafePointer<Float>, bStride: Int, count: Int) {
    var sums = tile
    var ai = 0, bi = b
    for _ in 0..<count {
        sums.add(a, at: ai, times: TileRow(bi))
        ai += aStride
        bi += bStride
    }
    tile = sums
}

extension Tile {
    /// One step of a tile product: `r[i] += a.p_i[j] · w` for the six rows.
    @inline(__always)
    mutating func add(_ a: RowPointers, at j: Int, times w: TileRow) {
        r0 = r0.adding(a.p0[j], times: w)
        r1 = r1.adding(a.p1[j], times: w)
        r2 = r2.adding(a.p2[j], times: w)
        r3 = r3.adding(a.p3[j], times: w)
        r4 = r4.adding(a.p4[j], times: w)
        r5 = r5.adding(a.p5[j], times: w)
    }
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
        self.init(repeating: .zero)
        r0 = TileRow(p)
        if count > 1 { r1 = TileRow(p + stride) }
        if count > 2 { r2 = TileRow(p + 2 * stride) }
        if count > 3 { r3 = TileRow(p + 3 * stride) }
        if count > 4 { r4 = TileRow(p + 4 * stride) }
        if count > 5 { r5 = TileRow(p + 5 * stride) }
    }

    /// Loads the rows at six row pointers.
    @inline(__always)
    init(_ p: RowPointers) {
        r0 = TileRow(p.p0); r1 = TileRow(p.p1); r2 = TileRow(p.p2)
        r3 = TileRow(p.p3); r4 = TileRow(p.p4); r5 = TileRow(p.p5)
    }

    /// Stores the first `count` rows at `p + i·stride`.
    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>, stride: Int, count: Int) {
        r0.store(to: p)
        if count > 1 { r1.store(to: p + stride) }
        if count > 2 { r2.store(to: p + 2 * stride) }
        if count > 3 { r3.store(to: p + 3 * stride) }
        if count > 4 { r4.store(to: p + 4 * stride) }
        if count > 5 { r5.store(to: p + 5 * stride) }
    }

    /// Stores the first `count` rows at their row pointers.
    @inline(__always)
    func store(to p: RowPointers, count: Int) {
        let m = { (q: UnsafePointer<Float>) in UnsafeMutablePointer(mutating: q) }
        r0.store(to: m(p.p0))
        if count > 1 { r1.store(to: m(p.p1)) }
        if count > 2 { r2.store(to: m(p.p2)) }
        if count > 3 { r3.store(to: m(p.p3)) }
        if count > 4 { r4.store(to: m(p.p4)) }
        if count > 5 { r5.store(to: m(p.p5)) }
    }
}
