/// 2-D max pooling with a square window and equal stride, "valid" (a trailing row or column that
/// does not fill a window is dropped, as Keras's `MaxPooling2D(2)` does: 11 → 5).
///
/// Backward sends each output's gradient to the first window position (row-major) holding the
/// maximum, as TensorFlow does; it finds that position by comparing the remembered input with the
/// output, so nothing but the input reference is kept between the passes.
public final class MaxPool2D: Layer {
    public let name: String
    public let inputShape: [Int]
    public let poolSize: Int
    private let output: Tensor
    private let gradInput: Tensor
    private var lastInput: Tensor?

    public init(name: String, inputShape: [Int], poolSize: Int = 2, capacity: Int) {
        precondition(inputShape.count == 3, "MaxPool2D input must be [height, width, channels]")
        self.name = name
        self.inputShape = inputShape
        self.poolSize = poolSize
        let outShape = [inputShape[0] / poolSize, inputShape[1] / poolSize, inputShape[2]]
        output = Tensor(shape: [capacity] + outShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
    }

    public var outputShape: [Int] { [inputShape[0] / poolSize, inputShape[1] / poolSize, inputShape[2]] }

    public func forward(_ input: Tensor, batch: Int) -> Tensor {
        lastInput = input
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow) = (h / poolSize, w / poolSize)
        let p = poolSize, src = input.data, dst = output.data
        let vectorized = c % 16 == 0
        parallelFor(batch * oh) { task in
            let b = task / oh, oy = task % oh
            let x = src + b * h * w * c
            for ox in 0..<ow {
                let y = dst + ((b * oh + oy) * ow + ox) * c
                let window = x + (oy * p * w + ox * p) * c
                if vectorized {
                    for ch in stride(from: 0, to: c, by: 16) {
                        var m = load(window + ch)
                        for dy in 0..<p {
                            for dx in 0..<p { m = vmax(m, load(window + (dy * w + dx) * c + ch)) }
                        }
                        store(m, y + ch)
                    }
                } else {
                    for ch in 0..<c {
                        var m = window[ch]
                        for dy in 0..<p { for dx in 0..<p { m = max(m, window[(dy * w + dx) * c + ch]) } }
                        y[ch] = m
                    }
                }
            }
        }
        return output
    }

    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow) = (h / poolSize, w / poolSize)
        let p = poolSize, x = input.data, y = output.data, g = gradOutput.data, dx = gradInput.data
        let vectorized = c % 16 == 0
        parallelFor(batch * oh) { task in
            let b = task / oh, oy = task % oh
            let image = b * h * w * c
            for ox in 0..<ow {
                let o = ((b * oh + oy) * ow + ox) * c
                let corner = image + (oy * p * w + ox * p) * c
                if vectorized {
                    for ch in stride(from: 0, to: c, by: 16) {
                        let m = load(y + o + ch), go = load(g + o + ch)
                        var taken = SIMDMask<SIMD16<Int32>>(repeating: false)
                        for dy in 0..<p {
                            for dxx in 0..<p {
                                let i = corner + (dy * w + dxx) * c + ch
                                let hit = (load(x + i) .== m) .& .!taken
                                store(Lanes(repeating: 0).replacing(with: go, where: hit), dx + i)
                                taken = taken .| hit
                            }
                        }
                    }
                } else {
                    for ch in 0..<c {
                        var taken = false
                        for dy in 0..<p {
                            for dxx in 0..<p {
                                let i = corner + (dy * w + dxx) * c + ch
                                let hit = !taken && x[i] == y[o + ch]
                                dx[i] = hit ? g[o + ch] : 0
                                taken = taken || hit
                            }
                        }
                    }
                }
            }
            // Pixels of a trailing row or column that no window covers get no gradient.
            if w > ow * p {
                for dy in 0..<p {
                    let row = dx + image + ((oy * p + dy) * w + ow * p) * c
                    row.update(repeating: 0, count: (w - ow * p) * c)
                }
            }
            if oy == oh - 1 && h > oh * p {
                (dx + image + oh * p * w * c).update(repeating: 0, count: (h - oh * p) * w * c)
            }
        }
        return gradInput
    }
}
