import DigitLab
import Testing

@Suite("Area resize (OpenCV INTER_AREA)")
struct AreaResizeTests {
    @Test("shrinking by a fraction weighs the pixels a cell cuts by the part inside it")
    func fractional() {
        // 3 -> 2: OpenCV's tables give weights (2/3, 1/3, 0) and (0, 1/3, 2/3).
        let out = AreaResize.resize([0, 90, 180], width: 3, height: 1, toWidth: 2, toHeight: 1)
        #expect(abs(out[0] - 30) < 1e-4 && abs(out[1] - 150) < 1e-4)
        let bytes = AreaResize.resize(bytes: [0, 90, 180, 0, 90, 180, 0, 90, 180], width: 3, height: 3, toWidth: 2, toHeight: 2)
        #expect(bytes == [30, 150, 30, 150])
    }

    @Test("shrinking by whole factors averages blocks, halving rounds halves up as OpenCV's fast path")
    func whole() {
        // Blocks summing to 2: 0.5 rounds up when halving, ...
        #expect(AreaResize.resize(bytes: [0, 1, 0, 0, 1, 0, 0, 0], width: 4, height: 2, toWidth: 2, toHeight: 1) == [1, 0])
        let four = [UInt8]([0, 0, 0, 0] + [0, 0, 0, 0] + [0, 0, 0, 0] + [0, 0, 0, 8])
        #expect(AreaResize.resize(bytes: four, width: 4, height: 4, toWidth: 1, toHeight: 1) == [0])  // ... and to even otherwise
        let image = (0..<56 * 56).map { UInt8(($0 * 13) % 256) }
        let small = AreaResize.resize(bytes: image, width: 56, height: 56, toWidth: 28, toHeight: 28)
        let x = 5, y = 7
        let block = [image[2 * y * 56 + 2 * x], image[2 * y * 56 + 2 * x + 1], image[(2 * y + 1) * 56 + 2 * x], image[(2 * y + 1) * 56 + 2 * x + 1]]
        #expect(Int(small[y * 28 + x]) == (block.reduce(0) { $0 + Int($1) } + 2) / 4)
    }

    @Test("enlarging falls back to OpenCV's area-mode linear taps: whole factors repeat pixels")
    func enlarging() {
        #expect(AreaResize.resize(bytes: [0, 255], width: 2, height: 1, toWidth: 4, toHeight: 1) == [0, 0, 255, 255])
        #expect(AreaResize.resize(bytes: [0, 255], width: 2, height: 1, toWidth: 3, toHeight: 1) == [0, 128, 255])
    }

    @Test("a uniform image stays uniform at any size")
    func uniform() {
        let out = AreaResize.resize(bytes: [UInt8](repeating: 77, count: 37 * 23), width: 37, height: 23, toWidth: 28, toHeight: 28)
        #expect(out.allSatisfy { $0 == 77 })
    }
}
