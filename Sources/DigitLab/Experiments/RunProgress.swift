import Foundation

/// Where a run under way stands, written atomically to `progress.json` in its directory while it
/// trains, so that another process (`digitlab serve`) can show its epoch, batch and ETA. The file
/// records the writer's process id and host: a reader tells a live run from one that was killed
/// by whether that process still exists (`isAlive`).
public struct RunProgress: Codable, Sendable, Equatable {
    /// What the run is doing: `running`, or how it ended (`finished`, `diverged`, `interrupted`).
    public var state: String
    public var epoch: Int
    public var epochs: Int
    /// Batches done in `epoch`, of `batches`.
    public var batch: Int
    public var batches: Int
    /// The running mean loss and accuracy over the epoch so far.
    public var loss: Double
    public var accuracy: Double
    /// Seconds since this process started (or resumed) the run, and the estimate of the rest.
    public var elapsedSeconds: Double
    public var etaSeconds: Double?
    /// When the file was written (seconds since 1970).
    public var updated: Double
    public var pid: Int32
    public var host: String

    public static let fileName = "progress.json"

    /// The progress file of the run in `directory`, or nil when there is none or it cannot be read.
    public static func read(directory: String) -> RunProgress? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + fileName) else { return nil }
        return try? JSONDecoder().decode(RunProgress.self, from: data)
    }

    /// Whether the process that wrote the file still runs (on this host; elsewhere, whether the
    /// file was written in the last two minutes).
    public var isAlive: Bool {
        if host == RunProgress.thisHost {
            return kill(pid, 0) == 0 || errno == EPERM
        }
        return Date().timeIntervalSince1970 - updated < 120
    }

    /// This machine's host name (gethostname, which asks no name service).
    static var thisHost: String {
        var name = [CChar](repeating: 0, count: 256)
        return gethostname(&name, name.count) == 0 ? String(cString: name) : "localhost"
    }

    /// The JSON text written to the file.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// Writes a run's `progress.json` as it trains: at the start, at most once a second between
/// batches, after each epoch, and at the end. A failure to write it never stops training.
final class RunProgressRecorder {
    private let path: String
    private let epochs: Int
    private let startedAt = Date()
    private var lastWrite = Date.distantPast
    private var firstEpoch = 0, firstBatch = 0
    private var current: RunProgress

    init(directory: String, epochs: Int, resumedAt epoch: Int) {
        path = directory + "/" + RunProgress.fileName
        self.epochs = epochs
        firstEpoch = epoch
        current = RunProgress(state: "running", epoch: epoch, epochs: epochs, batch: 0, batches: 0, loss: .nan,
                              accuracy: .nan, elapsedSeconds: 0, etaSeconds: nil, updated: 0,
                              pid: getpid(), host: RunProgress.thisHost)
        write(force: true)
    }

    func batchFinished(_ p: BatchProgress) {
        if current.batches == 0 { firstBatch = p.batch }
        current.epoch = p.epoch; current.batch = p.batch; current.batches = p.batches
        current.loss = p.loss; current.accuracy = p.accuracy
        write(force: false)
    }

    func epochFinished(_ r: EpochRecord) {
        current.epoch = r.epoch; current.batch = current.batches
        current.loss = r.trainLoss; current.accuracy = r.trainAccuracy
        write(force: true)
    }

    func finished(state: String) {
        current.state = state
        current.etaSeconds = state == "finished" ? 0 : nil
        write(force: true, estimate: false)
    }

    private func write(force: Bool, estimate: Bool = true) {
        let now = Date()
        guard force || now.timeIntervalSince(lastWrite) >= 1 else { return }
        lastWrite = now
        current.elapsedSeconds = now.timeIntervalSince(startedAt)
        current.updated = now.timeIntervalSince1970
        if estimate, current.batches > 0 {
            // Batches this process has trained, against those left: a rate that includes
            // validation and checkpoints, as the epoch lines' ETA does.
            let done = Double((current.epoch - firstEpoch - 1) * current.batches + current.batch - firstBatch)
            let left = Double((epochs - current.epoch) * current.batches + current.batches - current.batch)
            current.etaSeconds = done > 0 ? current.elapsedSeconds / done * left : nil
        }
        if !current.loss.isFinite { current.loss = 0 }
        if !current.accuracy.isFinite { current.accuracy = 0 }
        try? AtomicFile.write(current.json, to: path)
    }
}
