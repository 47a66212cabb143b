import DigitLabEngine
import Foundation

/// Which OpenBLAS kernels to ask for on the CPU at hand.
///
/// OpenBLAS 0.3.21 (Debian 12) picks its kernels from the CPU model, and on CPUs newer than it
/// knows (AMD Zen 5, for one) it can fall back to its AVX2 "Haswell" kernels although the CPU has
/// AVX-512, at about half the speed. The kernel family is read when the library loads, so the
/// harness asks for a better one by re-executing itself with `OPENBLAS_CORETYPE` set. An
/// `OPENBLAS_CORETYPE` the environment already sets is always respected: some machines set it
/// because other kernels compute wrong results or crash there.
///
/// The tool does this, not the engine: the engine reads no files and starts no processes.
enum KernelChoice {
    /// The core type to re-execute with, or nil to keep the current one.
    /// - Parameters:
    ///   - current: `openblas_get_corename()`.
    ///   - cpuFlags: the `flags` line of /proc/cpuinfo, split into words.
    ///   - environment: the process environment.
    static func preferredCoreType(current: String, cpuFlags: Set<String>, environment: [String: String]) -> String? {
        if let set = environment["OPENBLAS_CORETYPE"], !set.isEmpty { return nil }
        if environment["DIGITLAB_KERNEL_CHOSEN"] != nil { return nil }
        guard !BLASRuntime.avx512Cores.contains(current) else { return nil }
        let needed: Set<String> = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]
        return needed.isSubset(of: cpuFlags) ? "SkylakeX" : nil
    }

    /// The CPU's feature flags from /proc/cpuinfo (empty where there is none).
    static func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":", maxSplits: 1).last?.split(separator: " ").map(String.init) ?? [])
    }

    /// Re-executes the running program with better kernels when `preferredCoreType` names some;
    /// returns only when it keeps the current ones.
    static func reexecIfBetterKernels() {
        let environment = ProcessInfo.processInfo.environment
        guard let core = preferredCoreType(current: BLASRuntime.coreName, cpuFlags: cpuFlags(), environment: environment) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("DIGITLAB_KERNEL_CHOSEN", core, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // execv returns only on failure: carry on with the kernels we have.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
