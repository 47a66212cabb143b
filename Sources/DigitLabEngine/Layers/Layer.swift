/// A trainable tensor and the gradient of the loss with respect to it.
public final class Parameter: @unchecked Sendable {
    /// Keras's name for it within its layer: "kernel" or "bias".
    public let name: String
    public let value: Tensor
    public let gradient: Tensor

    public init(name: String, shape: [Int]) {
        self.name = name
        self.value = Tensor(shape: shape)
        self.gradient = Tensor(shape: shape)
    }

    public var shape: [Int] { value.shape }
}

/// One stage of a sequential network, in the Darknet manner: it owns its output and
/// input-gradient buffers (sized for the model's batch capacity), and its forward and backward
/// passes sit side by side.
///
/// `forward` reads the previous layer's output and returns this layer's, which stays valid until
/// the next forward call; `backward` receives the gradient with respect to that output and returns
/// the gradient with respect to the input, having filled its parameters' gradients.
public protocol Layer: AnyObject {
    /// Keras's layer name: conv1, relu1, pool1, ..., flatten, dense1, relu_d1, ..., softmax.
    var name: String { get }
    /// Shape of one input sample (without the batch dimension).
    var inputShape: [Int] { get }
    /// Shape of one output sample.
    var outputShape: [Int] { get }
    /// Trainable parameters, in Keras's order (kernel, then bias).
    var parameters: [Parameter] { get }
    /// Computes this layer's output for the first `batch` samples of `input`.
    func forward(_ input: Tensor, batch: Int) -> Tensor
    /// Back-propagates `gradOutput`; returns the gradient with respect to the last forward's input.
    func backward(_ gradOutput: Tensor, batch: Int) -> Tensor
    /// FLOPs of one sample's forward pass (two per multiply-add); zero for layers without a
    /// matrix product.
    var forwardFLOPs: Int { get }
}

public extension Layer {
    var parameters: [Parameter] { [] }
    var forwardFLOPs: Int { 0 }
}
