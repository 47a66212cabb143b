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

    static func install() {
        for sig in [SIGINT, SIGTERM, SIGUSR1] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
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

    /// Prints how to resume and exits with status 130, as a shell does after Ctrl-C.
    static func exitResumable(_ error: TrainingError, resume: String) -> Never {
        FileHandle.standardError.write(Data("stopped: \(error); progress saved. Resume with: \(resume)\n".utf8))
        exit(130)
    }
}
