import ArgumentParser
import DigitLab

struct SpecKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec-keys",
        abstract: "List every key an experiment spec may hold, with its type and meaning.")

    func run() {
        for field in SpecSchema.fields {
            let note = field.defaultValue.map { " (optional, default \($0))" } ?? (field.required ? "" : " (optional)")
            print("\(field.path)\(note)")
            print("    \(field.kind.expectation): \(field.help)")
        }
    }
}
