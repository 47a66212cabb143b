/// An IDX file's contents: unsigned bytes with a shape (MNIST's images are `[n, 28, 28]`, its
/// labels `[n]`).
public struct IDXArray: Sendable {
    public let shape: [Int]
    public let bytes: [UInt8]
    /// The header as it was read (magic number and dimensions), for checksums of the whole file.
    public let header: [UInt8]

    /// MD5 of the whole uncompressed file, header included: what MNIST's published checksums are of.
    public var md5: String {
        var md5 = MD5()
        md5.update(header)
        md5.update(bytes)
        return md5.finalize()
    }
}

/// Reader for the IDX format of MNIST and Fashion-MNIST: two zero bytes, a type code, the number of
/// dimensions, that many big-endian 32-bit sizes, then the data, row-major. Plain or gzip.
///
/// The header is read and checked first (magic, type, dimensions, a size limit), and the data are
/// then read in chunks as they arrive, so a damaged or hostile file cannot make the reader allocate
/// more than the file holds; the data must be exactly as long as the header says.
public enum IDX {
    /// The largest element count accepted (1 GiB of bytes); MNIST's training images are 47 MB.
    public static let maximumElements = 1 << 30

    /// Reads an unsigned-byte IDX file, checking it has `expectedDimensions` dimensions if given.
    public static func read(path: String, expectedDimensions: Int? = nil) throws -> IDXArray {
        try read(ByteSource(path: path), expectedDimensions: expectedDimensions)
    }

    /// Decodes IDX bytes (plain or gzip) held in memory; `name` stands for the file in errors.
    public static func decode(_ bytes: [UInt8], name: String, expectedDimensions: Int? = nil) throws -> IDXArray {
        try read(ByteSource(bytes: bytes, name: name), expectedDimensions: expectedDimensions)
    }

    private static func read(_ source: ByteSource, expectedDimensions: Int?) throws -> IDXArray {
        let path = source.path
        var magic = [UInt8](repeating: 0, count: 4)
        try magic.withUnsafeMutableBytes { try source.readExactly(4, into: $0.baseAddress!, what: "the IDX magic number") }
        guard magic[0] == 0, magic[1] == 0 else {
            throw DataError(path, "not an IDX file: magic number starts \(hex(magic[0])) \(hex(magic[1])), expected 00 00")
        }
        guard magic[2] == 0x08 else {
            throw DataError(path, "IDX element type \(hex(magic[2])) is not supported; expected 08 (unsigned byte)")
        }
        let rank = Int(magic[3])
        guard rank >= 1 && rank <= 4 else { throw DataError(path, "IDX file has \(rank) dimensions; expected 1 to 4") }
        if let expectedDimensions, rank != expectedDimensions {
            throw DataError(path, "IDX file has \(rank) dimensions; expected \(expectedDimensions)")
        }
        var sizes = [UInt8](repeating: 0, count: 4 * rank)
        try sizes.withUnsafeMutableBytes { try source.readExactly(4 * rank, into: $0.baseAddress!, what: "the IDX dimensions") }
        var shape: [Int] = []
        var elements = 1
        for d in 0..<rank {
            let size = sizes[4 * d..<4 * d + 4].reduce(0) { $0 << 8 | Int($1) }
            shape.append(size)
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, product <= maximumElements else {
                throw DataError(path, "IDX dimensions \(shape.map(String.init).joined(separator: "x"))... exceed the \(maximumElements)-byte limit")
            }
            elements = product
        }
        let bytes = try source.readExactly(elements, what: "data for shape \(shape.map(String.init).joined(separator: "x"))")
        guard try source.atEnd() else {
            throw DataError(path, "has data beyond the \(elements) bytes its IDX header declares")
        }
        return IDXArray(shape: shape, bytes: bytes, header: magic + sizes)
    }

    private static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}
