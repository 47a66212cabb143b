/// One channel of an image as floats, rows from top to bottom: the form the digit pipelines work on.
public struct Plane: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(width > 0 && height > 0 && values.count == width * height, "\(values.count) values for \(width)x\(height)")
        self.width = width
        self.height = height
        self.values = values
    }

    public init(width: Int, height: Int, fill: Float = 0) {
        self.init(width: width, height: height, values: [Float](repeating: fill, count: width * height))
    }

    /// The luma of one grey plane (itself) or of three (R, G, B): `0.299 R + 0.587 G + 0.114 B`,
    /// the weights the mnist pipeline judges ink by.
    public static func luma(_ planes: [Plane]) -> Plane {
        guard planes.count == 3 else { return planes[0] }
        let (r, g, b) = (planes[0].values, planes[1].values, planes[2].values)
        return Plane(width: planes[0].width, height: planes[0].height,
                     values: (0..<r.count).map { 0.299 * r[$0] + 0.587 * g[$0] + 0.114 * b[$0] })
    }

    public subscript(x: Int, y: Int) -> Float {
        get { values[y * width + x] }
        set { values[y * width + x] = newValue }
    }

    /// Resampled by area averaging with OpenCV's `INTER_AREA` rules (see `AreaResize`), unrounded.
    public func resizedArea(width w: Int, height h: Int) -> Plane {
        Plane(width: w, height: h, values: AreaResize.resize(values, width: width, height: height, toWidth: w, toHeight: h))
    }

    /// Resampled bilinearly with pixel centres aligned (`align_corners=False`), for enlarging.
    public func resizedBilinear(width w: Int, height h: Int) -> Plane {
        var out = [Float](repeating: 0, count: w * h)
        let sx = Double(width) / Double(w), sy = Double(height) / Double(h)
        values.withUnsafeBufferPointer { src in
            for y in 0..<h {
                let fy = max(0, (Double(y) + 0.5) * sy - 0.5)
                let y0 = min(Int(fy), height - 1), y1 = min(y0 + 1, height - 1)
                let ty = Float(fy - Double(y0))
                for x in 0..<w {
                    let fx = max(0, (Double(x) + 0.5) * sx - 0.5)
                    let x0 = min(Int(fx), width - 1), x1 = min(x0 + 1, width - 1)
                    let tx = Float(fx - Double(x0))
                    let top = src[y0 * width + x0] * (1 - tx) + src[y0 * width + x1] * tx
                    let bottom = src[y1 * width + x0] * (1 - tx) + src[y1 * width + x1] * tx
                    out[y * w + x] = top * (1 - ty) + bottom * ty
                }
            }
        }
        return Plane(width: w, height: h, values: out)
    }

    /// The median of the values (of a strided sample of at most `sample` of them).
    func median(sample: Int = 200_000) -> Float {
        percentile(0.5, sample: sample)
    }

    func percentile(_ q: Double, sample: Int = 200_000) -> Float {
        Plane.percentile(values, q, sample: sample)
    }

    static func percentile(_ values: [Float], _ q: Double, sample: Int = 200_000) -> Float {
        guard !values.isEmpty else { return 0 }
        let stride = max(1, values.count / sample)
        var picked = [Float]()
        picked.reserveCapacity(values.count / stride + 1)
        var i = 0
        while i < values.count { picked.append(values[i]); i += stride }
        let k = min(picked.count - 1, Int(Double(picked.count - 1) * q + 0.5))
        return picked.withUnsafeMutableBufferPointer { select($0, k) }
    }

    /// The k-th smallest value (Hoare's quickselect with a median-of-three pivot), reordering `a`.
    static func select(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
        var lo = 0, hi = a.count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }
}
