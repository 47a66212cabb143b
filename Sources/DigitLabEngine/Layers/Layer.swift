/// A trainable tensor and the gradient of the loss with respect to it.
public final class Parameter: @unchecked Sendable {
    /// Keras's name for it within its layer: "kernel", "bias", "gamma", "beta".
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

/// A tensor a layer keeps that the optimizer does not train: batch normalization's moving mean
/// and variance (Keras's non-trainable weights). Saved with the model and in checkpoints.
public final class StateVariable: @unchecked Sendable {
    /// Keras's name for it within its layer: "moving_mean", "moving_variance".
    public let name: String
    public let value: Tensor

    public init(name: String, shape: [Int]) {
        self.name = name
        self.value = Tensor(shape: shape)
    }

    public var shape: [Int] { value.shape }
}

/// Whether a pass trains the network or only reads it, the flag layers such as dropout and batch
/// normalization read (Keras's `training` argument). Evaluation, validation and prediction run in
/// inference mode; a training step's forward pass in training mode.
public enum PassMode: Sendable, Equatable {
    /// Dropout drops, batch normalization uses and updates batch statistics, pooling records
    /// where each maximum was for the backward pass.
    case training
    /// Dropout passes its input on, batch normalization uses its moving statistics, and nothing
    /// is recorded for a backward pass.
    case inference
}

/// One stage of a sequential network, in the Darknet manner: it owns its output and
/// input-gradient buffers (sized for the model's batch capacity), and its forward and backward
/// passes sit side by side.
///
/// `forward` reads the previous layer's output and returns this layer's, which stays valid until
/// the next forward call; `backward` receives the gradient with respect to that output and returns
/// the gradient with respect to the input, having filled its parameters' gradients. Backward
/// follows a forward pass in training mode.
public protocol Layer: AnyObject {
    /// Keras's layer name: conv1, relu1, pool1, ..., flatten, dense1, relu_d1, ..., from the plan.
    var name: String { get }
    /// Shape of one input sample (without the batch dimension).
    var inputShape: [Int] { get }
    /// Shape of one output sample.
    var outputShape: [Int] { get }
    /// Trainable parameters, in Keras's order (kernel, then bias).
    var parameters: [Parameter] { get }
    /// Variables the optimizer does not train, in Keras's order.
    var state: [StateVariable] { get }
    /// Computes this layer's output for the first `batch` samples of `input`.
    func forward(_ input: Tensor, batch: Int, mode: PassMode) -> Tensor
    /// Back-propagates `gradOutput`; returns the gradient with respect to the last forward's input.
    func backward(_ gradOutput: Tensor, batch: Int) -> Tensor
    /// FLOPs of one sample's forward pass (two per multiply-add); zero for layers without a
    /// matrix product.
    var forwardFLOPs: Int { get }
}

public extension Layer {
    var parameters: [Parameter] { [] }
    var state: [StateVariable] { [] }
    var forwardFLOPs: Int { 0 }
}
