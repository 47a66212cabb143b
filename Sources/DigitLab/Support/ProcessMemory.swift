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

    /// Starts the peak afresh from what the process holds now (Linux: `5` written to
    /// /proc/self/clear_refs), so that `peakResidentMB()` is the most it holds from here on;
    /// false where the system does not allow it (the peak then stays the whole process's).
    ///
    /// Why: a process that trains runs one after another (`run --shard` without `--jobs`,
    /// `reproduce --jobs 1`) would otherwise print, after each, the largest run so far.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let file = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? file.close() }
        return (try? file.write(contentsOf: Data("5".utf8))) != nil
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
