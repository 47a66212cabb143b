import Foundation

/// A tensor read from or written to a safetensors file.
public struct NamedTensor: Sendable, Equatable {
    public enum DType: String, Sendable { case f32 = "F32", i32 = "I32", u8 = "U8", f64 = "F64", u64 = "U64" }
    public var dtype: DType
    public var shape: [Int]
    /// The raw little-endian bytes.
    public var bytes: [UInt8]

    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype; self.shape = shape; self.bytes = bytes
    }

    public init(floats: [Float], shape: [Int]) {
        self.init(dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
    }

    public init(words: [UInt64], shape: [Int]) {
        self.init(dtype: .u64, shape: shape, bytes: words.withUnsafeBytes { Array($0) })
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The values as floats (F32 directly; U8 and I32 converted).
    public var floats: [Float] {
        switch dtype {
        case .f32: return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        case .f64: return bytes.withUnsafeBytes { $0.bindMemory(to: Double.self).map { Float($0) } }
        case .u8: return bytes.map { Float($0) }
        case .i32: return bytes.withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Float($0) } }
        case .u64: return bytes.withUnsafeBytes { $0.bindMemory(to: UInt64.self).map { Float($0) } }
        }
    }

    public var int32s: [Int32] {
        switch dtype {
        case .i32: return bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        case .u8: return bytes.map { Int32($0) }
        default: return floats.map { Int32($0) }
        }
    }

    public var words: [UInt64] {
        precondition(dtype == .u64)
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
    }

    static func elementSize(_ d: DType) -> Int {
        switch d { case .u8: 1; case .f32, .i32: 4; case .f64, .u64: 8 }
    }
}

/// The safetensors format: an 8-byte little-endian header length, a JSON header giving each
/// tensor's dtype, shape and byte range, then the raw data. Used for the Keras reference tensors,
/// saved models and checkpoints.
public enum Safetensors {
    /// The largest JSON header accepted (100 MB, as the format's own reference implementation).
    public static let maximumHeader = 100_000_000

    /// Reads every tensor and the `__metadata__` strings of a file, checking that each tensor's
    /// byte range lies within the file and matches its dtype and shape.
    public static func read(path: String) throws -> (tensors: [String: NamedTensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode(Array(data), name: path)
    }

    /// Decodes safetensors bytes; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String) throws -> (tensors: [String: NamedTensor], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw DataError(name, "too short for a safetensors header (\(bytes.count) bytes)") }
        let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(min(maximumHeader, bytes.count - 8)) else {
            throw DataError(name, "safetensors header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        } catch {
            throw DataError(name, "safetensors header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw DataError(name, "safetensors header is not a JSON object") }
        var tensors: [String: NamedTensor] = [:]
        var metadata: [String: String] = [:]
        let dataLength = bytes.count - dataStart
        for (key, value) in header {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw DataError(name, "__metadata__ is not an object") }
                for (k, v) in m { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw DataError(name, "tensor \"\(key)\" lacks dtype, shape or data_offsets")
            }
            guard let dtype = NamedTensor.DType(rawValue: dtypeName) else {
                throw DataError(name, "tensor \"\(key)\" has dtype \(dtypeName); expected F32, F64, I32, U8 or U64")
            }
            let shape = shapeAny.compactMap(integer)
            let offsets = offsetsAny.compactMap(integer)
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 && $0 <= dataLength }),
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw DataError(name, "tensor \"\(key)\" has a shape or byte range outside the file")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= dataLength else { throw DataError(name, "tensor \"\(key)\" shape \(shape) is larger than the file") }
                count = p
            }
            guard count * NamedTensor.elementSize(dtype) == offsets[1] - offsets[0] else {
                throw DataError(name, "tensor \"\(key)\": shape \(shape) of \(dtypeName) needs \(count * NamedTensor.elementSize(dtype)) bytes, its range holds \(offsets[1] - offsets[0])")
            }
            tensors[key] = NamedTensor(dtype: dtype, shape: shape,
                                       bytes: Array(bytes[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
        }
        return (tensors, metadata)
    }

    /// A JSON number that is a whole number small enough to be a size or an offset; nil for
    /// fractions, huge values and anything else (which `NSNumber.intValue` would truncate, or
    /// trap on).
    static func integer(_ value: Any) -> Int? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(.towardZero), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    /// Encodes tensors (in name order, so the bytes are reproducible) and metadata.
    public static func encode(_ tensors: [String: NamedTensor], metadata: [String: String] = [:]) -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var json = Array((try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8))
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        let length = UInt64(json.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        out += json
        for name in names { out += tensors[name]!.bytes }
        return out
    }

    /// Writes a safetensors file atomically.
    public static func write(_ tensors: [String: NamedTensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(Data(encode(tensors, metadata: metadata)), to: path)
    }
}
