import DigitLab
import Foundation
import Testing

/// Where tests find the package, the MNIST files and the built command-line tool.
public enum TestPaths {
    /// The package's top directory.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The MNIST directory: $DIGITLAB_DATA, else data/mnist (where `make data` puts it), as the tool
    /// itself looks. Nothing outside the checkout is looked for. A relative $DIGITLAB_DATA is taken
    /// from the directory the tests were started in and made absolute, since tests hand it to
    /// tools running elsewhere and link to it from other folders.
    public static var mnist: String {
        guard let env = ProcessInfo.processInfo.environment["DIGITLAB_DATA"], !env.isEmpty else { return root + "/data/mnist" }
        return URL(fileURLWithPath: env, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
            .standardizedFileURL.path
    }

    /// The `digitlab` executable built beside the test bundle.
    public static var tool: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("digitlab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return root + "/.build/release/digitlab"
    }

    /// A new empty temporary directory, inside one directory for this test process that is removed
    /// when the process exits (so a run of the suites leaves nothing in $TMPDIR); set
    /// DIGITLAB_KEEP_TEST_DIRS=1 to keep it for a look, its path printed at the start.
    public static func temporaryDirectory(_ label: String) -> String {
        let dir = processTemporaryDirectory + "/\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// This test process's temporary directory: made on first use, removed at exit (unless kept).
    public static let processTemporaryDirectory: String = {
        let dir = NSTemporaryDirectory() + "digitlab-tests-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["DIGITLAB_KEEP_TEST_DIRS"] == "1" {
            FileHandle.standardError.write(Data("test directories kept in \(dir)\n".utf8))
        } else {
            atexit { try? FileManager.default.removeItem(atPath: TestPaths.processTemporaryDirectory) }
        }
        return dir
    }()
}

/// Runs the command-line tool (or another `executable`); returns its exit status, standard output
/// and standard error.
public func runTool(_ arguments: [String], environment: [String: String] = [:], in directory: String = TestPaths.root,
             executable: String = TestPaths.tool) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The training settings of `experiments/base.yaml` (the paper's) with `overrides` (`key=value`,
/// as `--set` takes them): tests get their defaults from the spec, where they are written once.
public func baseConfig(_ overrides: String...) throws -> TrainingConfig {
    try baseConfig(overrides)
}

/// `baseConfig(_:)` with the overrides as an array.
public func baseConfig(_ overrides: [String]) throws -> TrainingConfig {
    try ExperimentSpec.load(path: TestPaths.root + "/experiments/base.yaml", overrides: overrides).trainingConfig()
}
