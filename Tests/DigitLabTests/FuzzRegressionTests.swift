import DigitLab
import DigitLabTestSupport
import Foundation
import Testing

/// Every input that once broke a reader (Fuzz/Regressions/READER/) and every seed of the fuzzers
/// (Fuzz/Corpus/READER/), replayed through what the fuzzers run (`FuzzReaders`): each must be read
/// or rejected with a `DataError`/`SpecError` naming the input, never crash or allocate without
/// bound. A crash `make fuzz` finds goes into Fuzz/Regressions/ and is covered here from then on.
@Suite("Fuzzer regressions", .engineThreads)
struct FuzzRegressionTests {
    /// The fuzzers' seeds for `reader` (Fuzz/Corpus/READER/): there must be some, or a test
    /// replaying them would check nothing.
    static func seeds(_ reader: String) throws -> [String] {
        let files = files(in: TestPaths.root + "/Fuzz/Corpus/\(reader)")
        try #require(!files.isEmpty, "Fuzz/Corpus/\(reader) is missing or empty: the \(reader) fuzzer has no seeds")
        return files
    }

    /// The inputs that once broke `reader` (Fuzz/Regressions/READER/). Fuzz/Regressions itself must
    /// be there; a reader no crash was ever found in has no folder of its own.
    static func regressions(_ reader: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        try #require(FileManager.default.fileExists(atPath: TestPaths.root + "/Fuzz/Regressions", isDirectory: &isDirectory)
                     && isDirectory.boolValue, "Fuzz/Regressions is missing")
        return files(in: TestPaths.root + "/Fuzz/Regressions/\(reader)")
    }

    static func files(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".py") && !$0.hasSuffix(".c") }.map { dir + "/" + $0 }
    }

    @Test("every regression input and every seed is read or rejected cleanly", arguments: FuzzReaders.all.map(\.name))
    func replay(reader: String) throws {
        let read = try #require(FuzzReaders.all.first { $0.name == reader }?.read)
        let files = try Self.regressions(reader) + Self.seeds(reader)
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(FuzzReaders.problem(read, bytes) == nil, "\(file): \(FuzzReaders.problem(read, bytes) ?? "")")
        }
    }

    @Test("the seeds are valid inputs, so the fuzzers start from inside the formats")
    func seedsAreValid() throws {
        for file in try Self.seeds("image") {
            #expect(throws: Never.self, "\(file)") { _ = try ImageFile.read(path: file) }
        }
        for file in try Self.seeds("idx") where !file.hasSuffix("truncated") {
            #expect(throws: Never.self, "\(file)") { _ = try IDX.read(path: file) }
        }
        let corpus = TestPaths.root + "/Fuzz/Corpus/safetensors/"
        let (model, _) = try Checkpoint.loadModel(path: corpus + "model", capacity: 1)
        #expect(model.architecture.paper?.convFilters == [1])
        let (state, _) = try Checkpoint.load(path: corpus + "checkpoint")
        #expect(state.step == 10 && state.pendingEpoch?.order == [3, 1, 0, 2])
    }

    @Test("a YAML billion-laughs spec is refused at once, not expanded")
    func billionLaughs() throws {
        let path = TestPaths.root + "/Fuzz/Regressions/spec/billion-laughs.yaml"
        // Refused at the first anchor, on line 1, before any alias could be expanded: that is what
        // "at once" means here (no wall-clock limit, which a slow or busy machine could miss and
        // an expansion on a fast one could meet).
        do {
            _ = try SpecTree.load(path: path)
            Issue.record("an aliased spec was accepted")
        } catch let e as SpecError {
            #expect(e.file == path && e.line == 1 && e.problem.contains("anchors and aliases"))
        }
        // A plain anchor without any alias, too: specs have no use for them.
        #expect(throws: SpecError.self) { try SpecTree.parse("name: &n x\n", file: "a.yaml") }
        // Values beyond any spec's size, and files beyond a spec's size.
        let wide = "l: [" + Array(repeating: "1", count: SpecTree.maximumValues + 1).joined(separator: ", ") + "]\n"
        #expect(throws: SpecError.self) { try SpecTree.parse(wide, file: "wide.yaml") }
        #expect(throws: SpecError.self) { try SpecTree.parse(String(repeating: "#", count: SpecTree.maximumBytes + 1), file: "big.yaml") }
    }

    @Test("safetensors sizes and offsets must be whole numbers within the file")
    func safetensorsNumbers() throws {
        for name in ["huge-offset", "fractional-shape"] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestPaths.root + "/Fuzz/Regressions/safetensors/" + name)))
            #expect(throws: DataError.self, "\(name)") { try Safetensors.decode(bytes, name: name) }
        }
    }

    @Test("a saved model whose architecture would need 40 GB is refused before anything is allocated")
    func hostileArchitecture() throws {
        let path = TestPaths.root + "/Fuzz/Regressions/safetensors/model-40gb-input"
        do {
            _ = try Checkpoint.loadModel(path: path, capacity: 250)
            Issue.record("the model loaded")
        } catch let e as DataError {
            #expect(e.file == path && e.problem.contains("not a DigitLab model"))
        }
    }

    @Test("IDX from memory reads as from a file, and a header claiming more than the data allocates nothing for it")
    func idxFromMemory() throws {
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]
        let array = try IDX.decode(header + Array(0..<8), name: "mem")
        #expect(array.shape == [2, 2, 2] && array.bytes == Array(0..<8))
        // 1 GiB declared, 3 bytes present: truncated, named.
        let claim: [UInt8] = [0, 0, 8, 1, 0x40, 0, 0, 0, 1, 2, 3]
        #expect(throws: DataError("mem", "truncated: expected 1073741824 bytes of data for shape 1073741824, found 3")) {
            try IDX.decode(claim, name: "mem")
        }
    }
}
