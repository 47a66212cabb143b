/// Exact Euclidean distance transform (Felzenszwalb and Huttenlocher's lower envelope of
/// parabolas, one pass over the columns, one over the rows): linear time whatever the distances.
enum DistanceTransform {
    static let far: Float = 1e20

    /// For every pixel, the squared distance to the nearest pixel where `source` is true
    /// (`far` when there is none).
    static func squared(_ source: [Bool], width: Int, height: Int) -> [Float] {
        var grid = source.map { $0 ? Float(0) : far }
        let longest = max(width, height)
        var f = [Float](repeating: 0, count: longest), d = [Float](repeating: 0, count: longest)
        var v = [Int](repeating: 0, count: longest), z = [Float](repeating: 0, count: longest + 1)
        for x in 0..<width {
            for y in 0..<height { f[y] = grid[y * width + x] }
            transform1D(&f, &d, &v, &z, height)
            for y in 0..<height { grid[y * width + x] = d[y] }
        }
        for y in 0..<height {
            for x in 0..<width { f[x] = grid[y * width + x] }
            transform1D(&f, &d, &v, &z, width)
            for x in 0..<width { grid[y * width + x] = d[x] }
        }
        return grid
    }

    private static func transform1D(_ f: inout [Float], _ d: inout [Float], _ v: inout [Int], _ z: inout [Float], _ n: Int) {
        var k = 0
        v[0] = 0
        z[0] = -Float.infinity
        z[1] = Float.infinity
        if n > 1 {
            for q in 1..<n {
                var s: Float
                repeat {
                    let p = v[k]
                    s = ((f[q] + Float(q * q)) - (f[p] + Float(p * p))) / Float(2 * q - 2 * p)
                    if s <= z[k] { k -= 1 } else { break }
                } while k >= 0
                k += 1
                v[k] = q
                z[k] = s
                z[k + 1] = Float.infinity
            }
        }
        k = 0
        for q in 0..<n {
            while z[k + 1] < Float(q) { k += 1 }
            let p = v[k]
            d[q] = Float((q - p) * (q - p)) + f[p]
        }
    }
}
