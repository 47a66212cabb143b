/// 2-D max pooling with a square window, "valid" (a trailing row or column that does not fill a
/// window is dropped, as Keras's `MaxPooling2D(2)` does: 11 → 5), strides equal to the window
/// unless given (Keras's `MaxPooling2D(pool_size, strides)`).
///
/// Backward sends each output's gradient to the first window position (row-major) holding the
/// maximum, as TensorFlow does. Forward notes that position for each output (`winners`), so
/// backward does not read the input again: conv1's 26x26x64 output, which by then has left the
/// core's cache, was half of what the pooling's backward moved through memory. The positions are
/// kept as floats, a quarter of the input's size, because float lanes compare and blend in one
/// instruction each where bytes would need packing and unpacking.
///
/// A ReLU just before the pooling can be folded into it (`rectify`): ReLU is monotone, so pooling
/// the rectified values equals rectifying the pooled maxima, a quarter as many, and the ReLU's
/// gradient (zero where its output is zero) becomes "only where the maximum is positive". An
/// `ImageLocalStage` runs a ReLU followed by a MaxPool2D that way.
public final class MaxPool2D: ImageLocalLayer {
    public let name: String
    public let inputShape: [Int]
    public let poolSize: Int
    /// Pixels between neighbouring windows, along rows and columns: `poolSize` unless given.
    public let strides: Int
    public let output: Tensor
    private let gradInput: Tensor
    private var lastInput: Tensor?
    /// Whether the pass records where each maximum was (training passes only).
    private var recording = true
    /// For each output, the window position (row-major) of its input's first maximum, or
    /// `MaxPool2D.noGradient` where a rectified maximum is not positive: written by forward, read by
    /// backward.
    private let winners: Tensor
    /// The `winners` entry of an output whose gradient is zero.
    private static let noGradient: Float = 255

