import DigitLabEngine
import Foundation

/// How a saved model records its architecture, in its metadata's `architecture` JSON: the
/// paper's shorthand as its five fields, as every model saved before layer lists existed does
/// (so such files keep their bytes); a layer list as `{"inputShape": [...], "layers": [{"conv2d":
/// {"filters": "64", ...}}, ...], "names": ["conv1", ...]}`, each layer's settings as the spec
/// reads them (`LayerCatalog`) and the plan's names, for readers in other languages.
enum SavedArchitecture {
    /// JSON with its keys sorted: Swift's encoder otherwise orders them differently from one
    /// process to the next, and the same run must give the same bytes.
    static var sortedJSON: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    private struct LayerList: Codable {
        var inputShape: [Int]
        var layers: [[String: [String: String]]]
        var names: [String]?
    }

    /// The JSON text for `plan`'s architecture.
    static func json(_ plan: LayerPlan) throws -> String {
        let data: Data
        if let paper = plan.architecture.paper {
            data = try sortedJSON.encode(paper)
        } else {
            let layers = plan.architecture.layers.map { l in
                [l.typeName: Dictionary(uniqueKeysWithValues: l.settingValues.map { ($0.key, $0.value) })]
            }
            data = try sortedJSON.encode(LayerList(inputShape: plan.inputShape, layers: layers, names: plan.layers.map(\.name)))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The architecture a saved model's JSON describes, or a `DataError` naming the file for
    /// anything a spec could not have described.
    static func architecture(json: String, name: String) throws -> Architecture {
        let damaged = DataError(name, "the model's architecture is beyond what a spec allows; not a DigitLab model, or a damaged one")
        if let list = try? JSONDecoder().decode(LayerList.self, from: Data(json.utf8)) {
            guard list.inputShape.count == 3, list.inputShape.allSatisfy({ (1...1024).contains($0) }), list.inputShape[2] <= 4,
                  (1...200).contains(list.layers.count) else { throw damaged }
            var layers: [any LayerConfiguration] = []
            for entry in list.layers {
                guard entry.count == 1, let (type, settings) = entry.first else { throw damaged }
                switch LayerCatalog.make(type: type, settings: settings.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) {
                case .success(let layer): layers.append(layer)
                case .failure: throw damaged
                }
            }
            return Architecture(inputShape: list.inputShape, layers: layers)
        }
        guard let a = try? JSONDecoder().decode(PaperArchitecture.self, from: Data(json.utf8)) else {
            throw DataError(name, "not a DigitLab model: its metadata has no valid architecture")
        }
        // The ranges a spec allows the shorthand (SpecSchema), and at most four input channels.
        guard a.inputShape.count == 3, a.inputShape.allSatisfy({ (1...1024).contains($0) }), a.inputShape[2] <= 4,
              (1...6).contains(a.convFilters.count) || a.convFilters.isEmpty, a.convFilters.allSatisfy({ (1...1024).contains($0) }),
              (1...9).contains(a.kernelSize), (1...4).contains(a.poolSize),
              (1...8).contains(a.denseUnits.count), a.denseUnits.allSatisfy({ (1...4096).contains($0) }) else { throw damaged }
        return Architecture(a)
    }
}
