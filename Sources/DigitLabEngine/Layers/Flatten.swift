/// Keras's `Flatten`: an NHWC sample read as one row-major vector. The memory is already laid out
/// that way, so both passes hand their tensor on unchanged.
public final class Flatten: Layer {
    public let name: String
    public let inputShape: [Int]

    public init(name: String, inputShape: [Int]) {
        self.name = name
        self.inputShape = inputShape
    }

    public var outputShape: [Int] { [inputShape.reduce(1, *)] }
    public func forward(_ input: Tensor, batch: Int) -> Tensor { input }
    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor { gradOutput }
}
