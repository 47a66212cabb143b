import DigitLab
import Foundation

/// What each fuzzer (Fuzz/, `make fuzz`) feeds its reader. The fuzzers compile this very file
/// (Fuzz/Sources/FuzzSupport/FuzzReaders.swift is a link to it), and FuzzRegressionTests replays
/// every input in Fuzz/Regressions through it, so a crash found once stays fixed.
///
/// A reader may accept its input or reject it with the error users see (a `DataError` naming the
/// file, or a `SpecError` for specs); anything else (another error, a broken invariant, a trap, a
/// sanitizer report, a timeout, memory beyond libFuzzer's limit) is a finding.
public enum FuzzReaders {
    public static let name = "fuzz-input"

    /// The images fuzzer's pixel limit: 4 megapixels rather than the 50 the CLI allows, so that one
    /// input decodes in milliseconds; the check of the limit is the same code.
    public static let imagePixels = 1 << 22

    /// The readers by the name of their fuzzer and corpus directory.
    public static let all: [(name: String, read: @Sendable ([UInt8]) throws -> Void)] = [
        ("idx", idx), ("safetensors", safetensors), ("spec", spec), ("image", image),
    ]

    /// A broken invariant: the reader accepted the input but got it wrong.
    public struct Finding: Error, CustomStringConvertible {
        public let description: String
    }

    /// IDX, plain or gzip: the shape must account for every byte.
    public static func idx(_ bytes: [UInt8]) throws {
        let array = try IDX.decode(bytes, name: name)
        try check(array.shape.reduce(1, *) == array.bytes.count, "IDX shape \(array.shape) but \(array.bytes.count) bytes")
        try check(array.header.count == 4 + 4 * array.shape.count, "IDX header of \(array.header.count) bytes")
    }

    /// safetensors, then the same bytes as a saved model and as a checkpoint; a model that loads
    /// runs one forward pass.
    public static func safetensors(_ bytes: [UInt8]) throws {
        let (tensors, metadata) = try Safetensors.decode(bytes, name: name)
        for (key, t) in tensors {
            try check(t.elementCount * elementSize(t.dtype) == t.bytes.count, "tensor \(key): \(t.shape) \(t.dtype) in \(t.bytes.count) bytes")
        }
        // What is written reads back the same.
        let again = try Safetensors.decode(Safetensors.encode(tensors, metadata: metadata), name: name)
        try check(again.tensors == tensors && again.metadata == metadata, "safetensors round trip differs")
        do {
            let (model, _) = try Checkpoint.loadModel(bytes: bytes, name: name, capacity: 1)
            model.forward(batch: 1)
        } catch let e as DataError {
            try check(e.file == name, "error names \(e.file)")
        }
        do {
            _ = try Checkpoint.load(bytes: bytes, name: name)
        } catch let e as DataError {
            try check(e.file == name, "error names \(e.file)")
        }
    }

    /// A spec: parsed and validated; a valid one's resolved YAML must read back as the same spec.
    public static func spec(_ bytes: [UInt8]) throws {
        let file = name + ".yaml"
        let tree = try SpecTree.parse(String(decoding: bytes, as: UTF8.self), file: file)
        let spec = try ExperimentSpec(tree: tree, file: file)
        let resolved = spec.resolvedYAML
        let again: ExperimentSpec
        do {
            again = try ExperimentSpec(tree: SpecTree.parse(resolved, file: file), file: file)
        } catch {
            throw Finding(description: "the resolved spec of a valid spec does not read back: \(error)\n--- resolved:\n\(resolved)")
        }
        try check(again.resolvedYAML == resolved, "the resolved spec differs after a round trip:\n\(resolved)---\n\(again.resolvedYAML)")
    }

    /// PNG, JPEG, PGM/PPM, both in colour and as OpenCV's grey.
    public static func image(_ bytes: [UInt8]) throws {
        var first: Error?
        do {
            let image = try ImageFile.decode(bytes, name: name, maximumPixels: imagePixels)
            try check(image.pixelCount <= imagePixels, "\(image.width)x\(image.height) beyond the limit")
        } catch { first = error }
        do {
            let grey = try ImageFile.decodeGreyAsOpenCV(bytes, name: name, maximumPixels: imagePixels)
            try check(grey.channels == 1, "a grey image with \(grey.channels) channels")
        } catch let e as DataError {
            try check(e.file == name, "error names \(e.file)")
        }
        if let first { throw first }
    }

    /// nil when `read` accepts `bytes` or rejects them as it should; otherwise what went wrong.
    public static func problem(_ read: ([UInt8]) throws -> Void, _ bytes: [UInt8]) -> String? {
        do {
            try read(bytes)
        } catch let e as DataError {
            if e.file != name { return "the error names \(e.file), not the input" }
            if e.problem.isEmpty { return "an empty problem" }
        } catch let e as SpecError {
            if e.file != name + ".yaml" && !e.file.hasPrefix(name) { return "the error names \(e.file), not the input" }
            if e.problem.isEmpty { return "an empty problem" }
        } catch let e as Finding {
            return e.description
        } catch {
            return "unexpected error \(type(of: error)): \(error)"
        }
        return nil
    }

    /// libFuzzer's callback body: a problem is a crash, which libFuzzer saves as an artifact.
    public static func fuzz(_ read: ([UInt8]) throws -> Void, _ data: UnsafePointer<UInt8>?, _ size: Int) {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        if let problem = problem(read, bytes) { fatalError(problem) }
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Finding(description: message()) }
    }

    static func elementSize(_ d: NamedTensor.DType) -> Int {
        switch d { case .u8: 1; case .f32, .i32: 4; case .f64, .u64: 8 }
    }
}
