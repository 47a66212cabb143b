import DigitLab
import DigitLabEngine
import Foundation
import Testing

@Suite("MNIST pipeline")
struct MNISTPipelineTests {
    @Test("the stroke-width constant and the centre are MNIST's own, as the pipeline measures them")
    func calibration() throws {
        let data = try PhotoFixtures.data()
        var ratios: [Double] = []
        for i in 0..<300 { ratios.append(try MNISTPipeline.strokeRatio(of: PhotoFixtures.mnistImage(data.train, i))) }
        ratios.sort()
        let median = ratios[ratios.count / 2]
        #expect(abs(median - MNISTPipeline.mnistStrokeRatio) < 0.1 * MNISTPipeline.mnistStrokeRatio,
                "median stroke ratio on MNIST: \(median), quartiles \(ratios[75]) \(ratios[225])")
        var cx = 0.0, cy = 0.0
        for i in 0..<1000 {
            let p = PhotoFixtures.mnistImage(data.train, i).pixels
            var m = 0.0, sx = 0.0, sy = 0.0
            for (k, v) in p.enumerated() { m += Double(v); sx += Double(v) * Double(k % 28); sy += Double(v) * Double(k / 28) }
            cx += sx / m / 1000
            cy += sy / m / 1000
        }
        #expect(abs(cx - MNISTPipeline.mnistCentre.x) < 0.25 && abs(cy - MNISTPipeline.mnistCentre.y) < 0.25,
                "MNIST's mean centre of mass: \(cx), \(cy)")
    }

    @Test("an MNIST digit passed as an image comes back nearly as it was")
    func mnistIsFixedPoint() throws {
        let data = try PhotoFixtures.data()
        var total = 0.0, dark = 0
        for i in 0..<100 {
            let image = PhotoFixtures.mnistImage(data.test, i)
            let result = try MNISTPipeline.run(image)
            total += PhotoFixtures.shiftedSimilarity(result.digit, image.pixels)
            if result.inkIsDark { dark += 1 }
        }
        #expect(total / 100 > 0.9, "mean similarity \(total / 100)")
        #expect(dark <= 1, "\(dark) of 100 white-on-black digits taken for dark ink")
    }

    @Test("dark ink on light paper, light ink on dark, and colour give the same digit")
    func polarityAndColour() throws {
        let data = try PhotoFixtures.data()
        for i in [0, 1, 2, 3] {
            let dark = PhotoFixtures.page(data.test, i)
            let light = PhotoFixtures.page(data.test, i, paper: 20, ink: 230)
            // Blue ink on yellow paper, from the grey page: ink 30 -> (20, 40, 160), paper -> (240, 220, 90).
            var rgb: [UInt8] = []
            for g in dark.pixels {
                let a = (235 - Double(g)) / 205
                rgb += [240 + (20 - 240) * a, 220 + (40 - 220) * a, 90 + (160 - 90) * a].map { UInt8($0.rounded()) }
            }
            let colour = RasterImage(width: dark.width, height: dark.height, channels: 3, pixels: rgb)
            let a = try MNISTPipeline.run(dark), b = try MNISTPipeline.run(light), c = try MNISTPipeline.run(colour)
            #expect(a.inkIsDark && !b.inkIsDark && c.inkIsDark)
            #expect(PhotoFixtures.similarity(a.digit, b.digit) > 0.95 && PhotoFixtures.similarity(a.digit, c.digit) > 0.95)
            #expect(PhotoFixtures.shiftedSimilarity(a.digit, PhotoFixtures.mnistImage(data.test, i).pixels) > 0.85)
        }
    }

    @Test("uneven lighting, ruled lines and specks do not change the digit")
    func clutter() throws {
        let data = try PhotoFixtures.data()
        for i in [4, 5, 6, 7] {
            let clean = PhotoFixtures.page(data.test, i)
            let reference = try MNISTPipeline.run(clean).digit
            let w = clean.width, h = clean.height
            // Light falling from 100% at the left to 35% at the right.
            var shaded = clean
            for y in 0..<h { for x in 0..<w {
                let f = 1 - 0.65 * Double(x) / Double(w - 1)
                shaded.pixels[y * w + x] = UInt8((Double(clean.pixels[y * w + x]) * f).rounded())
            } }
            // Ruled paper: a line every 36 pixels, 2 pixels thick, and a vertical margin.
            var ruled = clean
            for y in 0..<h { for x in 0..<w where (y % 36 < 2 || (x >= 40 && x < 42)) && clean.pixels[y * w + x] > 200 {
                ruled.pixels[y * w + x] = 150
            } }
            // Specks: dark 3 x 3 dots away from the digit.
            var specked = clean
            for k in 0..<40 {
                let x = (k * 97) % (w - 4), y = (k * 53) % (h - 4)
                guard x < 60 || x > w - 60 || y < 30 || y > h - 30 else { continue }
                for dy in 0..<3 { for dx in 0..<3 { specked.pixels[(y + dy) * w + x + dx] = 40 } }
            }
            for (name, image) in [("shaded", shaded), ("ruled", ruled), ("specked", specked)] {
                let result = try MNISTPipeline.run(image)
                let s = PhotoFixtures.shiftedSimilarity(result.digit, reference)
                #expect(s > 0.9, "\(name) digit \(i): similarity \(s)")
                if name == "ruled" { #expect(result.ruledLines >= 5, "ruled lines removed: \(result.ruledLines)") }
            }
        }
    }

    @Test("a sheet photographed on a dark desk: the desk is not taken for ink")
    func sheetOnDesk() throws {
        let data = try PhotoFixtures.data()
        for i in [8, 9, 10] {
            let page = PhotoFixtures.page(data.test, i)
            let reference = try MNISTPipeline.run(page).digit
            // The page lies off-centre on a desk of grey 50 that shows 40-90 pixels on each side.
            let (left, top, w, h) = (90, 40, page.width + 130, page.height + 100)
            var pixels = [UInt8](repeating: 50, count: w * h)
            for y in 0..<h { for x in 0..<w where (x + 3 * y) % 7 == 0 { pixels[y * w + x] = 62 } }
            for y in 0..<page.height { for x in 0..<page.width { pixels[(y + top) * w + x + left] = page.pixels[y * page.width + x] } }
            let result = try MNISTPipeline.run(RasterImage(width: w, height: h, channels: 1, pixels: pixels))
            let s = PhotoFixtures.shiftedSimilarity(result.digit, reference)
            #expect(s > 0.9, "digit \(i): similarity \(s)")
        }
    }

    @Test("thin pen strokes are thickened to MNIST's stroke width")
    func thinStrokes() throws {
        let data = try PhotoFixtures.data()
        for i in 0..<6 {
            let thin = SyntheticPhotos.make(from: data.test, source: i, index: i, style: .init(dark: false, grey: true, thin: true, ruled: false))
            let result = try MNISTPipeline.run(thin.image)
            #expect(result.thickened, "photo \(i): \(thin.traits), stroke \(result.strokeWidth)")
            let after = try MNISTPipeline.strokeRatio(of: RasterImage(width: 28, height: 28, channels: 1, pixels: result.digit))
            #expect(abs(after - MNISTPipeline.mnistStrokeRatio) < 0.35 * MNISTPipeline.mnistStrokeRatio, "photo \(i): ratio after \(after)")
        }
    }

    @Test("a tightly cropped digit whose strokes touch the edges keeps them")
    func tightCrop() throws {
        let data = try PhotoFixtures.data()
        // Test image 0 is a 7: crop the page to the digit's bounding box.
        let page = PhotoFixtures.page(data.test, 0, paper: 240, ink: 20)
        var minX = page.width, maxX = 0, minY = page.height, maxY = 0
        for y in 0..<page.height { for x in 0..<page.width where page.pixels[y * page.width + x] < 130 {
            minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
        } }
        var pixels: [UInt8] = []
        for y in minY...maxY { pixels += page.pixels[(y * page.width + minX)...(y * page.width + maxX)] }
        let crop = RasterImage(width: maxX - minX + 1, height: maxY - minY + 1, channels: 1, pixels: pixels)
        let s = PhotoFixtures.shiftedSimilarity(try MNISTPipeline.run(crop).digit, try MNISTPipeline.run(page).digit)
        #expect(s > 0.9, "similarity \(s)")
    }

    @Test("a blank page or pure noise is reported, not guessed")
    func nothingThere() {
        let blank = RasterImage(width: 300, height: 200, grey: 230)
        #expect(throws: MNISTPipeline.Failure.self) { try MNISTPipeline.run(blank) }
        // Seeded: the same noise every run, several of them, so a failure is one to reproduce.
        for seed in UInt64(1)...5 {
            var rng = Xoshiro256(seed: seed)
            let noise = RasterImage(width: 300, height: 200, channels: 1,
                                    pixels: (0..<60_000).map { _ in UInt8(200 + Int.random(in: -6...6, using: &rng)) })
            #expect(throws: MNISTPipeline.Failure.self, "noise of seed \(seed)") { try MNISTPipeline.run(noise) }
        }
    }
}
