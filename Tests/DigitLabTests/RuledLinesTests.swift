@testable import DigitLab
import DigitLabTestSupport
import Foundation
import Testing

/// `RuledLines.remove` skips a pass that cannot remove anything (ink in fewer than half the
/// columns or rows, or spanning less than 80% of them); these check that the skip changes nothing.
@Suite("Ruled lines: skipped passes")
struct RuledLinesTests {
    /// The ink mask `RuledLines.remove` is given for `image` (the pipeline's "hysteresis" stage).
    static func inkMask(_ image: RasterImage) throws -> (mask: [Bool], width: Int, height: Int)? {
        var found: ([Bool], Int, Int)?
        do {
            _ = try MNISTPipeline.ink(image) { name, values, width, height in
                if name == "hysteresis" { found = (values.map { $0 > 0 }, width, height) }
            }
        } catch is MNISTPipeline.Failure { return nil }
        return found
    }

    @Test("on synthetic photographs (ruled ones among them), pages with ruled lines and MNIST digits, every mask and line removed is the full search's")
    func sameAsFullSearch() throws {
        let data = try PhotoFixtures.data()
        var images: [(String, RasterImage)] = []
        for i in 0..<40 {
            images.append(("photo \(i)", SyntheticPhotos.make(from: data.test, source: (i * 7919) % data.test.count, index: i).image))
        }
        for i in 0..<10 {
            let ruled = SyntheticPhotos.make(from: data.test, source: 500 + i, index: 500 + i, style: .init(ruled: true))
            images.append(("ruled photo \(i)", ruled.image))
        }
        for i in 0..<5 {
            // Ruled paper as MNISTPipelineTests draws it: a line every 36 pixels and a margin.
            var page = PhotoFixtures.page(data.test, i)
            let w = page.width
            for y in 0..<page.height { for x in 0..<w where (y % 36 < 2 || (x >= 40 && x < 42)) && page.pixels[y * w + x] > 200 {
                page.pixels[y * w + x] = 150
            } }
            images.append(("ruled page \(i)", page))
        }
        for i in 0..<40 { images.append(("MNIST digit \(i)", PhotoFixtures.mnistImage(data.test, i))) }

        var skipped = 0, removing = 0
        for (name, image) in images {
            guard let ink = try Self.inkMask(image) else { continue }
            var fast = ink.mask, full = ink.mask
            let fastLines = RuledLines.remove(from: &fast, width: ink.width, height: ink.height)
            let fullLines = RuledLines.remove(from: &full, width: ink.width, height: ink.height, skipSparse: false)
            #expect(fast == full, "\(name): the masks differ")
            #expect(fastLines.map(\.pixels) == fullLines.map(\.pixels) && fastLines.map(\.vertical) == fullLines.map(\.vertical)
                    && fastLines.map(\.start) == fullLines.map(\.start) && fastLines.map(\.end) == fullLines.map(\.end),
                    "\(name): the lines differ")
            for vertical in [false, true] where RuledLines.sparse(ink.mask, width: ink.width, height: ink.height, vertical: vertical) {
                skipped += 1
            }
            if !fullLines.isEmpty { removing += 1 }
        }
        // Both sides are exercised: passes skipped, and images whose lines are removed.
        #expect(skipped >= 40, "\(skipped) passes skipped")
        #expect(removing >= 5, "\(removing) images with lines removed")
    }

    @Test("a 28 x 28 MNIST digit skips both passes")
    func mnistDigitsSkip() throws {
        let data = try PhotoFixtures.data()
        for i in 0..<100 {
            guard let ink = try Self.inkMask(PhotoFixtures.mnistImage(data.test, i)) else { continue }
            #expect(RuledLines.sparse(ink.mask, width: ink.width, height: ink.height, vertical: false)
                    && RuledLines.sparse(ink.mask, width: ink.width, height: ink.height, vertical: true), "digit \(i)")
        }
    }
}
