import DigitLab
import Foundation

/// Prints a run's progress: one line per epoch (loss, accuracy, validation, seconds, ETA) on
/// standard output, and, when standard error is a terminal, a live bar within the epoch.
final class ProgressPrinter: RunObserver {
    private let live = isatty(STDERR_FILENO) == 1
    private var epochs = 0
    private var startedAt = Date()
    private var firstEpoch = 0
    private let prefix: String

    /// Whether a run has finished in this process: the next one's printed peak memory then starts
    /// from its own start (`ProcessMemory.resetPeak`), not the process's. The first run's includes
    /// reading the data. Runs in one process follow one another, on one thread.
    nonisolated(unsafe) private static var aRunFinished = false

    init(prefix: String = "") { self.prefix = prefix }

    func runStarted(_ run: RunPlan, resumedAt epoch: Int, trainCount: Int, validationCount: Int) {
        if ProgressPrinter.aRunFinished { ProcessMemory.resetPeak() }
        epochs = run.spec.epochs
        firstEpoch = epoch
        startedAt = Date()
        var line = "\(prefix)\(run.spec.name) seed \(run.seed): \(trainCount) training images"
        if validationCount > 0 { line += ", \(validationCount) validation" }
        line += ", \(run.spec.epochs) epochs -> \(run.directory)"
        if epoch > 0 { line += " (resuming after epoch \(epoch))" }
        say(line)
    }

    func batchFinished(_ p: BatchProgress, of run: RunPlan) {
        Interruption.batchReported(p)
        guard live else { return }
        let width = 30, filled = width * p.batch / max(p.batches, 1)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let rate = p.elapsed > 0 ? Double(p.batch) / p.elapsed : 0
        let remaining = rate > 0 ? Double(p.batches - p.batch) / rate : 0
        let text = String(format: "\r  epoch %d/%d [%@] %d/%d  loss %.4f  acc %.4f  %.0fs left in epoch ",
                          p.epoch, epochs, bar, p.batch, p.batches, p.loss, p.accuracy, remaining)
        FileHandle.standardError.write(Data(text.utf8))
    }

    func epochFinished(_ r: EpochRecord, of run: RunPlan) {
        if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let done = r.epoch - firstEpoch
        let perEpoch = Date().timeIntervalSince(startedAt) / Double(max(done, 1))
        let eta = perEpoch * Double(epochs - r.epoch)
        var line = String(format: "%@  epoch %2d/%d  loss %.4f  acc %.4f", prefix, r.epoch, epochs, r.trainLoss, r.trainAccuracy)
        if let vl = r.validationLoss, let va = r.validationAccuracy { line += String(format: "  val_loss %.4f  val_acc %.4f", vl, va) }
        line += String(format: "  %.1fs  ETA %@", r.seconds, formatDuration(eta))
        say(line)
    }

    func runFinished(_ s: RunSummary, of run: RunPlan) {
        if s.status == .diverged { say("\(prefix)\(s.name) seed \(s.seed): diverged after \(s.epochs) epochs"); return }
        var line = "\(prefix)\(s.name) seed \(s.seed): test accuracy \(fixed(s.testAccuracy ?? .nan, 2))%, "
            + "test loss \(fixed(s.testLoss ?? .nan, 4)); train accuracy \(fixed(s.minTrainAccuracy, 2))-\(fixed(s.maxTrainAccuracy, 2))%"
        if let lo = s.minValidationAccuracy, let hi = s.maxValidationAccuracy {
            line += ", validation \(fixed(lo, 2))-\(fixed(hi, 2))%"
        }
        line += "; \(fixed(s.medianEpochSeconds, 1)) s per epoch (median)"
        say(line + (ProcessMemory.peakDescription().map { "; " + $0 } ?? ""))
        ProgressPrinter.aRunFinished = true
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds > 0 else { return "0s" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
}

/// Prints a line to standard output at once, so progress shows up even when output is piped to a log.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
