import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

@main
struct DigitLabCommand: ParsableCommand {
    /// Picks OpenBLAS's kernels before anything runs (see `KernelChoice`), then parses.
    static func main() {
        KernelChoice.reexecIfBetterKernels()
        // Past a file-size limit (`ulimit -f`), let writes fail with EFBIG and say so, rather than
        // be killed by SIGXFSZ mid-write.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "digitlab",
        abstract: "Reproduce, measure and extend the JETIR 2021 handwritten-digit CNN study.",
        discussion: """
            Train the paper's eight cases from declarative specs in experiments/, compare the results \
            with the paper's table, and check them with tolerances.

            Examples:
              digitlab run experiments/case7.yaml
              digitlab run experiments/case1.yaml --epochs 1 --limit 20000
              digitlab reproduce
              digitlab plan experiments/sweeps/case7-lr.yaml
              digitlab sweep --slurm --time 1:00:00 experiments/sweeps/case7-lr.yaml
              digitlab diff results/summary.csv other/summary.csv --tolerance 0.5
            """,
        version: "digitlab " + BuildInfo.description,
        subcommands: [Run.self, Reproduce.self, Report.self, Compare.self, Verify.self, Plan.self, Sweep.self, Diff.self, Bench.self, BLASInfo.self, SpecKeys.self, ModelCommand.self,
                      Predict.self, Evaluate.self, MakePhotos.self, Rotations.self, Serve.self])
}

/// Options every training command shares.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Directory holding the four MNIST IDX files (.gz or plain).",
        discussion: "Default: $DIGITLAB_DATA, else data/mnist.", valueName: "dir"))
    var directory: String?

    @Option(name: .customLong("out"), help: ArgumentHelp("Results directory.", valueName: "dir"))
    var results: String = "results"
}

/// Prints an error the way every command does: one line on standard error, then exit status 1.
func fail(_ error: Error) -> Never {
    let message: String
    switch error {
    case let e as SpecError: message = e.description
    case let e as DataError: message = e.description
    case let e as TrainingError: message = e.description
    case let e as CustomStringConvertible: message = e.description
    default: message = "\(error)"
    }
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    // A run another process is training: EX_TEMPFAIL (sysexits.h), try again later.
    Foundation.exit(error is RunLockHeld ? 75 : 1)
}
