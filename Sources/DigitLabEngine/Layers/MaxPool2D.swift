/// 2-D max pooling with a square window and equal stride, "valid" (a trailing row or column that
/// does not fill a window is dropped, as Keras's `MaxPooling2D(2)` does: 11 → 5).
///
/// Forward remembers where each maximum came from, so backward is a scatter.
public final class MaxPool2D: Layer {
    public let name: String
    public let inputShape: [Int]
    public let poolSize: Int
    private let output: Tensor
    private let gradInput: Tensor
    /// For each output element, the flat index of its maximum within the input sample.
    private let argmax: UnsafeMutablePointer<Int32>
    private let argmaxCount: Int

    public init(name: String, inputShape: [Int], poolSize: Int = 2, capacity: Int) {
        precondition(inputShape.count == 3, "MaxPool2D input must be [height, width, channels]")
        self.name = name
        self.inputShape = inputShape
        self.poolSize = poolSize
        let outShape = [inputShape[0] / poolSize, inputShape[1] / poolSize, inputShape[2]]
        output = Tensor(shape: [capacity] + outShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
        argmaxCount = output.count
        argmax = .allocate(capacity: argmaxCount)
        argmax.initialize(repeating: 0, count: argmaxCount)
    }

    deinit { argmax.deallocate() }

    public var outputShape: [Int] { [inputShape[0] / poolSize, inputShape[1] / poolSize, inputShape[2]] }

    public func forward(_ input: Tensor, batch: Int) -> Tensor {
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (oh, ow) = (h / poolSize, w / poolSize)
        let inSample = h * w * c, outSample = oh * ow * c
        let p = poolSize, src = input.data, dst = output.data, arg = argmax
        parallelFor(batch) { b in
            let x = src + b * inSample
            let y = dst + b * outSample
            let a = arg + b * outSample
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let o = (oy * ow + ox) * c
                    // Start from the window's top-left pixel; a later pixel wins only if strictly
                    // greater, so ties go to the first in row-major order.
                    let first = (oy * p * w + ox * p) * c
                    for ch in 0..<c {
                        y[o + ch] = x[first + ch]
                        a[o + ch] = Int32(first + ch)
                    }
                    for dy in 0..<p {
                        for dx in 0..<p where dy != 0 || dx != 0 {
                            let i = ((oy * p + dy) * w + ox * p + dx) * c
                            for ch in 0..<c where x[i + ch] > y[o + ch] {
                                y[o + ch] = x[i + ch]
                                a[o + ch] = Int32(i + ch)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        let inSample = inputShape.reduce(1, *)
        let outSample = outputShape.reduce(1, *)
        let g = gradOutput.data, dx = gradInput.data, arg = argmax
        parallelFor(batch) { b in
            let d = dx + b * inSample
            d.update(repeating: 0, count: inSample)
            let go = g + b * outSample, a = arg + b * outSample
            for o in 0..<outSample { d[Int(a[o])] += go[o] }
        }
        return gradInput
    }
}
