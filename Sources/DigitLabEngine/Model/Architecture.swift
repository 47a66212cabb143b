/// A network as a list of layers (Keras's `Sequential`): its input sample's shape and each layer's
/// type and settings, the last ending in softmax. `LayerPlan` works out the rest.
public struct Architecture: Sendable, Equatable {
    /// One input sample, `[height, width, channels]`.
    public var inputShape: [Int]
    public var layers: [any LayerConfiguration]
    /// The paper's shorthand the list was expanded from, if it was: a saved model records the
    /// shorthand, as models saved before layer lists existed do.
    public var paper: PaperArchitecture?

    public init(inputShape: [Int], layers: [any LayerConfiguration]) {
        self.inputShape = inputShape
        self.layers = layers
        paper = nil
    }

    /// The list the paper's shorthand stands for (`PaperArchitecture.layers`).
    public init(_ paper: PaperArchitecture) {
        inputShape = paper.inputShape
        layers = paper.layers
        self.paper = paper
    }

    /// The paper's family, by its shorthand; the defaults are the paper's model.
    public static func paper(inputShape: [Int] = [28, 28, 1], convFilters: [Int] = [64, 64, 64], kernelSize: Int = 3,
                             poolSize: Int = 2, denseUnits: [Int] = [64, 32, 10]) -> Architecture {
        Architecture(PaperArchitecture(inputShape: inputShape, convFilters: convFilters, kernelSize: kernelSize,
                                       poolSize: poolSize, denseUnits: denseUnits))
    }

    /// Each layer's type name and settings in force, in order: what two architectures must share
    /// to be the same network.
    public var layerSettings: [(type: String, settings: [(key: String, value: String)])] {
        layers.map { ($0.typeName, $0.settingValues) }
    }

    public static func == (a: Architecture, b: Architecture) -> Bool {
        a.inputShape == b.inputShape && a.paper == b.paper && a.layerSettings.count == b.layerSettings.count
            && zip(a.layerSettings, b.layerSettings).allSatisfy { x, y in
                x.type == y.type && x.settings.map(\.key) == y.settings.map(\.key) && x.settings.map(\.value) == y.settings.map(\.value)
            }
    }
}

/// The shape of the paper's network family, the spec's shorthand (`model.conv_filters`,
/// `kernel_size`, `pool_size`, `dense_units`): blocks of Conv2D + ReLU + MaxPool2D, Flatten, then
/// dense layers with ReLU between them, the last one feeding the softmax. Saved models of this
/// family record it as this JSON.
public struct PaperArchitecture: Sendable, Equatable, Codable {
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

    /// The layer list the shorthand stands for: per block `conv2d`, `activation: relu`,
    /// `max_pool2d`; `flatten`; per dense layer `dense` and `activation` (relu, the last softmax).
    /// The plan names them as the paper's Keras model did: conv1, relu1, pool1, ..., flatten,
    /// dense1, relu_d1, ..., softmax.
    public var layers: [any LayerConfiguration] {
        var list: [any LayerConfiguration] = []
        for filters in convFilters {
            list += [Conv2D.Configuration(filters: filters, kernelSize: kernelSize), Activation.Configuration(.relu),
                     MaxPool2D.Configuration(poolSize: poolSize)] as [any LayerConfiguration]
        }
        list.append(Flatten.Configuration())
        for (i, units) in denseUnits.enumerated() {
            list.append(Dense.Configuration(units: units))
            list.append(Activation.Configuration(i + 1 == denseUnits.count ? .softmax : .relu))
        }
        return list
    }
}
