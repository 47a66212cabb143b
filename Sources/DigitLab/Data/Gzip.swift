import CZlib
import Foundation

/// Streams the bytes of a gzip file (or, when the file has no gzip magic, of a plain file), so a
/// reader can look at a header before deciding how much to allocate. The bytes may also come from
/// memory (`init(bytes:name:)`), which is how the fuzzers feed it.
///
/// Truncated or corrupt compressed data is reported as a `DataError` naming the file.
public final class ByteSource {
    public let path: String
    private let handle: FileHandle?
    private let memory: [UInt8]
    private var memoryOffset = 0
    private let compressed: Bool
    private var stream = z_stream()
    private var inputBuffer = [UInt8](repeating: 0, count: 1 << 16)
    private var inputAvailable = 0
    private var inputOffset = 0
    private var streamEnded = false
    private var fileEnded = false

    /// Opens `path`; compressed input is recognised by the gzip magic bytes, not the file name.
    public init(path: String) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DataError(path, errno == ENOENT ? "no such file" : "cannot be read (\(String(cString: strerror(errno))))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw DataError(path, "is a directory, not a data file") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw DataError(path, "cannot be opened for reading") }
        self.handle = handle
        memory = []
        let magic: Data
        do {
            magic = try handle.read(upToCount: 2) ?? Data()
            try handle.seek(toOffset: 0)
        } catch {
            throw DataError(path, "cannot be read (\(error.localizedDescription))")
        }
        compressed = magic.count == 2 && magic[magic.startIndex] == 0x1f && magic[magic.startIndex + 1] == 0x8b
        try startInflating()
    }

    /// Reads from `bytes` held in memory; `name` stands for the file in errors.
    public init(bytes: [UInt8], name: String) throws {
        path = name
        handle = nil
        memory = bytes
        compressed = bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
        try startInflating()
    }

    private func startInflating() throws {
        guard compressed else { return }
        // 15 + 32: a zlib or gzip header, detected automatically.
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw DataError(path, "zlib could not start (status \(status))") }
    }

    deinit {
        if compressed { inflateEnd(&stream) }
        try? handle?.close()
    }

    /// Reads exactly `count` bytes into `buffer`; fewer means the file ended early, which throws.
    public func readExactly(_ count: Int, into buffer: UnsafeMutableRawPointer, what: String) throws {
        let got = try read(count, into: buffer)
        if got < count {
            throw DataError(path, "truncated: expected \(count) bytes of \(what), found \(got)")
        }
    }

    /// Reads exactly `count` bytes into a new array, growing it as the data arrive, so that a
    /// header claiming more than the file holds costs no more memory than the file's contents.
    public func readExactly(_ count: Int, what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 1 << 24))
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 24))
        while out.count < count {
            let want = min(count - out.count, chunk.count)
            let got = try chunk.withUnsafeMutableBytes { try read(want, into: $0.baseAddress!) }
            out.append(contentsOf: chunk[0..<got])
            if got < want { break }
        }
        if out.count < count {
            throw DataError(path, "truncated: expected \(count) bytes of \(what), found \(out.count)")
        }
        return out
    }

    /// True when no byte is left after what has been read (trailing data would be an error).
    public func atEnd() throws -> Bool {
        var byte: UInt8 = 0
        return try read(1, into: &byte) == 0
    }

    /// Up to `count` raw (possibly compressed) bytes from the file or memory.
    private func rawChunk(_ count: Int) throws -> [UInt8] {
        if let handle {
            do {
                return [UInt8](try handle.read(upToCount: count) ?? Data())
            } catch {
                throw DataError(path, "cannot be read (\(error.localizedDescription))")
            }
        }
        let n = min(count, memory.count - memoryOffset)
        defer { memoryOffset += n }
        return Array(memory[memoryOffset..<memoryOffset + n])
    }

    /// Reads up to `count` bytes; returns how many arrived.
    private func read(_ count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int {
        guard count > 0 else { return 0 }
        if !compressed {
            var total = 0
            while total < count {
                let chunk = try rawChunk(min(count - total, 1 << 24))
                if chunk.isEmpty { break }
                chunk.withUnsafeBytes { (buffer + total).copyMemory(from: $0.baseAddress!, byteCount: chunk.count) }
                total += chunk.count
            }
            return total
        }
        var produced = 0
        while produced < count && !streamEnded {
            if inputAvailable == 0 && !fileEnded {
                let chunk = try rawChunk(inputBuffer.count)
                if chunk.isEmpty { fileEnded = true } else {
                    inputBuffer.replaceSubrange(0..<chunk.count, with: chunk)
                    inputAvailable = chunk.count
                    inputOffset = 0
                }
            }
            let before = produced
            let status: Int32 = inputBuffer.withUnsafeMutableBufferPointer { input in
                stream.next_in = input.baseAddress! + inputOffset
                stream.avail_in = UInt32(inputAvailable)
                stream.next_out = (buffer + produced).assumingMemoryBound(to: UInt8.self)
                stream.avail_out = UInt32(min(count - produced, Int(UInt32.max)))
                let status = inflate(&stream, Z_NO_FLUSH)
                let consumed = inputAvailable - Int(stream.avail_in)
                inputOffset += consumed
                inputAvailable -= consumed
                produced += min(count - produced, Int(UInt32.max)) - Int(stream.avail_out)
                return status
            }
            switch status {
            case Z_STREAM_END:
                streamEnded = true
            case Z_OK:
                break
            case Z_BUF_ERROR where fileEnded && inputAvailable == 0:
                throw DataError(path, "truncated gzip data: the compressed stream ends early")
            case Z_BUF_ERROR:
                break
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw DataError(path, "corrupt gzip data (\(message))")
            }
            if fileEnded && inputAvailable == 0 && produced == before && !streamEnded {
                throw DataError(path, "truncated gzip data: the compressed stream ends early")
            }
        }
        return produced
    }
}
