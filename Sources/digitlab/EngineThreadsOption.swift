import ArgumentParser
import DigitLab
import DigitLabEngine

/// `--threads`, for the commands that train.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Engine threads (default: the CPUs this process may use; in a Slurm job, those Slurm allocated); the numbers are the same on any count.")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
    }

    /// Sets the engine's thread count to --threads, else the default.
    func apply() { useEngineThreads(threads) }
}

/// Sets the engine's thread count: `count`, else `Runner.defaultThreads`. The one place the tool
/// sets it: the speed depends on it (the numbers do not), and a checkpoint and provenance.txt
/// record it.
func useEngineThreads(_ count: Int? = nil) {
    EngineThreads.count = count ?? Runner.defaultThreads
}
