import DigitLabEngine
import DigitLabTestSupport
import Testing

/// The sparse gradients (SparseGradient.swift) must give the dense direct kernels' bytes, not
/// just close values: a run's weights may not depend on which of them computed its gradients.
@Suite("Sparse convolution gradients", .engineThreads)
struct SparseGradientTests {
    /// An output gradient as a ReLU and 2x2 max pooling leave it: in each window at most one
    /// pixel per filter nonzero (at a seeded random place), a third of the windows all zero; in
    /// `densePixels`, every filter of the first few pixels nonzero too, as a dense gradient is.
    static func pooledGradient(images: Int, geometry g: ConvGeometry, filters: Int, seed: UInt64, densePixels: Int = 0) -> Tensor {
        let t = randomTensor([images * g.patchesPerImage * filters], seed: seed)
        var rng = Xoshiro256(seed: seed + 100)
        for b in 0..<images {
            for wy in stride(from: 0, to: g.outHeight, by: 2) {
                for wx in stride(from: 0, to: g.outWidth, by: 2) {
                    for f in 0..<filters {
                        let keep = rng.nextUnitFloat() < 0.67 ? Int(rng.nextUnitFloat() * 4) : -1
                        for k in 0..<4 {
                            let (y, x) = (wy + k / 2, wx + k % 2)
                            guard y < g.outHeight, x < g.outWidth else { continue }
                            let p = (b * g.outHeight + y) * g.outWidth + x
                            if k != keep && p % g.patchesPerImage >= densePixels { t[p * filters + f] = 0 }
                        }
                    }
                }
            }
        }
        return t
    }

    @Test("weight and input gradients equal the dense kernels' bit for bit, over chunks whose tiles cross images",
          arguments: [(13, 13, 64, 3, 3, 64, 0), (5, 5, 64, 3, 3, 64, 0), (13, 13, 64, 3, 3, 64, 40),
                      (9, 8, 32, 2, 2, 96, 0), (11, 10, 64, 3, 3, 32, 5)])
    func equalsDenseKernels(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int,
                            filters: Int, densePixels: Int) throws {
        let g = ConvGeometry(height: height, width: width, channels: channels, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        try #require(SparseOutputGradient.supports(g) && DirectConvolution.supports(g, filters: filters, inputGradient: true))
        let w = tileColumns, batch = 5, k = g.patchSize, imageFloats = height * width * channels
        let x = randomTensor([batch * imageFloats], seed: 1), kernel = randomTensor([k * filters], seed: 2)
        let gradient = Self.pooledGradient(images: batch, geometry: g, filters: filters, seed: 3, densePixels: densePixels)
        let tapBlocks = Tensor(shape: [k / w, filters, w]), byFilter = Tensor(shape: [filters, k])
        packKernelTapBlocks(kernel.data, taps: k, filters: filters, into: tapBlocks.data)
        packKernelByFilter(kernel.data, taps: k, filters: filters, into: byFilter.data)
        let dense = (dW: randomTensor([k * filters], seed: 4), dX: randomTensor([batch * imageFloats], seed: 5))
        let sparse = (dW: Tensor(shape: dense.dW.shape, values: dense.dW.array), dX: Tensor(shape: dense.dX.shape, values: dense.dX.array))
        let lists = SparseOutputGradient(geometry: g, filters: filters)
        // Two chunks in turn, as a worker takes them, the weight gradient summed over both: the
        // first of three images (121 pixels: tiles of six cross from one image into the next).
        for images in [0..<3, 3..<5] {
            let rows = images.count * g.patchesPerImage
            let blocks = Tensor(shape: [filters / w, rows, w])
            packFilterBlocks(gradient.data + images.lowerBound * g.patchesPerImage * filters, rows: rows, filters: filters, into: blocks.data)
            convolveDirectWeightGradient(x.data, gradientBlocks: blocks.data, images: images, geometry: g, filters: filters,
                                         kernelGradient: dense.dW.data)
            convolveDirectInputGradient(gradientBlocks: blocks.data, images: images, geometry: g, kernelTapBlocks: tapBlocks.data,
                                        filters: filters, into: dense.dX.data)
            lists.hold(sparse.dW.data)
            convolveSparseGradients(x.data, gradientBlocks: blocks.data, images: images, geometry: g, filters: filters,
                                    sparse: lists, kernelByFilter: byFilter.data, inputGradient: sparse.dX.data)
        }
        lists.release(into: sparse.dW.data)
        #expect(!lists.holdsKernelGradient)
        #expect(differingBits(sparse.dW.array, dense.dW.array) == 0)
        #expect(differingBits(sparse.dX.array, dense.dX.array) == 0)
        // Not vacuous: the gradient is mostly zero, and the sums are not.
        let zeros = gradient.array.filter { $0 == 0 }.count
        #expect(zeros * 2 > gradient.count && zeros < gradient.count)
        #expect(dense.dX.array.filter { $0 != 0 }.count * 2 > dense.dX.count)
    }

    @Test("a gradient counts as sparse when at most half of it is nonzero")
    func sparseThreshold() {
        let t = Tensor(shape: [100])
        for i in 0..<50 { t[i * 2] = Float(i) + 1 }
        #expect(SparseOutputGradient.isSparse(t.data, count: 100))
        t[1] = -3
        #expect(!SparseOutputGradient.isSparse(t.data, count: 100))
        #expect(SparseOutputGradient.isSparse(t.data, count: 8) == false)
        #expect(SparseOutputGradient.isSparse(t.data + 2, count: 97) == false)
        #expect(SparseOutputGradient.supports(ConvGeometry(height: 13, width: 13, channels: 64, kernelHeight: 3, kernelWidth: 3)))
        #expect(!SparseOutputGradient.supports(ConvGeometry(height: 28, width: 28, channels: 1, kernelHeight: 3, kernelWidth: 3)))
    }

    @Test("a Conv2D layer fed a pooled gradient gives im2col's gradients, over two workers, and the same bytes on a second step",
          arguments: [[13, 13, 64], [5, 5, 64]])
    func layerAgreesWithIm2col(inputShape: [Int]) {
        let batch = 5
        let layers = [ConvolutionChoice.direct, .im2col].map {
            Conv2D(name: "c", inputShape: inputShape, filters: 64, kernelSize: 3, capacity: batch, convolution: $0)
        }
        let x = randomTensor([batch] + inputShape, seed: 1)
        let dOut = Self.pooledGradient(images: batch, geometry: layers[0].geometry, filters: 64, seed: 2)
        let kernel = randomTensor(layers[0].kernel.shape, seed: 3), bias = randomTensor([64], seed: 4)
        var first: [Float] = []
        for round in 0..<2 {
            for layer in layers {
                convolutionStepOverTwoWorkers(layer, kernel: kernel, bias: bias, input: x, outputGradient: dOut, batch: batch)
            }
            #expect(relativeError(layers[0].kernel.gradient.array, layers[1].kernel.gradient.array) < 1e-5)
            #expect(relativeError(layers[0].bias.gradient.array, layers[1].bias.gradient.array) < 1e-5)
            #expect(relativeError(layers[0].inputGradient!.array, layers[1].inputGradient!.array) < 1e-5)
            if round == 0 { first = layers[0].kernel.gradient.array } else { #expect(differingBits(layers[0].kernel.gradient.array, first) == 0) }
        }
    }

    /// How many floats of `a` differ from `b`'s in any bit (a count, so a failure prints a number).
    func differingBits(_ a: [Float], _ b: [Float]) -> Int {
        a.count == b.count ? zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count : max(a.count, b.count)
    }
}
