import DigitLab
import Testing

@Suite("Confusion matrix")
struct ConfusionMatrixTests {
    @Test("counts by true and predicted class, as CSV and as an SVG heat map")
    func matrix() {
        let m = ConfusionMatrix(labels: [0, 0, 1, 2, 2, 2], predictions: [0, 1, 1, 2, 2, 0], classes: 3)
        #expect(m.counts == [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
        #expect(m.total == 6 && m.correct == 4)
        #expect(m.csv == "true,0,1,2\n0,1,1,0\n1,0,1,0\n2,1,0,2\n")
        let svg = m.svg(title: "a <test> & more")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<rect x=").count - 1 == 9)
        #expect(svg.contains("a &lt;test&gt; &amp; more"))
    }
}
