import DigitLab
import Dispatch
import Foundation

/// SIGINT and SIGTERM ask training to stop at the next batch; the run then saves its place and
/// the command exits with a message on how to resume. A second signal quits at once.
///
/// SIGUSR1 does the same: it is the warning a Slurm sweep's script passes on before the job's
/// time limit (`#SBATCH --signal=B:USR1@90`); the script then requeues the task, which resumes
/// from the saved place.
enum Interruption {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Takes SIGINT, SIGTERM and SIGUSR1 from now on. `relay`, when given, is called with each
    /// signal first (`--jobs` passes it on to the runs it trains in child processes).
    static func install(relay: (@Sendable (Int32) -> Void)? = nil) {
        for sig in [SIGINT, SIGTERM, SIGUSR1] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                relay?(sig)
                if StopRequest.request() {
                    FileHandle.standardError.write(Data("\nstopping now; the last completed epoch is saved\n".utf8))
                    exit(130)
                }
                let why = sig == SIGUSR1 ? "\nwarning signal (SIGUSR1, e.g. Slurm's time limit is near): " : "\n"
                FileHandle.standardError.write(Data((why + "stopping after the current step and saving (signal again to quit at once)\n").utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    /// For tests: `DIGITLAB_INTERRUPT_AT=E:B` makes the tool send itself SIGINT at the first
    /// progress report at or after batch B of epoch E (reports come after batch 1, 26, 51, ... and
    /// the last), then wait for the handler to take it, so that training stops at that batch and
    /// not at whichever one a signal from outside happened to arrive in. The signal goes through
    /// the same handler as a user's Ctrl-C.
    nonisolated(unsafe) private static var interruptAt: (epoch: Int, batch: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["DIGITLAB_INTERRUPT_AT"], !text.isEmpty else { return nil }
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else {
            FileHandle.standardError.write(Data("error: DIGITLAB_INTERRUPT_AT=\(text): expected EPOCH:BATCH, e.g. 2:26\n".utf8))
            exit(1)
        }
        return (parts[0], parts[1])
    }()

    /// Called with each progress report; raises the test's SIGINT when its batch is reached.
    static func batchReported(_ p: BatchProgress) {
        // Not when a stop is already on its way (a `--jobs` parent passed one on): a second signal
        // would quit without saving.
        guard let at = interruptAt, !StopRequest.isRequested, p.epoch == at.epoch, p.batch >= at.batch else { return }
        interruptAt = nil
        kill(getpid(), SIGINT)
        // The handler runs on a dispatch queue; wait for it, so the next batch sees the request.
        // (Ten seconds at most: if the signal never arrives the run goes on, and the test that
        // asked for the stop fails on where it stopped.)
        for _ in 0..<10_000 where !StopRequest.isRequested { usleep(1000) }
    }

    /// Prints how to resume and exits with status 130, as a shell does after Ctrl-C.
    static func exitResumable(_ error: TrainingError, resume: String) -> Never {
        FileHandle.standardError.write(Data("stopped: \(error); progress saved. Resume with: \(resume)\n".utf8))
        exit(130)
    }
}
