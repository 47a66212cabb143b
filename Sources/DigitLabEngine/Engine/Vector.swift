/// Element-wise loops written with explicit 16-lane SIMD, because the compiler cannot prove the
/// engine's raw buffers do not overlap and so will not vectorize the plain loops itself.
public typealias Lanes = SIMD16<Float>

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }

@inline(__always)
func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }

/// Bit `i` set where `p[i]` is nonzero, for `i < count` (at most 64). A 16-lane comparison is
/// turned into bits by summing its lanes' powers of two, a shuffle reduction; two comparisons share
/// one (the second's powers shifted 16 up), so 64 floats take two reductions, not four.
@inline(__always)
func nonzeroBits(_ p: UnsafePointer<Float>, count: Int) -> UInt64 {
    let low = SIMD16<UInt32>(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
    let high = low &<< 16, none = SIMD16<UInt32>(repeating: 0), zero = Lanes(repeating: 0)
    var bits: UInt64 = 0, i = 0
    while i + 32 <= count {
        let pair = none.replacing(with: low, where: load(p + i) .!= zero) | none.replacing(with: high, where: load(p + i + 16) .!= zero)
        bits |= UInt64(pair.wrappedSum()) << UInt64(i)
        i += 32
    }
    if i + 16 <= count {
        bits |= UInt64(none.replacing(with: low, where: load(p + i) .!= zero).wrappedSum()) << UInt64(i)
        i += 16
    }
    while i < count {
        if p[i] != 0 { bits |= 1 << UInt64(i) }
        i += 1
    }
    return bits
}

/// Lane-wise maximum as compare-and-blend; the standard library's `pointwiseMax` is not lowered
/// to a vector instruction.
@inline(__always)
func vmax(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }

/// `a + b · c`, fused where the build targets FMA (`make` defines `DIGITLAB_FMA` with
/// `-target-cpu haswell`); a baseline build would turn the fused form into a library call per lane.
@inline(__always)
func multiplyAdd(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes {
    #if DIGITLAB_FMA
    return a.addingProduct(b, c)
    #else
    return a + b * c
    #endif
}

/// `y = max(x, 0)` over `n` floats, on the calling thread.
public func reluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    let zero = Lanes(repeating: 0)
    while i + 16 <= n { store(vmax(load(x + i), zero), y + i); i += 16 }
    while i < n { y[i] = max(x[i], 0); i += 1 }
}

/// `dx = y > 0 ? g : 0` over `n` floats, where `y` is the ReLU's output, on the calling thread.
public func reluBackward(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    let zero = Lanes(repeating: 0)
    while i + 16 <= n {
        store(zero.replacing(with: load(g + i), where: load(y + i) .> zero), dx + i)
        i += 16
    }
    while i < n { dx[i] = y[i] > 0 ? g[i] : 0; i += 1 }
}

/// `y = x` over `n` floats: for the short runs of im2col and bias rows (12 to 768 bytes), where a
/// `memmove` call costs as much as the copy.
@inline(__always)
public func copyFloats(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    while i + 16 <= n { store(load(x + i), y + i); i += 16 }
    while i < n { y[i] = x[i]; i += 1 }
}

/// `y += x` over `n` floats.
@inline(__always)
public func addInPlace(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    var i = 0
    while i + 16 <= n { store(load(y + i) + load(x + i), y + i); i += 16 }
    while i < n { y[i] += x[i]; i += 1 }
}

/// `sums[j] += Σ_i m[i, j]` for a row-major matrix: the bias gradient of a dense or conv layer.
func addColumnSums(_ m: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
    for r in 0..<rows { addInPlace(m + r * columns, sums, count: columns) }
}
