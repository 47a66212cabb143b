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
    public func forward(_ input: Tensor, batch: Int, mode: PassMode) -> Tensor { input }
    public func backward(_ gradOutput: Tensor, batch: Int) -> Tensor { gradOutput }
}

extension Flatten {
    /// `flatten: {}`: Keras's `Flatten`.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "flatten"
        public static let kerasClass = "Flatten"
        public static let help = "images to flat vectors (Keras's Flatten), before the first dense layer"
        public static var settings: [LayerSetting<Self>] { [] }

        public init() {}

        public var naming: LayerNaming { .single("flatten") }
        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] { [input.reduce(1, *)] }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .wholeBatch(Flatten(name: name, inputShape: input))
        }
    }
}
