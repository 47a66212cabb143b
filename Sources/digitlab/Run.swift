import ArgumentParser
import DigitLab
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one experiment spec and write its results.",
        discussion: """
            Writes under results/runs/NAME/seed-N/: spec.yaml (the resolved spec), history.csv \
            (one row per epoch, byte-identical for the same spec and seed), timing.csv (seconds \
            per epoch), summary.csv (the paper's columns), model.safetensors (final \
            weights, Keras names and layouts) and checkpoint.safetensors (to resume). With \
            --epochs, --limit or --set, the run directory's name records them, so quick looks \
            never overwrite a full run.
            """)

    @Argument(help: ArgumentHelp("The experiment spec (YAML), e.g. experiments/case7.yaml.", valueName: "spec"))
    var spec: String

    @Option(help: "Train this many epochs instead of the spec's.")
    var epochs: Int?

    @Option(help: "Train on only the first N training images (before the validation split).")
    var limit: Int?

    @Option(help: "Seed for weights, shuffling and augmentation instead of the spec's.")
    var seed: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override any spec key, validated like the spec itself; repeatable.",
        discussion: "Example: --set optimizer.learning_rate=5e-4", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Continue from the run's last completed epoch if it has a checkpoint.")
    var resume = false

    @OptionGroup var data: DataOptions

    func run() throws {
        var sets = overrides
        if let epochs { sets.append("training.epochs=\(epochs)") }
        if let limit { sets.append("training.limit=\(limit)") }
        do {
            let spec = try ExperimentSpec.load(path: self.spec, overrides: sets)
            let variant = sets.isEmpty ? nil : sets.map { $0.replacingOccurrences(of: "training.", with: "") }
                .joined(separator: ",").replacingOccurrences(of: "/", with: "_")
            let plan = RunPlan(spec: spec, seed: seed ?? spec.seed, resultsDirectory: data.results, variant: variant)
            let printer = ProgressPrinter()
            let runner = Runner(dataDirectory: data.directory, observer: printer)
            Interruption.install()
            do {
                try runner.run(plan, resume: resume)
            } catch let e as TrainingError {
                if case .interrupted = e {
                    let again = CommandLine.arguments.dropFirst().filter { $0 != "--resume" }.joined(separator: " ")
                    Interruption.exitResumable(e, resume: "digitlab \(again) --resume")
                }
                throw e
            }
        } catch {
            fail(error)
        }
    }
}
