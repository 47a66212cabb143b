/// Rectified linear unit, `max(x, 0)`, as Keras's `Activation("relu")`. Its gradient at 0 is 0,
/// as TensorFlow's is.
public final class ReLU: ImageLocalLayer {
    public let name: String
    public let inputShape: [Int]
    public let output: Tensor
    private let gradInput: Tensor
    private var input: Tensor?

    public init(name: String, inputShape: [Int], capacity: Int) {
        self.name = name
        self.inputShape = inputShape
        output = Tensor(shape: [capacity] + inputShape)
        gradInput = Tensor(shape: [capacity] + inputShape)
    }

    public var outputShape: [Int] { inputShape }
    public var inputGradient: Tensor? { gradInput }
    public var workingFloatsPerImage: Int { 2 * output.sampleCount }

    public func prepareForward(input: Tensor, workers: Int) { self.input = input }

    public func forward(images: Range<Int>, worker: Int) {
        guard let input else { preconditionFailure("\(name): forward before prepareForward") }
        let n = output.sampleCount, start = images.lowerBound * n
        reluForward(input.data + start, output.data + start, count: images.count * n)
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        let n = output.sampleCount, start = images.lowerBound * n
        reluBackward(output.data + start, gradOutput.data + start, gradInput.data + start, count: images.count * n)
    }
}
