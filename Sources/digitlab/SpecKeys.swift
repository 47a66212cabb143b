import ArgumentParser
import DigitLab
import DigitLabEngine

struct SpecKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec-keys",
        abstract: "List every key an experiment spec may hold, with its type and meaning, and the layer types of model.layers.")

    func run() {
        for field in SpecSchema.fields {
            let note = field.defaultValue.map { " (optional, default \($0))" } ?? (field.required ? "" : " (optional)")
            print("\(field.path)\(note)")
            print("    \(field.kind.expectation): \(field.help)")
        }
        print("\nLayer types of model.layers (each entry `- TYPE: {SETTING: VALUE, ...}`):")
        for type in LayerCatalog.types {
            print("\(type.typeName): \(type.help)")
            for setting in type.settingList {
                let note = setting.defaultValue.map { " (default \($0))" } ?? (setting.required ? "" : " (optional)")
                print("    \(setting.key)\(note): \(setting.expectation): \(setting.help)")
            }
        }
    }
}
