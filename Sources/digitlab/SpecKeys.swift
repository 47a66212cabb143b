import ArgumentParser
import DigitLab

struct SpecKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec-keys",
        abstract: "List every key an experiment spec may hold, with its type and meaning.")

    func run() {
        for field in SpecSchema.fields {
            print("\(field.path)\(field.required ? "" : " (optional)")")
            print("    \(field.kind.expectation): \(field.help)")
        }
    }
}