    public init(name: String, inputShape: [Int], poolSize: Int = 2, strides: Int? = nil, capacity: Int) {
        precondition(inputShape.count == 3, "MaxPool2D input must be [height, width, channels]")
        precondition(inputShape[0] >= poolSize && inputShape[1] >= poolSize, "\(name): a window larger than the image")
        self.name = name
        self.inputShape = inputShape
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        let outShape = [(inputShape[0] - poolSize) / self.strides + 1, (inputShape[1] - poolSize) / self.strides + 1, inputShape[2]]
        output = Tensor(shape: [capacity] + outShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
        precondition(poolSize * poolSize < Int(MaxPool2D.noGradient), "a \(poolSize)x\(poolSize) window has too many positions")
        winners = Tensor(shape: output.shape)
    }

    public var outputShape: [Int] { [outputHeight, outputWidth, inputShape[2]] }
    public var inputGradient: Tensor? { gradInput }
    public var workingFloatsPerImage: Int { output.sampleCount + gradInput.sampleCount }

    public func prepareForward(input: Tensor, workers: Int, mode: PassMode) {
        lastInput = input
        recording = mode == .training
    }

    public func forward(images: Range<Int>, worker: Int) {
        guard let input = lastInput else { preconditionFailure("\(name): forward before prepareForward") }
        forward(input, images: images, rectify: false, recordingMaxima: recording)
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        backward(gradOutput, into: .tensor(gradInput), images: images)
    }

    /// Where `backward` writes the gradient with respect to its input.
    public enum Destination {
        /// A whole-batch NHWC tensor, at the images' places.
        case tensor(Tensor)
        /// The chunk's gradient in filter blocks (`packFilterBlocks`; pixels counted from the
        /// chunk's first image): the output-gradient buffer of a direct convolution feeding this
        /// pooling (`Conv2D.outputGradientBlocks`). Needs channels in multiples of 16.
        case filterBlocks(UnsafeMutablePointer<Float>)
    }

    /// Pools `images` of `input` into `output`, with `recordingMaxima` noting each maximum's
    /// position for backward; with `rectify`, each maximum goes through ReLU, and backward passes
    /// no gradient where it is not positive (ReLU's gradient).
    public func forward(_ input: Tensor, images: Range<Int>, rectify: Bool, recordingMaxima: Bool) {
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        for task in images.lowerBound * outputHeight..<images.upperBound * outputHeight {
            let b = task / outputHeight, oy = task % outputHeight
            forward(windowRows: input.data + ((b * h + oy * strides) * w) * c, image: b, rows: oy..<oy + 1,
                    rectify: rectify, recordingMaxima: recordingMaxima)
        }
    }

    /// Rows of windows: the output's height.
    public var outputHeight: Int { (inputShape[0] - poolSize) / strides + 1 }
    /// Windows in a row: the output's width.
    public var outputWidth: Int { (inputShape[1] - poolSize) / strides + 1 }

    /// Pools output rows `rows` of image `b` from `source`, the input rows those windows cover
    /// (from the first window row's top, `strides` rows a window row) (NHWC, rows of `inputShape[1]` pixels, one after the other), wherever
    /// they are: in `input`, or in a buffer a stage has just computed them into
    /// (`Conv2D.forward(rows:ofImage:columns:worker:)`). Otherwise as `forward(_:images:rectify:recordingMaxima:)`.
    public func forward(windowRows source: UnsafePointer<Float>, image b: Int, rows: Range<Int>,
                        rectify: Bool, recordingMaxima: Bool) {
        let (w, c) = (inputShape[1], inputShape[2])
        let (oh, ow) = (outputHeight, outputWidth)
        let p = poolSize, s = strides, dst = output.data, win = winners.data
        let floor = Lanes(repeating: rectify ? 0 : -.infinity)
        let zero = Lanes(repeating: 0), none = Lanes(repeating: MaxPool2D.noGradient)
        for oy in rows {
            let windowRow = source + (oy - rows.lowerBound) * s * w * c
            for ox in 0..<ow {
                let o = ((b * oh + oy) * ow + ox) * c
                let window = windowRow + ox * s * c
                var ch = 0
                while ch + 16 <= c {
                    let m: Lanes, first: Lanes
                    if p == 2 {
                        // The common window, unrolled: its four values stay in registers for the
                        // search below.
                        let (v0, v1) = (load(window + ch), load(window + c + ch))
                        let (v2, v3) = (load(window + w * c + ch), load(window + (w + 1) * c + ch))
                        m = vmax(vmax(vmax(vmax(v0, v0), v1), v2), v3)
                        // Last position first, so that the first position holding the maximum wins.
                        first = recordingMaxima
                            ? none.replacing(with: 3, where: v3 .== m).replacing(with: 2, where: v2 .== m)
                                .replacing(with: 1, where: v1 .== m).replacing(with: 0, where: v0 .== m)
                            : none
                    } else {
                        m = windowMax(window + ch, p: p, w: w, c: c)
                        var f = none
                        if recordingMaxima {
                            for k in (0..<p * p).reversed() {
                                f = f.replacing(with: Float(k), where: load(window + ch + ((k / p) * w + k % p) * c) .== m)
                            }
                        }
                        first = f
                    }
                    store(vmax(m, floor), dst + o + ch)
                    if recordingMaxima {
                        store(rectify ? first.replacing(with: none, where: .!(m .> zero)) : first, win + o + ch)
                    }
                    ch += 16
                }
                while ch < c {
                    var m = window[ch]
                    for dy in 0..<p { for dx in 0..<p { m = max(m, window[(dy * w + dx) * c + ch]) } }
                    dst[o + ch] = max(m, rectify ? 0 : -.infinity)
                    if recordingMaxima {
                        var first = MaxPool2D.noGradient
                        for k in (0..<p * p).reversed() where window[((k / p) * w + k % p) * c + ch] == m { first = Float(k) }
                        win[o + ch] = rectify && !(m > 0) ? MaxPool2D.noGradient : first
                    }
                    ch += 1
                }
            }
        }
    }

    /// Writes the gradient with respect to the input of `images` into `destination`: each output's
    /// gradient to its window's first maximum, zero elsewhere; after a rectified forward, zero also
    /// where the maximum was not positive.
    public func backward(_ gradOutput: Tensor, into destination: Destination, images: Range<Int>) {
        guard strides == poolSize else {
            guard case .tensor(let t) = destination else { preconditionFailure("\(name): filter blocks need windows that tile") }
            backwardOverlapping(gradOutput, into: t, images: images)
            return
        }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow) = (outputHeight, outputWidth)
        let p = poolSize, g = gradOutput.data
        // Input pixel `pixel` (counted from the chunk's first image), channel `ch`, is at
        // `origin + pixel·pixelStride + (ch rounded down to W)·blockScale + ch % W`, W the
        // direct kernels' `tileColumns` (a power of two): blockScale 1 gives NHWC, pixelStride W
        // and blockScale = the chunk's pixels give filter blocks.
        let (origin, pixelStride, blockScale): (UnsafeMutablePointer<Float>, Int, Int) = switch destination {
        case .tensor(let t): (t.data + images.lowerBound * h * w * c, c, 1)
        case .filterBlocks(let blocks): (blocks, tileColumns, images.count * h * w)
        }
        if case .filterBlocks = destination {
            precondition(c % tileColumns == 0, "\(name): filter blocks need channels in \(tileColumns)s, not \(c)")
        }
        let mask = tileColumns - 1
        @inline(__always) func at(_ pixel: Int, _ ch: Int) -> UnsafeMutablePointer<Float> {
            origin + pixel * pixelStride + (ch & ~mask) * blockScale + (ch & mask)
        }
        let zero = Lanes(repeating: 0), win = winners.data
        for task in images.lowerBound * oh..<images.upperBound * oh {
            let b = task / oh, oy = task % oh
            let firstPixel = (b - images.lowerBound) * h * w
            for ox in 0..<ow {
                let o = ((b * oh + oy) * ow + ox) * c
                let cornerPixel = firstPixel + oy * p * w + ox * p
                var ch = 0
                while ch + 16 <= c {
                    let first = load(win + o + ch), go = load(g + o + ch)
                    @inline(__always) func place(_ k: Int, _ pixel: Int) {
                        store(zero.replacing(with: go, where: first .== Lanes(repeating: Float(k))), at(pixel, ch))
                    }
                    if p == 2 {
                        // The common window, without a division per position.
                        place(0, cornerPixel); place(1, cornerPixel + 1)
                        place(2, cornerPixel + w); place(3, cornerPixel + w + 1)
                    } else {
                        for k in 0..<p * p { place(k, cornerPixel + (k / p) * w + k % p) }
                    }
                    ch += 16
                }
                while ch < c {
                    for k in 0..<p * p { at(cornerPixel + (k / p) * w + k % p, ch).pointee = win[o + ch] == Float(k) ? g[o + ch] : 0 }
                    ch += 1
                }
            }
            // Pixels of a trailing column, and after the last window row a trailing row, that no
            // window covers get no gradient.
            for dy in 0..<p where w > ow * p {
                let row = firstPixel + (oy * p + dy) * w
                for xx in ow * p..<w { zeroPixel(row + xx, channels: c, at) }
            }
            if oy == oh - 1 {
                for y in oh * p..<h { for xx in 0..<w { zeroPixel(firstPixel + y * w + xx, channels: c, at) } }
            }
        }
    }

