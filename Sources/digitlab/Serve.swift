import ArgumentParser
import DigitLab
import DigitLabEngine
import DigitLabServer
import Foundation
import Hummingbird

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the results directory as web pages: the study, runs, sweeps, live progress, and the model on a drawn digit.",
        discussion: """
            Reads the results directory as it is on disk, so the pages show what `digitlab report` \
            wrote and what runs are writing now (a running run's page updates itself). Read-only, \
            but for the evaluations it is asked to compute, cached in RESULTS/evaluate/ as \
            `digitlab evaluate` writes them. Binds to 127.0.0.1 unless --host says otherwise. \
            Nothing is loaded from the network: the pages work offline. Stop it with Ctrl-C.

            Examples:
              digitlab serve
              digitlab serve --port 9000 --results results/fashion-mnist
            """)

    @Option(help: ArgumentHelp("The results directory to show.", valueName: "dir"))
    var results: String = "results"

    @Option(help: ArgumentHelp("The specs directory (its sweeps/ are listed).", valueName: "dir"))
    var experiments: String = "experiments"

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Directory holding the four MNIST IDX files, for evaluating saved models.",
        discussion: "Default: $DIGITLAB_DATA, else data/mnist.", valueName: "dir"))
    var directory: String?

    @Option(help: "The address to listen on (0.0.0.0: every interface).")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port: Int = 8080

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535.") }
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: results, isDirectory: &isDirectory), isDirectory.boolValue else {
            fail(DataError(results, "no such results directory; run from the repository's top directory or pass --results DIR"))
        }
        EngineThreads.count = ProcessInfo.processInfo.activeProcessorCount
        let configuration = ServerConfiguration(results: results, experiments: experiments, data: directory, host: host, port: port)
        say("serving \(results) on http://\(host):\(port)/ (Ctrl-C stops)")
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await DigitLabServer.application(configuration).runService() } catch { failure.error = error }
            done.signal()
        }
        done.wait()
        if let error = failure.error { fail(DataError("\(host):\(port)", "\(error)")) }
    }
}

/// Carries the server's error out of its task.
private final class FailureBox: @unchecked Sendable {
    var error: Error?
}
