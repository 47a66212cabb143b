import DigitLab
import Foundation
import Testing

@Suite("Process memory", .serialized)
struct ProcessMemoryTests {
    @Test("the peak rises by what the process touches, and reads back from its printed line")
    func peakFollowsTouchedMemory() throws {
        let before = try #require(ProcessMemory.peakResidentMB())
        // 256 MB touched page by page: more than this test process can already have resident.
        let count = 64 << 20
        let block = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { block.deallocate() }
        for i in stride(from: 0, to: count, by: 1024) { block[i] = Float(i) }
        let after = try #require(ProcessMemory.peakResidentMB())
        #expect(after >= max(before, 250), "peak \(before) MB before touching 256 MB, \(after) MB after")
        let line = "case1 seed 0: test accuracy 98.90%; 6.6 s per epoch (median); " + (try #require(ProcessMemory.peakDescription()))
        let read = try #require(ProcessMemory.peakResidentMB(in: "epoch  1/1\n" + line + "\n"))
        #expect(abs(read - after) <= 1, "printed \(line), read back \(read)")
        #expect(ProcessMemory.peakResidentMB(in: "case1 seed 0: test accuracy 98.90%\n") == nil)
    }

    @Test("a reset peak forgets memory given back before it (the next run's own peak)")
    func resetPeakForgetsFreedMemory() throws {
        // 1 GB touched and given back (a block this large is its own mapping, unmapped when freed):
        // far more than other tests running beside this one hold.
        let count = 256 << 20
        let block = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for i in stride(from: 0, to: count, by: 1024) { block[i] = Float(i) }
        block.deallocate()
        let before = try #require(ProcessMemory.peakResidentMB())
        try #require(before >= 1000, "peak \(before) MB after touching 1 GB")
        #expect(ProcessMemory.resetPeak(), "/proc/self/clear_refs could not be written")
        let after = try #require(ProcessMemory.peakResidentMB())
        #expect(after < before - 600, "peak \(before) MB before the reset, \(after) MB after")
    }
}
