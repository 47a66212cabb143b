import DigitLabEngine
import DigitLabTestSupport
import Testing

/// Winograd's F(2x2, 3x3) against the exact convolution (in float64) and against the direct
/// kernels: forward and input gradient on the paper's conv2 and conv3 shapes and on sizes whose
/// last tiles are partial, each printing its largest absolute and relative error beside the
/// direct kernels' own; then the layer on both paths.
@Suite("Winograd convolution", .engineThreads)
struct WinogradTests {
    /// The largest error of FP32 results against the float64 truth that the tests accept, relative
    /// to the largest magnitude of the truth: the Keras reference tests' tolerance for activations.
    static let tolerance = 1e-5

    /// `(largest |a - e|, that over the largest |e|)`.
    static func errors(_ actual: [Float], _ exact: [Double]) -> (absolute: Double, relative: Double) {
        var worst = 0.0, scale = 0.0
        for (a, e) in zip(actual, exact) { worst = max(worst, abs(Double(a) - e)); scale = max(scale, abs(e)) }
        return (worst, worst / max(scale, 1e-30))
    }

    static func format(_ x: Double) -> String { String(format: "%.2e", x) }

    /// Glorot-uniform-sized kernel values, as training starts from.
    static func kernel(channels: Int, filters: Int, seed: UInt64) -> Tensor {
        let t = randomTensor([3, 3, channels, filters], seed: seed)
        let limit = Float((6.0 / Double(9 * channels + 9 * filters)).squareRoot())
        for i in 0..<t.count { t[i] *= limit }
        return t
    }

