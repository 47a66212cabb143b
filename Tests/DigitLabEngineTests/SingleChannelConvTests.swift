import DigitLabEngine
import Testing

/// The direct kernels of one-channel convolutions must compute what im2col and a GEMM compute, for
/// filter counts that exercise their four-vector, one-vector and scalar paths, and for kernels
/// that are not 3x3.
@Suite("One-channel direct convolution")
struct SingleChannelConvTests {
    @Test("forward and weight gradient equal im2col with GEMM",
          arguments: [(28, 28, 3, 3, 64), (28, 28, 3, 3, 88), (12, 9, 5, 2, 21), (7, 7, 1, 1, 16)])
    func equalsIm2colGEMM(height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, filters: Int) {
        let g = ConvGeometry(height: height, width: width, channels: 1, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        let batch = 3, images = 1..<3, rows = images.count * g.patchesPerImage
        let x = randomTensor([batch * height * width], seed: 1)
        let kernel = randomTensor([g.patchSize * filters], seed: 2), bias = randomTensor([filters], seed: 3)
        let gradOutput = randomTensor([batch * g.patchesPerImage * filters], seed: 4)
        let col = Tensor(shape: [rows, g.patchSize])
        im2col(x.data, images: images, geometry: g, into: col.data)

        let direct = Tensor(shape: [batch * g.patchesPerImage * filters])
        convolveSingleChannel(x.data, images: images, geometry: g, kernel: kernel.data, bias: bias.data,
                              filters: filters, into: direct.data)
        let expected = Tensor(shape: [batch * g.patchesPerImage * filters])
        let out = expected.data + images.lowerBound * g.patchesPerImage * filters
        for r in 0..<rows { for f in 0..<filters { out[r * filters + f] = bias[f] } }
        gemm(m: rows, n: filters, k: g.patchSize, a: col.data, lda: g.patchSize, b: kernel.data, ldb: filters,
             beta: 1, c: out, ldc: filters, split: false)
        #expect(relativeError(direct.array, expected.array) < 1e-6)
        // Image 0 is outside the range and must be left alone.
        #expect((0..<g.patchesPerImage * filters).allSatisfy { direct[$0] == 0 })

        // Both accumulate onto what the gradients already hold.
        let dW = randomTensor([g.patchSize * filters], seed: 5), db = randomTensor([filters], seed: 6)
        let expectedDW = Tensor(shape: dW.shape, values: dW.array), expectedDb = Tensor(shape: db.shape, values: db.array)
        convolveSingleChannelWeightGradient(x.data, gradOutput.data, images: images, geometry: g, filters: filters,
                                            kernelGradient: dW.data, biasGradient: db.data)
        let dOut = gradOutput.data + images.lowerBound * g.patchesPerImage * filters
        gemm(transA: true, m: g.patchSize, n: filters, k: rows, a: col.data, lda: g.patchSize, b: dOut, ldb: filters,
             beta: 1, c: expectedDW.data, ldc: filters, split: false)
        for r in 0..<rows { for f in 0..<filters { expectedDb[f] += dOut[r * filters + f] } }
        #expect(relativeError(dW.array, expectedDW.array) < 1e-5)
        #expect(relativeError(db.array, expectedDb.array) < 1e-5)
    }
}
