import CZlib
import Foundation

/// Streams the bytes of a gzip file (or, when the file has no gzip magic, of a plain file), so a
/// reader can look at a header before deciding how much to allocate.
///
/// Truncated or corrupt compressed data is reported as a `DataError` naming the file.
public final class ByteSource {
    public let path: String
    private let handle: FileHandle
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
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(path, "no such file") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw DataError(path, "cannot be opened for reading") }
        self.handle = handle
        let magic = try handle.read(upToCount: 2) ?? Data()
        try handle.seek(toOffset: 0)
        compressed = magic.count == 2 && magic[magic.startIndex] == 0x1f && magic[magic.startIndex + 1] == 0x8b
        if compressed {
            // 15 + 32: a zlib or gzip header, detected automatically.
            let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw DataError(path, "zlib could not start (status \(status))") }
        }
    }

    deinit {
        if compressed { inflateEnd(&stream) }
        try? handle.close()
    }

    /// Reads exactly `count` bytes into `buffer`; fewer means the file ended early, which throws.
    public func readExactly(_ count: Int, into buffer: UnsafeMutableRawPointer, what: String) throws {
        let got = try read(count, into: buffer)
        if got < count {
            throw DataError(path, "truncated: expected \(count) bytes of \(what), found \(got)")
        }
    }

    /// True when no byte is left after what has been read (trailing data would be an error).
    public func atEnd() throws -> Bool {
        var byte: UInt8 = 0
        return try read(1, into: &byte) == 0
    }

    /// Reads up to `count` bytes; returns how many arrived.
    private func read(_ count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int {
        guard count > 0 else { return 0 }
        if !compressed {
            var total = 0
            while total < count {
                let chunk = try handle.read(upToCount: min(count - total, 1 << 24)) ?? Data()
                if chunk.isEmpty { break }
                chunk.copyBytes(to: (buffer + total).assumingMemoryBound(to: UInt8.self), count: chunk.count)
                total += chunk.count
            }
            return total
        }
        var produced = 0
        while produced < count && !streamEnded {
            if inputAvailable == 0 && !fileEnded {
                let chunk = try handle.read(upToCount: inputBuffer.count) ?? Data()
                if chunk.isEmpty { fileEnded = true } else {
                    _ = inputBuffer.withUnsafeMutableBytes { chunk.copyBytes(to: $0) }
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
                produced = count - Int(stream.avail_out)
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
