/// Every layer type a spec's `model.layers` may name, by its type name: the one mapping from type
/// name to layer (Darknet's), read by the spec reader, saved models and `digitlab spec-keys`.
/// A new layer type is its own file (the layer's passes and its `Configuration`) and a line here.
public enum LayerCatalog {
    public static let types: [any LayerConfiguration.Type] = [
        Conv2D.Configuration.self,
        MaxPool2D.Configuration.self,
        AveragePool2D.Configuration.self,
        Flatten.Configuration.self,
        Dense.Configuration.self,
        Dropout.Configuration.self,
        BatchNormalization.Configuration.self,
        Activation.Configuration.self,
    ]

    /// The type named `name` (`conv2d`, `dropout`, ...), if there is one.
    public static func type(named name: String) -> (any LayerConfiguration.Type)? {
        types.first { $0.typeName == name }
    }

    /// A layer from its type name and settings as text, checked against the type's table.
    public static func make(type name: String, settings: [(key: String, value: String)]) -> Result<any LayerConfiguration, LayerSettingError> {
        guard let type = type(named: name) else {
            return .failure(LayerSettingError(key: "", problem: "unknown layer type \"\(name)\"; expected one of "
                                              + types.map { $0.typeName }.joined(separator: ", ")))
        }
        return make(type, settings)
    }

    private static func make<C: LayerConfiguration>(_ type: C.Type, _ settings: [(key: String, value: String)])
        -> Result<any LayerConfiguration, LayerSettingError> {
        do { return .success(try C.make(from: settings)) } catch { return .failure(error) }
    }
}
