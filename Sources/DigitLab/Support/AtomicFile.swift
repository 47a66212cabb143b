import Foundation

/// Writes files so that a reader never sees half of one: the bytes go to a temporary file in the
/// same directory, which is flushed to disk and then renamed over the target. An interrupted run
/// (Ctrl-C, `kill -9`, a full disk) leaves either the old file or the new one.
///
/// Failures are `DataError`s naming the file, worded for what the user can do about them: a full
/// disk, a directory that cannot be created or written, a file-size limit.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try createDirectory(directory)
        let temporary = directory + "/.\(url.lastPathComponent).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(path, directory: directory, errno: errno) }
        var written = 0
        let status: Int32 = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return fsync(fd) == 0 ? 0 : errno
        }
        let closed = close(fd) == 0 ? 0 : errno
        guard status == 0, closed == 0 else {
            unlink(temporary)
            throw failure(path, directory: directory, errno: status != 0 ? status : closed)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw failure(path, directory: directory, errno: code)
        }
        // The rename itself reaches the disk with the directory.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Creates `directory` and its parents, with an error that says what to do.
    public static func createDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw DataError(directory, "is a file, not a directory; choose another results directory with --out DIR")
            }
            return
        }
        // Walk down from the top so the error names the first directory that cannot be made.
        let parts = directory.split(separator: "/").map(String.init)
        for depth in 1...max(parts.count, 1) where !parts.isEmpty {
            let path = (directory.hasPrefix("/") ? "/" : "") + parts.prefix(depth).joined(separator: "/")
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw failure(path, directory: path, errno: errno, creating: true)
            }
            var info = stat()
            if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFDIR {
                throw DataError(path, "is a file, not a directory; choose another results directory with --out DIR")
            }
        }
    }

    /// Leftover temporary files of writes that never finished (the process was killed between
    /// writing and renaming), removed before a run writes into `directory` again.
    public static func removeLeftovers(in directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// A one-line error for a failed write, saying what to do.
    static func failure(_ path: String, directory: String, errno code: Int32, creating: Bool = false) -> DataError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT:
            return DataError(path, "cannot be written: the disk is full (\(reason)). Free some space and run again "
                             + "(with --resume, or `make reproduce`); the results written so far are intact")
        case EFBIG:
            return DataError(path, "cannot be written: the file-size limit is reached (\(reason); see `ulimit -f`). "
                             + "Raise the limit and run again (with --resume, or `make reproduce`); the results written so far are intact")
        case EACCES, EPERM, EROFS:
            return DataError(creating ? path : directory, (creating ? "cannot be created" : "is not writable")
                             + " (\(reason)); choose a writable results directory with --out DIR")
        case ENOTDIR:
            return DataError(path, "cannot be written: part of the path is a file, not a directory (\(reason)); "
                             + "choose another results directory with --out DIR")
        default:
            return DataError(path, (creating ? "cannot be created" : "cannot be written") + " (\(reason))")
        }
    }
}
