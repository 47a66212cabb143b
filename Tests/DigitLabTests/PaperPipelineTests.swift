import DigitLab
import Testing

@Suite("Paper pipeline")
struct PaperPipelineTests {
    @Test("threshold above the floor of the mean, invert a mostly white image, shrink, normalize rows")
    func steps() {
        // 56 x 56 white page (200) with a dark 20 x 8 bar (10): mean 190.3..., threshold 190.
        var pixels = [UInt8](repeating: 200, count: 56 * 56)
        for y in 20..<28 { for x in 10..<30 { pixels[y * 56 + x] = 10 } }
        let steps = PaperPipeline.run(RasterImage(width: 56, height: 56, channels: 1, pixels: pixels))
        #expect(steps.threshold == 190)
        #expect(steps.inverted)
        // After inversion the bar is white on black; halving gives a 10 x 4 bar of 255.
        #expect(steps.resized[10 * 28 + 5] == 255 && steps.resized[10 * 28 + 4] == 0 && steps.resized[9 * 28 + 5] == 0)
        #expect(steps.resized.filter { $0 == 255 }.count == 40)
        // Each row with ink is a unit vector: 10 equal values of 1/sqrt(10); rows without ink stay 0.
        for y in 0..<28 {
            let norm = (0..<28).reduce(0.0) { $0 + Double(steps.input[y * 28 + $1] * steps.input[y * 28 + $1]) }
            let expected = (10..<14).contains(y) ? 1.0 : 0.0
            #expect(abs(norm - expected) < 1e-5, "row \(y)")
        }
        #expect(abs(steps.input[10 * 28 + 5] - Float(1 / 10.0.squareRoot())) < 1e-6)
    }

    @Test("a dark page with light ink is not inverted; a colour photograph is read through its luma")
    func polarity() {
        var rgb = [UInt8](repeating: 0, count: 40 * 30 * 3)
        for y in 10..<20 { for x in 5..<15 { rgb[(y * 40 + x) * 3] = 250; rgb[(y * 40 + x) * 3 + 1] = 250 } }
        let steps = PaperPipeline.run(RasterImage(width: 40, height: 30, channels: 3, pixels: rgb))
        #expect(!steps.inverted)
        #expect(steps.grey.pixels[15 * 40 + 10] == 221)  // (250 * 4899 + 250 * 9617 + 8192) >> 14
        #expect(steps.binary.pixels[15 * 40 + 10] == 255 && steps.binary.pixels[0] == 0)
    }

    @Test("rows, not columns, are normalized: the axis-1 quirk of the annexure")
    func rowNormalization() {
        let image: [UInt8] = [3, 4, 0, 0]
        #expect(PaperPipeline.normalizeRows(image, width: 2, height: 2) == [0.6, 0.8, 0, 0])
    }
}
