import DigitLabEngine
import DigitLabTestSupport
import Testing

/// Max pooling's backward reads the window positions its forward recorded: the gradient must go to
/// the first maximum of each window (row-major, as TensorFlow), and nowhere when a rectified
/// maximum is not positive.
@Suite("Max pooling", .engineThreads)
struct MaxPool2DTests {
    /// One 2x4 image of 17 channels (sixteen in SIMD lanes, one left over): a window of four equal
    /// values, then a window whose maximum, -0.5, is its last position.
    func pooled(rectify: Bool) -> [Float] {
        let c = 17
        let pool = MaxPool2D(name: "pool", inputShape: [2, 4, c], capacity: 1)
        let input = Tensor(shape: [1, 2, 4, c])
        for y in 0..<2 {
            for x in 0..<4 {
                let v: Float = x < 2 ? 1 : (y == 1 && x == 3 ? -0.5 : -2)
                for ch in 0..<c { input[(y * 4 + x) * c + ch] = v }
            }
        }
        pool.forward(input, images: 0..<1, rectify: rectify, recordingMaxima: true)
        let gradOutput = Tensor(shape: [1, 1, 2, c])
        for i in 0..<gradOutput.count { gradOutput[i] = 3 }
        let gradInput = Tensor(shape: [1, 2, 4, c])
        for i in 0..<gradInput.count { gradInput[i] = .nan }
        pool.backward(gradOutput, into: .tensor(gradInput), images: 0..<1)
        return gradInput.array
    }

    @Test("the gradient goes to a window's first maximum; a rectified maximum that is not positive gets none",
          arguments: [false, true])
    func gradientPlaces(rectify: Bool) {
        let c = 17, grad = pooled(rectify: rectify)
        for y in 0..<2 {
            for x in 0..<4 {
                let firstOfTie = y == 0 && x == 0, lastOfSecond = y == 1 && x == 3
                let expected: Float = firstOfTie || (lastOfSecond && !rectify) ? 3 : 0
                let pixel = Array(grad[(y * 4 + x) * c..<(y * 4 + x + 1) * c])
                #expect(pixel == Array(repeating: expected, count: c), "pixel (\(y), \(x))")
            }
        }
    }
}
