/// Rectified linear unit, `max(x, 0)`, as Keras's `Activation("relu")`. Its gradient at 0 is 0,
/// as TensorFlow's is.
public final class ReLU: Layer {
    public let name: String
    public let inputShape: [Int]
    private let output: Tensor
    private let gradInput: Tensor

    public init(name: String, inputShape: [Int], capacity: Int) {
        self.name = name
        self.inputShape = inputShape
        output = Tensor(shape: [capacity] + inputShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
    }

    public var outputShape: [Int] { inputShape }

    public func forward(_ input: Tensor, batch: Int) -> Tensor {
        reluForward(input.data, output.data, count: batch * output.sampleCount)
        return output
    }

    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor {
        reluBackward(output.data, gradOutput.data, gradInput.data, count: batch * output.sampleCount)
        return gradInput
    }
}
