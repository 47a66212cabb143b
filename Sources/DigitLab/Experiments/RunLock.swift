import Foundation

/// The lock a process holds on a run directory while it trains the run: an advisory `flock` on
/// `run.lock` there, which the kernel releases when the process ends however it ends (`kill -9`
/// included), so nothing stale is left. The file holds the holder's pid, for the refusal's message.
public final class RunLock {
    /// The lock file's name in a run directory.
    public static let fileName = "run.lock"

    private let descriptor: Int32

    /// Takes the lock on `directory` (made if missing), or throws `RunLockHeld` when another
    /// process holds it. The lock lasts as long as the returned value.
    public init(directory: String) throws {
        try AtomicFile.createDirectory(directory)
        let path = directory + "/" + RunLock.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DataError(path, "cannot be opened to lock the run: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = RunLock.pid(in: fd)
            close(fd)
            if code == EWOULDBLOCK { throw RunLockHeld(directory: directory, pid: holder) }
            throw DataError(path, "cannot be locked: \(String(cString: strerror(code)))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    private var isHeld = true

    /// Lets the lock go; the value's end does the same.
    public func release() {
        guard isHeld else { return }
        isHeld = false
        close(descriptor)
    }

    deinit { release() }

    /// The pid written in an open lock file, if it holds one.
    private static func pid(in fd: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: bytes[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Another process holds a run directory's lock: it is training that run now.
public struct RunLockHeld: Error, CustomStringConvertible {
    public let directory: String
    /// The holder's pid, when its lock file says.
    public let pid: Int32?

    /// "process N", or "another process" when the lock file does not say.
    public var holder: String { pid.map { "process \($0)" } ?? "another process" }

    public var description: String {
        "\(directory): \(holder) is training this run (it holds \(RunLock.fileName)); wait for it to finish, "
            + "or stop it\(pid.map { " (kill \($0))" } ?? "") and run again"
    }
}
