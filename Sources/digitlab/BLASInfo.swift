import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

struct BLASInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "Show which OpenBLAS kernels this machine runs, and why, and how convolutions run.",
        discussion: """
            The harness re-executes itself with OPENBLAS_CORETYPE=SkylakeX when OpenBLAS picked \
            AVX2 kernels on a CPU with AVX-512; an OPENBLAS_CORETYPE set by the environment is \
            always kept. `make test` runs the test suite under the same choice. Convolutions run \
            on DigitLab's direct kernels, except in a build without AVX-512 (`make` builds for \
            AVX-512 where the machine has it) where OpenBLAS runs AVX-512 kernels: there they run \
            as im2col and OpenBLAS products. DIGITLAB_CONVOLUTION=direct, =im2col or =winograd \
            decides instead, for specs that leave model.convolution at auto; a spec that sets it \
            is run as it says.
            """)

    @Flag(help: "Print only the core type, for scripts.")
    var coreType = false

    func run() {
        if coreType { print(BLASRuntime.coreName); return }
        let env = ProcessInfo.processInfo.environment
        let why = env["DIGITLAB_KERNEL_CHOSEN"] != nil ? "chosen by DigitLab (OpenBLAS picked AVX2 kernels on an AVX-512 CPU)"
            : env["OPENBLAS_CORETYPE"].map { "OPENBLAS_CORETYPE=\($0), set by the environment" } ?? "OpenBLAS's own choice"
        print("OpenBLAS core type: \(BLASRuntime.coreName) (\(why))")
        print("OpenBLAS configuration: \(BLASRuntime.config)")
        print("CPU cores: \(ProcessInfo.processInfo.activeProcessorCount)")
        // What a run does with its threads: the engine's own, each OpenBLAS call on one of them.
        useEngineThreads()
        print("Threads: a run uses \(EngineThreads.count) engine thread\(EngineThreads.count == 1 ? "" : "s") (--threads; in a Slurm job, "
              + "the CPUs it was given), each OpenBLAS call \(BLASRuntime.threads) thread\(BLASRuntime.threads == 1 ? "" : "s")")
        let kernels = DirectConvolution.usesAVX512 ? "AVX-512 kernels, \(tileColumns) columns a tile"
            : "AVX2 kernels, \(tileColumns) columns a tile"
        let how = env["DIGITLAB_CONVOLUTION"].map { "DIGITLAB_CONVOLUTION=\($0), set by the environment" }
            ?? (DirectConvolution.usesAVX512 ? "this build has AVX-512 kernels"
                : DirectConvolution.enabled ? "OpenBLAS runs no AVX-512 kernels here" : "OpenBLAS runs AVX-512 kernels here, this build's are AVX2")
        let others = DirectConvolution.enabled ? "direct \(kernels)" : "im2col and OpenBLAS products"
        let runs = ConvolutionChoice.automatic == .winograd ? "Winograd F(2x2,3x3) where it fits (3x3, stride 1), the others " + others : others
        print("Convolutions: \(runs) (\(how)); a spec's model.convolution may ask for others")
    }
}
