import Synchronization

/// A request to stop training at the next batch boundary, set from a signal handler (SIGINT,
/// SIGTERM) and read by the trainer between batches; an atomic, so both sides may touch it from
/// any thread.
public enum StopRequest {
    private static let flag = Atomic<Bool>(false)

    public static var isRequested: Bool { flag.load(ordering: .relaxed) }

    /// Asks training to stop; returns true if a stop had already been asked for.
    @discardableResult
    public static func request() -> Bool { flag.exchange(true, ordering: .relaxed) }

    /// Clears the request (for tests).
    public static func reset() { flag.store(false, ordering: .relaxed) }
}
