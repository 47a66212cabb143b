@testable import digitlab
import Testing

@Suite("OpenBLAS kernel choice")
struct KernelChoiceTests {
    static let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]

    @Test("AVX2 kernels on an AVX-512 CPU are upgraded to SkylakeX")
    func upgrade() {
        #expect(KernelChoice.preferredCoreType(current: "Haswell", cpuFlags: Self.avx512, environment: [:]) == "SkylakeX")
        #expect(KernelChoice.preferredCoreType(current: "Zen", cpuFlags: Self.avx512, environment: [:]) == "SkylakeX")
    }

    @Test("an OPENBLAS_CORETYPE set by the environment is always kept")
    func environmentWins() {
        #expect(KernelChoice.preferredCoreType(current: "Haswell", cpuFlags: Self.avx512,
                                               environment: ["OPENBLAS_CORETYPE": "Haswell"]) == nil)
    }

    @Test("AVX-512 kernels, CPUs without AVX-512, and an earlier re-execution are left alone")
    func leftAlone() {
        #expect(KernelChoice.preferredCoreType(current: "Cooperlake", cpuFlags: Self.avx512, environment: [:]) == nil)
        #expect(KernelChoice.preferredCoreType(current: "Haswell", cpuFlags: ["avx2", "fma"], environment: [:]) == nil)
        #expect(KernelChoice.preferredCoreType(current: "Haswell", cpuFlags: Self.avx512,
                                               environment: ["DIGITLAB_KERNEL_CHOSEN": "SkylakeX"]) == nil)
    }
}
