import CFuzzer
import Foundation

/// Hands the process to libFuzzer: options and corpus directories come from the command line,
/// as with any libFuzzer binary (`-max_total_time=600 CORPUS...`, `-help=1`).
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}
