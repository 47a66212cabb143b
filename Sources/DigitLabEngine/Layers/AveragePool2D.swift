/// 2-D average pooling, as Keras's `AveragePooling2D(pool_size, strides)` with "valid" padding:
/// each output is the mean of its window; backward spreads each output's gradient evenly over the
/// window (adding where windows overlap).
public final class AveragePool2D: ImageLocalLayer {
    public let name: String
    public let inputShape: [Int]
    public let poolSize: Int
    public let strides: Int
    public let output: Tensor
    private let gradInput: Tensor
    private var input: Tensor?

    public init(name: String, inputShape: [Int], poolSize: Int = 2, strides: Int? = nil, capacity: Int) {
        precondition(inputShape.count == 3 && inputShape[0] >= poolSize && inputShape[1] >= poolSize,
                     "\(name): input \(inputShape) for a \(poolSize)x\(poolSize) window")
        self.name = name
        self.inputShape = inputShape
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        output = Tensor(shape: [capacity, (inputShape[0] - poolSize) / self.strides + 1,
                                (inputShape[1] - poolSize) / self.strides + 1, inputShape[2]])
        gradInput = Tensor(shape: [capacity] + inputShape)
    }

    public var outputShape: [Int] { Array(output.shape.dropFirst()) }
    public var inputGradient: Tensor? { gradInput }
    public var workingFloatsPerImage: Int { output.sampleCount + gradInput.sampleCount }

    public func prepareForward(input: Tensor, workers: Int, mode: PassMode) { self.input = input }

    public func forward(images: Range<Int>, worker: Int) {
        guard let input else { preconditionFailure("\(name): forward before prepareForward") }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow, p, s) = (output.shape[1], output.shape[2], poolSize, strides)
        let count = Float(p * p)
        for b in images {
            let image = input.data + b * h * w * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let o = output.data + ((b * oh + oy) * ow + ox) * c
                    for ch in 0..<c {
                        var sum: Float = 0
                        for dy in 0..<p { for dx in 0..<p { sum += image[((oy * s + dy) * w + ox * s + dx) * c + ch] } }
                        o[ch] = sum / count
                    }
                }
            }
        }
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow, p, s) = (output.shape[1], output.shape[2], poolSize, strides)
        let count = Float(p * p)
        for b in images {
            let image = gradInput.data + b * h * w * c
            image.update(repeating: 0, count: h * w * c)
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let g = gradOutput.data + ((b * oh + oy) * ow + ox) * c
                    for dy in 0..<p {
                        for dx in 0..<p {
                            let d = image + ((oy * s + dy) * w + ox * s + dx) * c
                            for ch in 0..<c { d[ch] += g[ch] / count }
                        }
                    }
                }
            }
        }
    }
}

extension AveragePool2D {
    /// `average_pool2d: {pool_size: 2}`: Keras's `AveragePooling2D`, valid.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "average_pool2d"
        public static let kerasClass = "AveragePooling2D"
        public static let help = "2-D average pooling (Keras's AveragePooling2D), valid"
        public static var settings: [LayerSetting<Self>] {
            [.int("pool_size", \.poolSize, 1...8, default: 2, "height and width of the window"),
             .int("strides", \.strides, 1...8, defaultsTo: "pool_size", "pixels between neighbouring windows")]
        }

        public var poolSize = 2
        public var strides: Int?

        public init() {}
        public init(poolSize: Int, strides: Int? = nil) { self.poolSize = poolSize; self.strides = strides }

        public var naming: LayerNaming { .counted("pool") }

        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] {
            try poolingOutputShape(input, window: poolSize, strides: strides ?? poolSize, type: Self.typeName)
        }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .imageLocal(AveragePool2D(name: name, inputShape: input, poolSize: poolSize, strides: strides, capacity: context.capacity))
        }
    }
}
