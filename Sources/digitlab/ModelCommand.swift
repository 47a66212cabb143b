import ArgumentParser
import DigitLab
import Foundation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Print a spec's network as Keras's model.summary() does, and how each layer runs.",
        discussion: """
            Reads the spec (and its --set overrides) as `run` does and prints each layer with its \
            type, output shape and parameter count, the totals, and how the engine runs it: which \
            convolution, ReLU and max pooling run as one fused step, which kernel a convolution \
            takes (direct, or im2col and OpenBLAS), what runs alone.

            Examples:
              digitlab model experiments/case7.yaml
              digitlab model experiments/beyond/case7-batchnorm.yaml
            """)

    @Argument(help: ArgumentHelp("The experiment spec (YAML).", valueName: "spec"))
    var spec: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override any spec key; repeatable.", valueName: "key=value"))
    var overrides: [String] = []

    func run() {
        do {
            let loaded = try ExperimentSpec.load(path: spec, overrides: overrides)
            print(ModelSummary(plan: loaded.plan, name: loaded.name).text, terminator: "")
        } catch {
            fail(error)
        }
    }
}