    /// Backward for strides other than the window: windows overlap (or leave gaps), so each
    /// output's gradient is added to its window's first maximum over an image zeroed first.
    private func backwardOverlapping(_ gradOutput: Tensor, into destination: Tensor, images: Range<Int>) {
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow, p, s) = (outputHeight, outputWidth, poolSize, strides)
        let g = gradOutput.data, win = winners.data
        for b in images {
            let image = destination.data + b * h * w * c
            image.update(repeating: 0, count: h * w * c)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let o = ((b * oh + oy) * ow + ox) * c
                    for ch in 0..<c where win[o + ch] != MaxPool2D.noGradient {
                        let k = Int(win[o + ch])
                        image[((oy * s + k / p) * w + ox * s + k % p) * c + ch] += g[o + ch]
                    }
                }
            }
        }
    }

}

/// Writes zero to every channel of `pixel`, at the places `at` gives.
@inline(__always)
private func zeroPixel(_ pixel: Int, channels c: Int, _ at: (Int, Int) -> UnsafeMutablePointer<Float>) {
    var ch = 0
    while ch + 16 <= c { store(Lanes(repeating: 0), at(pixel, ch)); ch += 16 }
    while ch < c { at(pixel, ch).pointee = 0; ch += 1 }
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

extension MaxPool2D {
    /// `max_pool2d: {pool_size: 2}`: Keras's `MaxPooling2D`, valid.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "max_pool2d"
        public static let kerasClass = "MaxPooling2D"
        public static let help = "2-D max pooling (Keras's MaxPooling2D), valid: a trailing row or column no window fills is dropped"
        public static var settings: [LayerSetting<Self>] {
            [.int("pool_size", \.poolSize, 1...8, default: 2, "height and width of the window"),
             .int("strides", \.strides, 1...8, defaultsTo: "pool_size", "pixels between neighbouring windows")]
        }

        public var poolSize = 2
        public var strides: Int?

        public init() {}
        public init(poolSize: Int, strides: Int? = nil) { self.poolSize = poolSize; self.strides = strides }

        /// Whether the windows tile the image (strides equal to the window), as a fused step needs.
        public var tiles: Bool { (strides ?? poolSize) == poolSize }

        public var naming: LayerNaming { .counted("pool") }
        public var role: FusionRole { .maxPooling(self) }

        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] {
            try poolingOutputShape(input, window: poolSize, strides: strides ?? poolSize, type: Self.typeName)
        }

        /// The engine layer itself, for a plan that fuses it with what comes before.
        public func make(name: String, input: [Int], context: LayerContext) -> MaxPool2D {
            MaxPool2D(name: name, inputShape: input, poolSize: poolSize, strides: strides, capacity: context.capacity)
        }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .imageLocal(make(name: name, input: input, context: context))
        }
    }
}

/// The output of a valid pooling of `input` by `window`x`window` windows `strides` apart, or what
/// is wrong: flat input, or an image smaller than a window.
func poolingOutputShape(_ input: [Int], window: Int, strides: Int, type: String) throws(LayerProblem) -> [Int] {
    guard input.count == 3 else {
        throw LayerProblem("\(type) needs images (height x width x channels); its input is \(shapeText(input)) features after flatten")
    }
    guard input[0] >= window, input[1] >= window else {
        throw LayerProblem("shrinks the image to nothing: a \(window)x\(window) window on a \(input[0])x\(input[1]) input")
    }
    return [(input[0] - window) / strides + 1, (input[1] - window) / strides + 1, input[2]]
}
