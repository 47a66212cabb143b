import DigitLab
import Dispatch
import Foundation

/// SIGINT and SIGTERM ask training to stop at the next batch; the run then saves its place and
/// the command exits with a message on how to resume. A second signal quits at once.
enum Interruption {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if StopRequest.request() {
                    FileHandle.standardError.write(Data("\nstopping now; the last completed epoch is saved\n".utf8))
                    exit(130)
                }
                FileHandle.standardError.write(Data("\nstopping after the current step and saving (signal again to quit at once)\n".utf8))
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
