/// A layer as a spec describes it: its type and settings, and what follows from them for a given
/// input shape (the output shape, the parameters and state to allocate, the engine layer to
/// build). Each layer type's file holds its configuration beside its forward and backward passes;
/// `LayerCatalog` lists the types; the plan (`LayerPlan`) is the one walk over a network's list.
public protocol LayerConfiguration: Sendable {
    /// The type's name in specs and saved models, as Keras's layer in snake case: `conv2d`.
    static var typeName: String { get }
    /// One line on what the layer does, for `digitlab spec-keys`.
    static var help: String { get }
    /// Keras's class for the layer (`Conv2D`), as its `model.summary()` prints it.
    static var kerasClass: String { get }
    /// Its settings: each key, its kind and meaning, bound to the property it sets.
    static var settings: [LayerSetting<Self>] { get }
    /// A configuration whose every setting is about to be written from `settings` (required ones
    /// from the spec, optional ones from the spec or their defaults); these values are never read.
    init()

    /// How plan names the layer.
    var naming: LayerNaming { get }
    /// The shape of one output sample for one input sample of `input`, or what is wrong.
    func outputShape(for input: [Int]) throws(LayerProblem) -> [Int]
    /// Trainable parameters for `input`, in Keras's order.
    func parameters(for input: [Int]) -> [VariableShape]
    /// Non-trainable state for `input`, in Keras's order.
    func state(for input: [Int]) -> [VariableShape]
    /// The L2 factor on the layer's parameters, where it has one.
    var l2: Double? { get }
    /// An activation applied to the layer's output (Keras's `activation=` argument), if any.
    var activation: Activation.Function? { get }
    /// What the layer is to the plan's fusion: a convolution, a ReLU, a max pooling, or nothing.
    var role: FusionRole { get }
    /// Builds the engine layer for input `input`.
    func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer
    /// How the engine computes the layer for `input`, for `digitlab model`; nil for nothing to say.
    func kernel(for input: [Int], computesInputGradient: Bool) -> String?
}

public extension LayerConfiguration {
    func parameters(for input: [Int]) -> [VariableShape] { [] }
    func state(for input: [Int]) -> [VariableShape] { [] }
    var l2: Double? { nil }
    var activation: Activation.Function? { nil }
    var role: FusionRole { .none }
    func kernel(for input: [Int], computesInputGradient: Bool) -> String? { nil }

    var typeName: String { Self.typeName }

    /// The settings in force, in the table's order: every setting with a value (optional ones
    /// without a default and unset are left out), as text that reads back to the same value.
    var settingValues: [(key: String, value: String)] {
        Self.settings.compactMap { s in s.read(self).map { (s.key, $0) } }
    }

    /// A configuration from settings given as text, checked against the table: an unknown key,
    /// a missing required key, or a value of the wrong kind or out of range is an error naming
    /// the key.
    static func make(from given: [(key: String, value: String)]) throws(LayerSettingError) -> Self {
        var c = Self()
        for (key, _) in given where !settings.contains(where: { $0.key == key }) {
            let known = settings.map(\.key)
            throw LayerSettingError(key: key, problem: "unknown setting of \(typeName)"
                                    + (known.isEmpty ? "; it has none" : "; expected some of " + known.joined(separator: ", ")))
        }
        for s in settings {
            if let text = given.first(where: { $0.key == s.key })?.value {
                guard s.write(&c, text) else {
                    throw LayerSettingError(key: s.key, problem: "expected \(s.kind.expectation), got \"\(text)\"")
                }
            } else if let d = s.defaultValue {
                _ = s.write(&c, d)
            } else if s.required {
                throw LayerSettingError(key: s.key, problem: "missing; expected \(s.kind.expectation) (\(s.help))")
            }
        }
        return c
    }
}

/// A problem with one setting of a layer entry.
public struct LayerSettingError: Error, Equatable {
    public let key: String
    public let problem: String
}

/// What is wrong with a layer at its place in a network (its input shape), in words for the user.
public struct LayerProblem: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The name and shape of a parameter or state tensor, and how it starts.
public struct VariableShape: Sendable, Equatable {
    public enum Initializer: Sendable, Equatable {
        /// Keras's `glorot_uniform`, drawn from the weights' generator in layer order.
        case glorotUniform
        case zeros
        case ones
    }
    public let name: String
    public let shape: [Int]
    public let initializer: Initializer

