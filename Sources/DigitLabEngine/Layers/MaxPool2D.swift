/// 2-D max pooling with a square window and equal stride, "valid" (a trailing row or column that
/// does not fill a window is dropped, as Keras's `MaxPooling2D(2)` does: 11 → 5).
///
/// Backward sends each output's gradient to the first window position (row-major) holding the
/// maximum, as TensorFlow does; it finds that position by taking the window's maximum again, so
/// nothing but the input reference is kept between the passes.
///
/// A ReLU just before the pooling can be folded into it (`rectify`): ReLU is monotone, so pooling
/// the rectified values equals rectifying the pooled maxima, a quarter as many, and the ReLU's
/// gradient (zero where its output is zero) becomes "only where the maximum is positive". An
/// `ImageLocalStage` runs a ReLU followed by a MaxPool2D that way.
public final class MaxPool2D: ImageLocalLayer {
    public let name: String
    public let inputShape: [Int]
    public let poolSize: Int
    public let output: Tensor
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
    public var inputGradient: Tensor? { gradInput }
    public var workingFloatsPerImage: Int { output.sampleCount + gradInput.sampleCount }

    public func prepareForward(input: Tensor, workers: Int) { lastInput = input }

    public func forward(images: Range<Int>, worker: Int) {
        guard let input = lastInput else { preconditionFailure("\(name): forward before prepareForward") }
        forward(input, images: images, rectify: false)
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        backward(gradOutput, input: input, into: gradInput, images: images, rectify: false)
    }

    /// Pools `images` of `input` into `output`; with `rectify`, each maximum goes through ReLU.
    public func forward(_ input: Tensor, images: Range<Int>, rectify: Bool) {
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow) = (h / poolSize, w / poolSize)
        let p = poolSize, src = input.data, dst = output.data
        let floor: Float = rectify ? 0 : -.infinity
        for task in images.lowerBound * oh..<images.upperBound * oh {
            let b = task / oh, oy = task % oh
            let x = src + b * h * w * c
            for ox in 0..<ow {
                let y = dst + ((b * oh + oy) * ow + ox) * c
                let window = x + (oy * p * w + ox * p) * c
                var ch = 0
                while ch + 16 <= c {
                    store(vmax(windowMax(window + ch, p: p, w: w, c: c), Lanes(repeating: floor)), y + ch)
                    ch += 16
                }
                while ch < c {
                    var m = window[ch]
                    for dy in 0..<p { for dx in 0..<p { m = max(m, window[(dy * w + dx) * c + ch]) } }
                    y[ch] = max(m, floor)
                    ch += 1
                }
            }
        }
    }

    /// Writes the gradient with respect to `input` for `images` into `gradient`: each output's
    /// gradient to its window's first maximum, zero elsewhere; with `rectify`, zero also where the
    /// maximum is not positive.
    public func backward(_ gradOutput: Tensor, input: Tensor, into gradient: Tensor, images: Range<Int>, rectify: Bool) {
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow) = (h / poolSize, w / poolSize)
        let p = poolSize, x = input.data, g = gradOutput.data, dx = gradient.data
        let zero = Lanes(repeating: 0)
        for task in images.lowerBound * oh..<images.upperBound * oh {
            let b = task / oh, oy = task % oh
            let image = b * h * w * c
            for ox in 0..<ow {
                let o = ((b * oh + oy) * ow + ox) * c
                let corner = image + (oy * p * w + ox * p) * c
                var ch = 0
                while ch + 16 <= c {
                    let m = windowMax(x + corner + ch, p: p, w: w, c: c)
                    var go = load(g + o + ch)
                    if rectify { go = zero.replacing(with: go, where: m .> zero) }
                    var taken = SIMDMask<SIMD16<Int32>>(repeating: false)
                    for dy in 0..<p {
                        for dxx in 0..<p {
                            let i = corner + (dy * w + dxx) * c + ch
                            let hit = (load(x + i) .== m) .& .!taken
                            store(zero.replacing(with: go, where: hit), dx + i)
                            taken = taken .| hit
                        }
                    }
                    ch += 16
                }
                while ch < c {
                    var m = x[corner + ch]
                    for dy in 0..<p { for dxx in 0..<p { m = max(m, x[corner + (dy * w + dxx) * c + ch]) } }
                    let go = rectify && !(m > 0) ? 0 : g[o + ch]
                    var taken = false
                    for dy in 0..<p {
                        for dxx in 0..<p {
                            let i = corner + (dy * w + dxx) * c + ch
                            let hit = !taken && x[i] == m
                            dx[i] = hit ? go : 0
                            taken = taken || hit
                        }
                    }
                    ch += 1
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
    }
}

/// The maximum over a `p`×`p` window of 16 channels starting at `window`, in an NHWC image `w`
/// pixels wide with `c` channels.
@inline(__always)
private func windowMax(_ window: UnsafePointer<Float>, p: Int, w: Int, c: Int) -> Lanes {
    var m = load(window)
    for dy in 0..<p {
        for dx in 0..<p { m = vmax(m, load(window + (dy * w + dx) * c)) }
    }
    return m
}
