/// Element-wise loops written with explicit 16-lane SIMD, because the compiler cannot prove the
/// engine's raw buffers do not overlap and so will not vectorize the plain loops itself.
public typealias Lanes = SIMD16<Float>

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }

@inline(__always)
func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }

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