    public init(_ name: String, _ shape: [Int], _ initializer: Initializer) {
        self.name = name; self.shape = shape; self.initializer = initializer
    }
}

/// How the plan names a layer, Keras-style names that saved models keep.
public enum LayerNaming: Sendable, Equatable {
    /// `prefix` and the count of layers with the same prefix so far: conv1, conv2, pool1, ...
    case counted(String)
    /// One name: `flatten`.
    case single(String)
    /// An activation layer: the function's name and the number of the convolution before it
    /// (relu1), or `_d` and the number of the dense layer before it (relu_d1); `softmax` alone.
    case activation(Activation.Function)
}

/// What a layer is to the plan's search for fused steps (conv → ReLU → max pooling).
public enum FusionRole: Sendable {
    case none
    /// A convolution, which the plan may run together with the ReLU and pooling after it.
    case convolution(Conv2D.Configuration)
    /// A ReLU on its own.
    case rectifier
    /// A max pooling, which can rectify its maxima (ReLU folded in) when its windows tile the
    /// image (strides equal to the window).
    case maxPooling(MaxPool2D.Configuration)
}

/// What the engine builds for a layer: one that runs on any range of the batch (carried a few
/// images at a time through a stage), or one that takes the whole batch at once.
public enum BuiltLayer {
    case imageLocal(any ImageLocalLayer)
    case wholeBatch(any Layer)

    public var layer: any Layer {
        switch self {
        case .imageLocal(let l): l
        case .wholeBatch(let l): l
        }
    }
}

/// What building a layer needs besides its configuration and input shape.
public struct LayerContext {
    /// The most samples a pass takes.
    public let capacity: Int
    /// False for the network's first layer, whose input is data: no gradient goes back to it.
    public let computesInputGradient: Bool
    /// The generator dropout layers draw their masks from (one per network, checkpointed).
    public let random: RandomSource
    /// The kernels convolutions are asked to run on (the plan's).
    public let convolution: ConvolutionChoice

    public init(capacity: Int, computesInputGradient: Bool, random: RandomSource, convolution: ConvolutionChoice = .auto) {
        self.capacity = capacity; self.computesInputGradient = computesInputGradient; self.random = random
        self.convolution = convolution
    }
}

/// The kinds of value a layer setting takes.
public enum SettingKind: Sendable, Equatable {
    case int(ClosedRange<Int>)
    case double(ClosedRange<Double>, openLow: Bool, openHigh: Bool)
    case bool
    case choice([String])

    public var expectation: String {
        switch self {
        case let .int(r): return "an integer from \(r.lowerBound) to \(r.upperBound)"
        case let .double(r, lo, hi):
            return "a number " + (lo ? "above " : "from ") + Self.format(r.lowerBound) + (hi ? " and below " : " to ")
                + Self.format(r.upperBound)
        case .bool: return "true or false"
        case let .choice(c): return "one of " + c.joined(separator: ", ")
        }
    }

    private static func format(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : "\(x)" }

    /// Whether `x` is within a `.double` range.
    func admits(_ x: Double) -> Bool {
        guard case let .double(r, lo, hi) = self else { return false }
        return x.isFinite && r.contains(x) && !(lo && x == r.lowerBound) && !(hi && x == r.upperBound)
    }
}

/// One setting of a layer type: its key, kind, default and meaning, bound to the configuration's
/// property, so the key is spelled here only. Reading and writing go through text, as specs and
/// saved models hold it.
public struct LayerSetting<Configuration> {
    public let key: String
    public let kind: SettingKind
    /// Whether a spec must give it (no default, not optional).
    public let required: Bool
    /// The value in force when a spec leaves the setting out (Keras's default), as text.
    public let defaultValue: String?
    public let help: String
    /// Sets the property from text; false when the text is not of the kind or out of range.
    let write: (inout Configuration, String) -> Bool
    /// The property as text; nil for an optional setting that is unset.
    let read: (Configuration) -> String?

