import Foundation

/// This executable's absolute path, for the child processes that run the same build: `bench`'s
/// training runs, `--jobs`' runs and a sweep's Slurm tasks.
///
/// Why not `argv[0]`: a `digitlab` found on the PATH (after `make install`) is called by its name
/// alone, which is no path from the working directory. Linux's /proc/self/exe names the file
/// itself; elsewhere an `argv[0]` with a slash is taken from the working directory and a bare name
/// is looked up on the PATH.
enum SelfExecutable {
    static var path: String {
        if let real = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return real }
        let arg0 = CommandLine.arguments[0]
        if arg0.hasPrefix("/") { return arg0 }
        if arg0.contains("/") { return FileManager.default.currentDirectoryPath + "/" + arg0 }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/\(arg0)" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? arg0
    }
}