    @Test("forward and input gradient match the exact convolution within FP32 tolerance; errors printed beside the direct kernels'",
          arguments: [(13, 13, 64, 64), (5, 5, 64, 64), (9, 8, 32, 64), (8, 7, 64, 32), (3, 3, 32, 32), (6, 4, 32, 32)])
    func againstExactConvolution(height: Int, width: Int, channels c: Int, filters f: Int) {
        let g = ConvGeometry(height: height, width: width, channels: c, kernelHeight: 3, kernelWidth: 3)
        #expect(WinogradConvolution.supports(g, filters: f))
        let (oh, ow) = (g.outHeight, g.outWidth)
        let batch = 3, images = 1..<3, imageFloats = height * width * c, outFloats = oh * ow * f
        let x = randomTensor([batch, height, width, c], seed: 1)
        let kernel = Self.kernel(channels: c, filters: f, seed: 2), bias = randomTensor([f], seed: 3)
        let dOut = randomTensor([batch, oh, ow, f], seed: 4)
        let scratch = Tensor(shape: [WinogradConvolution.scratchFloats(channels: max(c, f))])
        let shape = "\(height)x\(width)x\(c) -> \(oh)x\(ow)x\(f)"

        // Forward: the exact sums, Winograd's and the direct kernels'.
        var exact = [Double](repeating: 0, count: images.count * outFloats)
        for (i, b) in images.enumerated() {
            for y in 0..<oh {
                for xx in 0..<ow {
                    for j in 0..<f {
                        var s = Double(bias[j])
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                for ch in 0..<c {
                                    s += Double(x[((b * height + y + ky) * width + xx + kx) * c + ch])
                                        * Double(kernel[((ky * 3 + kx) * c + ch) * f + j])
                                }
                            }
                        }
                        exact[((i * oh + y) * ow + xx) * f + j] = s
                    }
                }
            }
        }
        let packed = Tensor(shape: [WinogradConvolution.kernelFloats(channels: c, filters: f)])
        packWinogradKernel(kernel.data, channels: c, filters: f, rotated: false, into: packed.data)
        let winograd = Tensor(shape: [batch, oh, ow, f])
        winogradConvolve(x.data, images: images, height: height, width: width, channels: c, padding: 0, packedKernel: packed.data,
                         bias: bias.data, columns: f, outHeight: oh, outWidth: ow, into: winograd.data, scratch: scratch.data)
        #expect((0..<outFloats).allSatisfy { winograd[$0] == 0 }, "image 0 is outside the range and must be left alone")
        let blocks = Tensor(shape: [g.patchSize * f])
        packFilterBlocks(kernel.data, rows: g.patchSize, filters: f, into: blocks.data)
        let direct = Tensor(shape: [batch, oh, ow, f])
        convolveDirect(x.data, images: images, geometry: g, kernelFilterBlocks: blocks.data, bias: bias.data, filters: f, into: direct.data)
        let forward = Self.errors(Array(winograd.array[outFloats...]), exact)
        let forwardDirect = Self.errors(Array(direct.array[outFloats...]), exact)
        print("Winograd forward \(shape): largest error \(Self.format(forward.absolute)) absolute, \(Self.format(forward.relative)) relative"
              + " (direct kernels: \(Self.format(forwardDirect.absolute)), \(Self.format(forwardDirect.relative)))")
        #expect(forward.relative < Self.tolerance, "forward \(shape): relative error \(forward.relative)")

        // Input gradient: the full correlation of the output gradient with the turned kernel.
        var exactDX = [Double](repeating: 0, count: images.count * imageFloats)
        for (i, b) in images.enumerated() {
            for y in 0..<oh {
                for xx in 0..<ow {
                    for ky in 0..<3 {
                        for kx in 0..<3 {
                            for ch in 0..<c {
                                var s = 0.0
                                for j in 0..<f {
                                    s += Double(dOut[((b * oh + y) * ow + xx) * f + j]) * Double(kernel[((ky * 3 + kx) * c + ch) * f + j])
                                }
                                exactDX[((i * height + y + ky) * width + xx + kx) * c + ch] += s
                            }
                        }
                    }
                }
            }
        }
        let rotated = Tensor(shape: [WinogradConvolution.kernelFloats(channels: c, filters: f)])
        packWinogradKernel(kernel.data, channels: c, filters: f, rotated: true, into: rotated.data)
        let dX = randomTensor([batch, height, width, c], seed: 5), before = Array(dX.array[..<imageFloats])
        winogradConvolve(dOut.data, images: images, height: oh, width: ow, channels: f, padding: 2, packedKernel: rotated.data,
                         bias: nil, columns: c, outHeight: height, outWidth: width, into: dX.data, scratch: scratch.data)
        #expect(Array(dX.array[..<imageFloats]) == before, "image 0 is outside the range and must be left alone")
        let gradientBlocks = Tensor(shape: [images.count * oh * ow * f])
        packFilterBlocks(dOut.data + images.lowerBound * outFloats, rows: images.count * oh * ow, filters: f, into: gradientBlocks.data)
        let tapBlocks = Tensor(shape: [g.patchSize * f])
        packKernelTapBlocks(kernel.data, taps: g.patchSize, filters: f, into: tapBlocks.data)
        let directDX = Tensor(shape: [batch, height, width, c])
        convolveDirectInputGradient(gradientBlocks: gradientBlocks.data, images: images, geometry: g, kernelTapBlocks: tapBlocks.data,
                                    filters: f, into: directDX.data)
        let backward = Self.errors(Array(dX.array[imageFloats...]), exactDX)
        let backwardDirect = Self.errors(Array(directDX.array[imageFloats...]), exactDX)
        print("Winograd input gradient \(shape): largest error \(Self.format(backward.absolute)) absolute, \(Self.format(backward.relative)) relative"
              + " (direct kernels: \(Self.format(backwardDirect.absolute)), \(Self.format(backwardDirect.relative)))")
        #expect(backward.relative < Self.tolerance, "input gradient \(shape): relative error \(backward.relative)")
    }

    @Test("a Conv2D layer on Winograd gives the direct path's output and input gradient within tolerance and exactly its weight and bias gradients, over two workers",
          arguments: [([13, 13, 64], Conv2D.Padding.valid), ([5, 5, 64], .valid), ([7, 6, 32], .same)])
    func layerAgreesWithDirect(inputShape: [Int], padding: Conv2D.Padding) {
        let batch = 5, filters = 64
        let layers = [ConvolutionChoice.winograd, .direct].map {
            Conv2D(name: "c", inputShape: inputShape, filters: filters, kernelSize: 3, padding: padding, capacity: batch, convolution: $0)
        }
        #expect(layers.map(\.method) == [.winograd, .direct])
        let x = randomTensor([batch] + inputShape, seed: 1)
        let dOut = randomTensor([batch] + layers[0].outputShape, seed: 2)
        let kernel = Self.kernel(channels: inputShape[2], filters: filters, seed: 3), bias = randomTensor([filters], seed: 4)
        for layer in layers {
            convolutionStepOverTwoWorkers(layer, kernel: kernel, bias: bias, input: x, outputGradient: dOut, batch: batch)
        }
        #expect(relativeError(layers[0].output.array, layers[1].output.array) < Self.tolerance)
        #expect(layers[0].kernel.gradient.array == layers[1].kernel.gradient.array)
        #expect(layers[0].bias.gradient.array == layers[1].bias.gradient.array)
        let (a, b) = (layers[0].inputGradient!, layers[1].inputGradient!)
        #expect(relativeError(a.array, b.array) < Self.tolerance)
    }

    @Test("Winograd where asked for and where it fits (3x3, stride 1, channels and filters in tile widths); elsewhere what auto runs")
    func choosesWinograd() {
        func method(_ shape: [Int], filters: Int = 64, kernel: Int = 3, strides: Int = 1, gradient: Bool = true,
                    _ choice: ConvolutionChoice = .winograd) -> Conv2D.Method {
            Conv2D(name: "c", inputShape: shape, filters: filters, kernelSize: kernel, strides: strides, capacity: 1,
                   computesInputGradient: gradient, convolution: choice).method
        }
        #expect((method([13, 13, 64], .auto) == .winograd) == (ConvolutionChoice.automatic == .winograd))
        #expect(method([13, 13, 64]) == .winograd)
        #expect(method([5, 5, 64]) == .winograd)
        #expect(method([13, 13, 64], .direct) == .direct)
        #expect(method([13, 13, 64], .im2col) == .patchMatrix)
        // conv1: one channel, no input gradient; 5x5 kernels, strides 2, filters off the tile width.
        #expect(method([28, 28, 1], gradient: false) == (DirectConvolution.enabled ? .direct : .patchMatrix))
        #expect(method([13, 13, 64], kernel: 5) != .winograd)
        #expect(method([13, 13, 64], strides: 2) == .patchMatrix)
        #expect(method([13, 13, 64], filters: tileColumns + 8) == .patchMatrix)
        #expect(method([13, 13, tileColumns / 2]) != .winograd)
        #expect(ConvolutionChoice.automatic(environment: ["DIGITLAB_CONVOLUTION": "winograd"]) == .winograd)
        #expect(ConvolutionChoice.automatic(environment: ["DIGITLAB_CONVOLUTION": "im2col"]) == .im2col)
        #expect(ConvolutionChoice.automatic(environment: ["DIGITLAB_CONVOLUTION": "auto"]) != .auto)
    }
}
