import DigitLabEngine
import DigitLabTestSupport
import Testing

/// The direct convolution kernels must compute what im2col, a GEMM and col2im compute: for the
/// paper's three layers (conv1's one channel needs no input gradient), for pixel and tap counts
/// that leave a partial tile of rows (121 pixels, 9 and 32 taps), for several filter blocks
/// whatever the build's tile width (16 or 32 columns), and for kernels that are not square.
@Suite("Direct convolution", .engineThreads)
struct DirectConvTests {
    @Test("forward, weight gradient and input gradient equal im2col with GEMM",
          arguments: [(28, 28, 1, 3, 3, 64), (13, 13, 64, 3, 3, 64), (5, 5, 64, 3, 3, 64), (9, 7, 32, 5, 2, 96),
                      (4, 4, 32, 1, 1, 32), (12, 9, 3, 5, 2, 32)])
    func equalsIm2colGEMM(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int, filters: Int) {
        let g = ConvGeometry(height: height, width: width, channels: channels,
                             kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        let w = tileColumns, inputGradient = channels % w == 0
        #expect(DirectConvolution.supports(g, filters: filters, inputGradient: inputGradient))
        let batch = 3, images = 1..<3, rows = images.count * g.patchesPerImage, k = g.patchSize
        let imageFloats = height * width * channels, outFloats = g.patchesPerImage * filters
        let x = randomTensor([batch * imageFloats], seed: 1)
        let kernel = randomTensor([k * filters], seed: 2), bias = randomTensor([filters], seed: 3)
        let gradOutput = randomTensor([batch * outFloats], seed: 4)
        let col = Tensor(shape: [rows, k])
        im2col(x.data, images: images, geometry: g, into: col.data)

        let direct = Tensor(shape: [batch * outFloats])
        let filterBlocks = Tensor(shape: [filters / w, k, w])
        packFilterBlocks(kernel.data, rows: k, filters: filters, into: filterBlocks.data)
        convolveDirect(x.data, images: images, geometry: g, kernelFilterBlocks: filterBlocks.data, bias: bias.data,
                       filters: filters, into: direct.data)
        let expected = Tensor(shape: [batch * outFloats])
        let out = expected.data + images.lowerBound * outFloats
        for r in 0..<rows { for f in 0..<filters { out[r * filters + f] = bias[f] } }
        gemm(m: rows, n: filters, k: k, a: col.data, lda: k, b: kernel.data, ldb: filters,
             beta: 1, c: out, ldc: filters, split: false)
        #expect(relativeError(direct.array, expected.array) < 1e-5)
        // Image 0 is outside the range and must be left alone.
        #expect((0..<outFloats).allSatisfy { direct[$0] == 0 })

        // The weight gradient accumulates onto what the gradient already holds.
        let dW = randomTensor([k * filters], seed: 5)
        let expectedDW = Tensor(shape: dW.shape, values: dW.array)
        let dOut = gradOutput.data + images.lowerBound * outFloats
        let gradientBlocks = Tensor(shape: [filters / w, rows, w])
        packFilterBlocks(dOut, rows: rows, filters: filters, into: gradientBlocks.data)
        convolveDirectWeightGradient(x.data, gradientBlocks: gradientBlocks.data, images: images, geometry: g,
                                     filters: filters, kernelGradient: dW.data)
        gemm(transA: true, m: k, n: filters, k: rows, a: col.data, lda: k, b: dOut, ldb: filters,
             beta: 1, c: expectedDW.data, ldc: filters, split: false)
        #expect(relativeError(dW.array, expectedDW.array) < 1e-5)

        // The input gradient overwrites its images (here filled with noise first), and only those.
        guard inputGradient else { return }
        let packed = Tensor(shape: [k / w, filters, w])
        packKernelTapBlocks(kernel.data, taps: k, filters: filters, into: packed.data)
        let dX = randomTensor([batch * imageFloats], seed: 7), before = dX.array
        convolveDirectInputGradient(gradientBlocks: gradientBlocks.data, images: images, geometry: g, kernelTapBlocks: packed.data,
                                    filters: filters, into: dX.data)
        let expectedDX = Tensor(shape: dX.shape)
        gemm(transB: true, m: rows, n: k, k: filters, a: dOut, lda: filters, b: kernel.data, ldb: filters,
             c: col.data, ldc: k, split: false)
        col2im(col.data, images: images, geometry: g, into: expectedDX.data)
        #expect(relativeError(Array(dX.array[imageFloats...]), Array(expectedDX.array[imageFloats...])) < 1e-5)
        #expect(Array(dX.array[..<imageFloats]) == Array(before[..<imageFloats]))
    }

    @Test("a convolution goes direct when its filters, and its channels if it passes a gradient back, are multiples of the tile width")
    func choosesDirectPath() {
        #expect(Conv2D(name: "c", inputShape: [13, 13, 64], filters: 64, kernelSize: 3, capacity: 1, convolution: .im2col).method == .patchMatrix)
        #expect(Conv2D(name: "c", inputShape: [13, 13, 64], filters: 64, kernelSize: 3, capacity: 1, convolution: .direct).method == .direct)
        #expect(Conv2D(name: "c", inputShape: [13, 13, 64], filters: 40, kernelSize: 3, capacity: 1).method == .patchMatrix)
        #expect(Conv2D(name: "c", inputShape: [13, 13, 64], filters: tileColumns + 8, kernelSize: 3, capacity: 1,
                       convolution: .direct).method == .patchMatrix)
        #expect(Conv2D(name: "c", inputShape: [13, 13, tileColumns / 2], filters: 64, kernelSize: 3, capacity: 1,
                       convolution: .direct).method == .patchMatrix)
        #expect(Conv2D(name: "c", inputShape: [13, 13, 3], filters: 64, kernelSize: 3, capacity: 1).method == .patchMatrix)
        #expect(Conv2D(name: "c", inputShape: [28, 28, 1], filters: 64, kernelSize: 3, capacity: 1,
                       computesInputGradient: false, convolution: .direct).method == .direct)
        #expect(Conv2D(name: "c", inputShape: [28, 28, 1], filters: 21, kernelSize: 3, capacity: 1,
                       computesInputGradient: false).method == .patchMatrix)
    }

    @Test("a Conv2D layer gives the same output and gradients on either path, over two workers",
          arguments: [([28, 28, 1], false), ([13, 13, 64], true)])
    func layerPathsAgree(inputShape: [Int], computesInputGradient: Bool) {
        let batch = 5
        let layers = [ConvolutionChoice.direct, .im2col].map {
            Conv2D(name: "c", inputShape: inputShape, filters: 64, kernelSize: 3, capacity: batch,
                   computesInputGradient: computesInputGradient, convolution: $0)
        }
        #expect(layers.map(\.method) == [.direct, .patchMatrix])
        let x = randomTensor([batch] + inputShape, seed: 1)
        let dOut = randomTensor([batch] + layers[0].outputShape, seed: 2)
        let kernel = randomTensor(layers[0].kernel.shape, seed: 3), bias = randomTensor([64], seed: 4)
        for layer in layers {
            convolutionStepOverTwoWorkers(layer, kernel: kernel, bias: bias, input: x, outputGradient: dOut, batch: batch)
        }
        #expect(relativeError(layers[0].output.array, layers[1].output.array) < 1e-5)
        #expect(relativeError(layers[0].kernel.gradient.array, layers[1].kernel.gradient.array) < 1e-5)
        #expect(relativeError(layers[0].bias.gradient.array, layers[1].bias.gradient.array) < 1e-5)
        if computesInputGradient, let a = layers[0].inputGradient, let b = layers[1].inputGradient {
            #expect(relativeError(a.array, b.array) < 1e-5)
        }
    }

    @Test("direct kernels, unless they are AVX2 and OpenBLAS runs AVX-512 kernels; DIGITLAB_CONVOLUTION decides over both")
    func enabledRule() {
        for avx512 in [false, true] {
            #expect(DirectConvolution.chooses(coreName: "Zen", environment: [:], kernelsUseAVX512: avx512))
            #expect(DirectConvolution.chooses(coreName: "Haswell", environment: [:], kernelsUseAVX512: avx512))
            #expect(DirectConvolution.chooses(coreName: "SkylakeX", environment: [:], kernelsUseAVX512: avx512) == avx512)
            #expect(DirectConvolution.chooses(coreName: "Cooperlake", environment: [:], kernelsUseAVX512: avx512) == avx512)
            #expect(DirectConvolution.chooses(coreName: "SkylakeX", environment: ["DIGITLAB_CONVOLUTION": "direct"], kernelsUseAVX512: avx512))
            #expect(!DirectConvolution.chooses(coreName: "Zen", environment: ["DIGITLAB_CONVOLUTION": "im2col"], kernelsUseAVX512: avx512))
        }
    }

    /// The CPU's feature flags, from /proc/cpuinfo's first `flags` line.
    static var cpuFlags: Set<String> {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: ":").dropFirst().joined().split(separator: " ").map(String.init))
    }

    /// What the Makefile requires of a CPU before it defines DIGITLAB_AVX512.
    static let avx512Flags: Set<String> = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "fma"]

    @Test("the kernels are AVX-512, 32 columns a tile, exactly when the build defines DIGITLAB_AVX512, and only on a CPU that has it")
    func kernelWidthFollowsTheBuild() throws {
        #if DIGITLAB_AVX512
        let defined = true
        #else
        let defined = false
        #endif
        #expect(DirectConvolution.usesAVX512 == defined)
        #expect(tileColumns == (defined ? 32 : 16))
        let flags = Self.cpuFlags
        try #require(!flags.isEmpty, "/proc/cpuinfo has no flags line")
        if defined {
            #expect(Self.avx512Flags.isSubset(of: flags), "built for AVX-512 on a CPU without \(Self.avx512Flags.subtracting(flags).sorted())")
        }
        // Built without it on a CPU that has it is allowed: `make CPU=` builds for the x86-64 baseline
        // on purpose. That `make` itself picks AVX-512 where the CPU has it is checked by the CLI
        // tests ("make builds ...").
    }

    @Test("transpose moves every float where the plain loop does, in whole 16x16 blocks and at the edges, with strides",
          arguments: [(576, 64), (32, 64), (16, 16), (37, 50), (5, 3), (1, 20)])
    func transposeMatchesPlainLoop(rows: Int, columns: Int) {
        // Padded strides, so a block that read or wrote past its row would show.
        let (sourceStride, destinationStride) = (columns + 3, rows + 5)
        let source = randomTensor([rows * sourceStride], seed: 7)
        let fast = Tensor(shape: [columns * destinationStride]), plain = Tensor(shape: [columns * destinationStride])
        for i in 0..<fast.count { fast[i] = -9; plain[i] = -9 }
        transpose(source.data, rows: rows, columns: columns, sourceStride: sourceStride, into: fast.data, destinationStride: destinationStride)
        for r in 0..<rows { for c in 0..<columns { plain[c * destinationStride + r] = source[r * sourceStride + c] } }
        #expect((0..<fast.count).allSatisfy { fast[$0].bitPattern == plain[$0].bitPattern })
    }
}
