/// The shape of the paper's network family: a stack of Conv2D + ReLU + MaxPool2D blocks, Flatten,
/// then dense layers with ReLU between them, the last one feeding the softmax.
public struct Architecture: Sendable, Equatable, Codable {
    /// One input sample, `[height, width, channels]`.
    public var inputShape: [Int]
    /// Filters of each convolution block (the paper: 64, 64, 64).
    public var convFilters: [Int]
    /// Square kernel size of every convolution (the paper: 3).
    public var kernelSize: Int
    /// Square window and stride of every max pooling (the paper: 2).
    public var poolSize: Int
    /// Units of every dense layer, the last being the number of classes (the paper: 64, 32, 10).
    public var denseUnits: [Int]

    public init(inputShape: [Int] = [28, 28, 1], convFilters: [Int] = [64, 64, 64], kernelSize: Int = 3,
                poolSize: Int = 2, denseUnits: [Int] = [64, 32, 10]) {
        self.inputShape = inputShape
        self.convFilters = convFilters
        self.kernelSize = kernelSize
        self.poolSize = poolSize
        self.denseUnits = denseUnits
    }

    public var classes: Int { denseUnits.last ?? 0 }

    /// A reason this architecture cannot be built (a block shrinks the image to nothing), or nil.
    public var problem: String? {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
            return "input shape must be three positive numbers [height, width, channels]"
        }
        guard !denseUnits.isEmpty, denseUnits.allSatisfy({ $0 > 0 }) else { return "dense units must be positive" }
        guard convFilters.allSatisfy({ $0 > 0 }), kernelSize > 0, poolSize > 0 else {
            return "filters, kernel size and pool size must be positive"
        }
        var (h, w) = (inputShape[0], inputShape[1])
        for (i, _) in convFilters.enumerated() {
            h = (h - kernelSize + 1) / poolSize
            w = (w - kernelSize + 1) / poolSize
            if h < 1 || w < 1 { return "convolution block \(i + 1) leaves no pixels (input \(inputShape[0])x\(inputShape[1]))" }
        }
        return nil
    }
}