    /// An integer setting.
    public static func int(_ key: String, _ property: WritableKeyPath<Configuration, Int>, _ range: ClosedRange<Int>,
                           default value: Int? = nil, _ help: String) -> LayerSetting {
        LayerSetting(key: key, kind: .int(range), required: value == nil, defaultValue: value.map(String.init), help: help,
                     write: { c, text in
                         guard let v = Int(text), range.contains(v) else { return false }
                         c[keyPath: property] = v
                         return true
                     }, read: { c in String(c[keyPath: property]) })
    }

    /// An integer setting whose default follows another setting (pooling strides: the window).
    public static func int(_ key: String, _ property: WritableKeyPath<Configuration, Int?>, _ range: ClosedRange<Int>,
                           defaultsTo description: String, _ help: String) -> LayerSetting {
        LayerSetting(key: key, kind: .int(range), required: false, defaultValue: nil, help: help + " (default: " + description + ")",
                     write: { c, text in
                         guard let v = Int(text), range.contains(v) else { return false }
                         c[keyPath: property] = v
                         return true
                     }, read: { c in c[keyPath: property].map(String.init) })
    }

    /// A number setting, with a default or required.
    public static func double(_ key: String, _ property: WritableKeyPath<Configuration, Double>, _ range: ClosedRange<Double>,
                              openLow: Bool = false, openHigh: Bool = false, default value: Double? = nil,
                              _ help: String) -> LayerSetting {
        let kind = SettingKind.double(range, openLow: openLow, openHigh: openHigh)
        return LayerSetting(key: key, kind: kind, required: value == nil, defaultValue: value.map { "\($0)" }, help: help,
                            write: { c, text in
                                guard let v = Double(text), kind.admits(v) else { return false }
                                c[keyPath: property] = v
                                return true
                            }, read: { c in "\(c[keyPath: property])" })
    }

    /// A number setting that may be left out (and is then off).
    public static func double(_ key: String, _ property: WritableKeyPath<Configuration, Double?>, _ range: ClosedRange<Double>,
                              openLow: Bool = false, openHigh: Bool = false, _ help: String) -> LayerSetting {
        let kind = SettingKind.double(range, openLow: openLow, openHigh: openHigh)
        return LayerSetting(key: key, kind: kind, required: false, defaultValue: nil, help: help,
                            write: { c, text in
                                guard let v = Double(text), kind.admits(v) else { return false }
                                c[keyPath: property] = v
                                return true
                            }, read: { c in c[keyPath: property].map { "\($0)" } })
    }

    /// One of a fixed set of names.
    public static func choice<Value: RawRepresentable & CaseIterable>(
        _ key: String, _ property: WritableKeyPath<Configuration, Value>, default value: Value? = nil, _ help: String
    ) -> LayerSetting where Value.RawValue == String {
        LayerSetting(key: key, kind: .choice(Value.allCases.map(\.rawValue)), required: value == nil,
                     defaultValue: value?.rawValue, help: help,
                     write: { c, text in
                         guard let v = Value(rawValue: text) else { return false }
                         c[keyPath: property] = v
                         return true
                     }, read: { c in c[keyPath: property].rawValue })
    }

    /// One of a fixed set of names, or left out (off).
    public static func choice<Value: RawRepresentable & CaseIterable>(
        _ key: String, _ property: WritableKeyPath<Configuration, Value?>, _ help: String
    ) -> LayerSetting where Value.RawValue == String {
        LayerSetting(key: key, kind: .choice(Value.allCases.map(\.rawValue)), required: false, defaultValue: nil, help: help,
                     write: { c, text in
                         guard let v = Value(rawValue: text) else { return false }
                         c[keyPath: property] = v
                         return true
                     }, read: { c in c[keyPath: property]?.rawValue })
    }
}

/// Shapes as Keras prints them: `26x26x64`, or `64` for a flat sample.
public func shapeText(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "x") }

/// A setting described without its configuration's type, for listings (`digitlab spec-keys`).
public struct SettingDescription: Sendable {
    public let key: String
    public let expectation: String
    public let required: Bool
    public let defaultValue: String?
    public let help: String
}

public extension LayerConfiguration {
    /// The type's settings, described.
    static var settingList: [SettingDescription] {
        settings.map { SettingDescription(key: $0.key, expectation: $0.kind.expectation, required: $0.required,
                                          defaultValue: $0.defaultValue, help: $0.help) }
    }
}
