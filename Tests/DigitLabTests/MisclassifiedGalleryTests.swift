import DigitLab
import Foundation
import Testing

@Suite("Misclassified gallery")
struct MisclassifiedGalleryTests {
    @Test("each digit is embedded as a PNG that decodes back to its pixels, with its labels")
    func gallery() throws {
        let pixels = (0..<784).map { UInt8($0 % 256) }
        let g = MisclassifiedGallery(entries: [.init(index: 42, label: 4, predicted: 9, pixels: pixels)])
        let svg = try g.svg(title: "test")
        #expect(svg.contains("4 → <tspan") && svg.contains(">9</tspan>") && svg.contains("#42"))
        let start = svg.range(of: "base64,")!.upperBound
        let end = svg[start...].firstIndex(of: "\"")!
        let png = try #require(Data(base64Encoded: String(svg[start..<end])))
        #expect(try ImageFile.decode([UInt8](png), name: "embedded").pixels == pixels)
        #expect(g.csv == "index,true,predicted\n42,4,9\n")
    }
}
