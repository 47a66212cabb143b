import Foundation

/// Reads and writes the image formats `predict` accepts: PNG, JPEG and the portable anymaps PGM
/// and PPM (P2, P3, P5, P6). The format is recognised from the file's first bytes, not its name.
///
/// Every reader rejects malformed input with a `DataError` naming the file: a bad signature,
/// truncated data, dimensions that do not match the data, or more than `maximumPixels` pixels
/// (checked from the header, before any pixel memory is allocated).
public enum ImageFile {
    /// The largest image accepted: 50 megapixels (a 8660 x 5773 photograph).
    public static let maximumPixels = 50_000_000
    /// The largest file read into memory.
    public static let maximumFileBytes = 256 << 20

    public enum Format: String, Sendable {
        case png = "PNG", jpeg = "JPEG", pnm = "PGM/PPM"
    }

    /// The format a file's first bytes announce, if any.
    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.count >= 8 && bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 2 && bytes[0] == UInt8(ascii: "P") && (UInt8(ascii: "1")...UInt8(ascii: "7")).contains(bytes[1]) {
            return .pnm
        }
        return nil
    }

    /// Reads and decodes the image at `path`.
    public static func read(path: String) throws -> RasterImage {
        try decode(readBytes(path: path), name: path)
    }

    /// Decodes an image held in memory; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String, maximumPixels: Int = ImageFile.maximumPixels) throws -> RasterImage {
        guard !bytes.isEmpty else { throw DataError(name, "the file is empty") }
        switch format(of: bytes) {
        case .png: return try PNGCodec.decode(bytes, name: name, maximumPixels: maximumPixels)
        case .jpeg: return try JPEGCodec.decode(bytes, name: name, maximumPixels: maximumPixels)
        case .pnm: return try PNMCodec.decode(bytes, name: name, maximumPixels: maximumPixels)
        case nil:
            throw DataError(name, "not a PNG, JPEG, PGM or PPM image (its first bytes are no known image signature)")
        }
    }

    /// Reads the image at `path` as `cv2.imread(path, cv2.IMREAD_GRAYSCALE)` does, the paper's
    /// first step: JPEG through libjpeg's own luma, PNG through libpng's `rgb_to_gray` with
    /// OpenCV's coefficients (in linear light when the file declares a gamma), alpha dropped
    /// rather than composited, PGM/PPM through OpenCV's fixed-point luma. Matches OpenCV's grey
    /// image exactly for 8-bit files, give or take libjpeg versions.
    public static func readGreyAsOpenCV(path: String) throws -> RasterImage {
        try decodeGreyAsOpenCV(readBytes(path: path), name: path)
    }

    public static func decodeGreyAsOpenCV(_ bytes: [UInt8], name: String, maximumPixels: Int = ImageFile.maximumPixels) throws -> RasterImage {
        guard !bytes.isEmpty else { throw DataError(name, "the file is empty") }
        switch format(of: bytes) {
        case .png: return try PNGCodec.decodeGreyAsOpenCV(bytes, name: name, maximumPixels: maximumPixels)
        case .jpeg: return try JPEGCodec.decode(bytes, name: name, maximumPixels: maximumPixels, grey: true).grayscale()
        case .pnm: return try PNMCodec.decode(bytes, name: name, maximumPixels: maximumPixels).grayscale()
        case nil:
            throw DataError(name, "not a PNG, JPEG, PGM or PPM image (its first bytes are no known image signature)")
        }
    }

    /// Writes `image` atomically in the format its extension names: .png, .jpg/.jpeg, .pgm/.ppm.
    public static func write(_ image: RasterImage, to path: String, jpegQuality: Int = 92) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        let bytes: [UInt8]
        switch ext {
        case "png": bytes = try PNGCodec.encode(image, name: path)
        case "jpg", "jpeg": bytes = try JPEGCodec.encode(image, quality: jpegQuality, name: path)
        case "pgm", "ppm", "pnm": bytes = PNMCodec.encode(image)
        default: throw DataError(path, "unknown image extension .\(ext); use .png, .jpg, .pgm or .ppm")
        }
        try AtomicFile.write(Data(bytes), to: path)
    }

    /// The file's bytes, refusing directories and files over `maximumFileBytes`.
    static func readBytes(path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DataError(path, String(cString: strerror(errno)).lowercased())
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw DataError(path, "is a directory, not an image") }
        guard Int(info.st_size) <= maximumFileBytes else {
            throw DataError(path, "the file has \(info.st_size) bytes, more than the \(maximumFileBytes >> 20) MB an image may have")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw DataError(path, "cannot be opened for reading") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maximumFileBytes + 1) ?? Data() } catch {
            throw DataError(path, "cannot be read (\(error.localizedDescription))")
        }
        guard data.count <= maximumFileBytes else {
            throw DataError(path, "the file has more than the \(maximumFileBytes >> 20) MB an image may have")
        }
        return [UInt8](data)
    }

    static func checkSize(width: Int, height: Int, name: String, maximumPixels: Int) throws {
        guard width > 0, height > 0 else { throw DataError(name, "the header declares an empty image (\(width)x\(height))") }
        guard width <= maximumPixels, height <= maximumPixels, width * height <= maximumPixels else {
            let limit = maximumPixels % 1_000_000 == 0 ? "\(maximumPixels / 1_000_000) megapixels" : "\(maximumPixels) pixels"
            throw DataError(name, "the header declares \(width)x\(height) pixels, more than the \(limit) accepted")
        }
    }
}
