import Foundation

/// The process's own peak resident memory, and the words a finished run prints it in, so that
/// `bench` can read a child run's figure from its output.
///
/// Why not the parent's `getrusage(RUSAGE_CHILDREN)`: Linux counts in a child's maximum the
/// parent's resident set it was forked from (the old memory map at `exec`), so a child of a
/// large parent shows the parent's size, not its own.
public enum ProcessMemory {
    /// This process's peak resident memory in MB (`VmHWM` in /proc/self/status); nil where the
    /// system does not say.
    public static func peakResidentMB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kB = Double(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") else { return nil }
        return kB / 1024
    }

    private static let label = "peak resident memory "

    /// "peak resident memory N MB" for this process, or nil.
    public static func peakDescription() -> String? {
        peakResidentMB().map { label + fixed($0, 0) + " MB" }
    }

    /// The figure in MB from the last line of `output` that holds a `peakDescription()`.
    public static func peakResidentMB(in output: String) -> Double? {
        for line in output.split(separator: "\n").reversed() {
            guard let start = line.range(of: label)?.upperBound else { continue }
            return Double(line[start...].prefix { $0.isNumber || $0 == "." })
        }
        return nil
    }
}
