import ArgumentParser

@main
struct DigitLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digitlab",
        abstract: "Reproduce, measure and extend the JETIR 2021 handwritten-digit CNN study.",
        subcommands: [])
}
