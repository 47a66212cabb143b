import DigitLabEngine
import DigitLabTestSupport
import Testing

/// The chunked execution of a convolution block must not change what it computes: a block carried
/// a few images at a time, split over several workers whose partial gradients are added at the
/// end, with its ReLU folded into the pooling, must give the outputs and gradients of the same
/// block run one layer at a time over the whole batch.
@Suite("Image-local stages", .engineThreads)
struct ImageLocalStageTests {
    // Every test here runs with the engine's thread count pinned (`.engineThreads`), set before
    // any test computes anything: setting the count also makes OpenBLAS single-threaded, and a
    // test switching OpenBLAS from two threads to one while another test was inside a product
    // corrupted that product (seen as a flaky mismatch of the three-worker case, 12 runs in 15).

    /// conv (13x13x8 → 11x11x16) → relu → pool, with random weights; `first` makes the conv a
    /// first layer, which computes no input gradient.
    func block(seed: UInt64, first: Bool, size: Int = 13, channels: Int = 8, filters: Int = 16,
               convolution: ConvolutionChoice = .auto) -> [any ImageLocalLayer] {
        let conv = Conv2D(name: "conv", inputShape: [size, size, channels], filters: filters, kernelSize: 3, capacity: 7,
                          computesInputGradient: !first, convolution: convolution)
        var rng = Xoshiro256(seed: seed)
        for p in conv.parameters { for i in 0..<p.value.count { p.value[i] = rng.uniform(-0.3, 0.3) } }
        return [conv,
                Activation(name: "relu", inputShape: conv.outputShape, capacity: 7),
                MaxPool2D(name: "pool", inputShape: conv.outputShape, capacity: 7)]
    }

    /// The same block as the plan runs it: one `ConvolutionBlock` (fused when the conv is direct).
    func fusedBlock(seed: UInt64, first: Bool, size: Int = 13, channels: Int = 8, filters: Int = 16,
                    convolution: ConvolutionChoice = .auto) -> ConvolutionBlock {
        let layers = block(seed: seed, first: first, size: size, channels: channels, filters: filters, convolution: convolution)
        return ConvolutionBlock(convolution: layers[0] as! Conv2D,
                                pooling: RectifiedPooling(rectifier: layers[1] as! Activation, pooling: layers[2] as! MaxPool2D))
    }

    @Test("a block carried in chunks over several workers equals one pass of the whole batch",
          arguments: [(1, 1, false), (3, 2, false), (2, 7, false), (2, 3, true)])
    func chunkedEqualsWhole(workers: Int, imagesPerChunk: Int, first: Bool) {
        let batch = 7
        let input = randomTensor([batch, 13, 13, 8], seed: 1)
        let gradOutput = randomTensor([batch, 5, 5, 16], seed: 2)

        let wholeLayers = block(seed: 3, first: first)
        var x = input
        for layer in wholeLayers { x = layer.forward(x, batch: batch, mode: .training) }
        let wholeOut = x.array
        var g = gradOutput
        for layer in wholeLayers.reversed() { g = layer.backward(g, batch: batch) }
        let wholeGrad = g.array

        let chunkedBlock = fusedBlock(seed: 3, first: first)
        let chunked = ImageLocalStage(layers: [chunkedBlock], imagesPerChunk: imagesPerChunk)
        // Run twice: partial gradients left over from one backward pass must not leak into the next.
        for _ in 0..<2 {
            let out = chunked.forward(input, batch: batch, workers: workers).array
            let grad = chunked.backward(gradOutput, batch: batch, workers: workers).array
            #expect(relativeError(out, wholeOut) < 1e-6)
            if !first { #expect(relativeError(grad, wholeGrad) < 1e-6) }
            for (a, b) in zip(chunkedBlock.parameters, wholeLayers[0].parameters) {
                let err = relativeError(a.gradient.array, b.gradient.array)
                #expect(err < 1e-5, "\(a.name) gradient: relative error \(err)")
                #expect(a.gradient.array.contains { $0 != 0 })
            }
        }
    }

    /// Two blocks, 13x13x8 → 5x5x16 → 1x1x16, as fresh layers with the same random weights.
    func twoBlocks() -> [ImageLocalStage] {
        let second = Conv2D(name: "conv2", inputShape: [5, 5, 16], filters: 16, kernelSize: 3, capacity: 7)
        var rng = Xoshiro256(seed: 9)
        for p in second.parameters { for i in 0..<p.value.count { p.value[i] = rng.uniform(-0.3, 0.3) } }
        let pooling = RectifiedPooling(rectifier: Activation(name: "relu2", inputShape: [3, 3, 16], capacity: 7),
                                       pooling: MaxPool2D(name: "pool2", inputShape: [3, 3, 16], capacity: 7))
        return [ImageLocalStage(layers: [fusedBlock(seed: 3, first: false)], imagesPerChunk: 2),
                ImageLocalStage(layers: [ConvolutionBlock(convolution: second, pooling: pooling)], imagesPerChunk: 3)]
    }

    @Test("stages run as one sequence, in one parallel region, give exactly what they give one by one",
          arguments: [1, 2, 3])
    func sequenceEqualsStagesOneByOne(workers: Int) {
        let batch = 7
        let input = randomTensor([batch, 13, 13, 8], seed: 1)
        let gradOutput = randomTensor([batch, 1, 1, 16], seed: 2)

        let separate = twoBlocks()
        let separateOut = separate[1].forward(separate[0].forward(input, batch: batch, workers: workers),
                                              batch: batch, workers: workers).array
        let separateGrad = separate[0].backward(separate[1].backward(gradOutput, batch: batch, workers: workers),
                                                batch: batch, workers: workers).array

        let sequence = StageSequence(stages: twoBlocks())
        for _ in 0..<2 {
            let sameOutput = sequence.forward(input, batch: batch, workers: workers).array == separateOut
            let sameGradient = sequence.backward(gradOutput, batch: batch, workers: workers).array == separateGrad
            #expect(sameOutput)
            #expect(sameGradient)
            let pairs = zip(sequence.stages.flatMap(\.layers), separate.flatMap(\.layers))
            for (a, b) in pairs {
                for (p, q) in zip(a.parameters, b.parameters) {
                    let same = p.gradient.array == q.gradient.array
                    #expect(same, "\(a.name)/\(p.name) gradient differs")
                    #expect(p.gradient.array.contains { $0 != 0 })
                }
            }
        }
    }

    @Test("a forward pass gives the same bits whichever thread claims which images")
    func forwardIndependentOfThreads() {
        let batch = 7
        let input = randomTensor([batch, 13, 13, 8], seed: 1)
        let sequence = StageSequence(stages: twoBlocks())
        let alone = sequence.forward(input, batch: batch, workers: 1).array
        for _ in 0..<20 {
            let shared = sequence.forward(input, batch: batch, workers: 2).array
            #expect(shared == alone)
        }
    }

    /// A direct convolution, its ReLU and its pooling run as one step: forward pools the
    /// convolution's rows from a small buffer as they are computed, backward writes the pooling's
    /// gradient in the convolution's filter blocks.
    @Test("a direct convolution run as one step with its pooling gives exactly what its layers give one at a time",
          arguments: [(true, 13), (false, 13), (false, 28)])
    func pooledConvolutionEqualsLayers(first: Bool, size: Int) {
        // Two filter blocks whatever the build's tile width (16 or 32 columns).
        let batch = 7, width = 2 * tileColumns, out = size - 2, pooled = out / 2
        let input = randomTensor([batch, size, size, width], seed: 1)
        // 11x11 pooled to 5x5: the pooling drops a row and a column, whose gradient must be zero.
        // 26x26 pooled to 13x13: more rows than one buffer of the forward step holds.
        let gradOutput = randomTensor([batch, pooled, pooled, width], seed: 2)
        let layers = block(seed: 3, first: first, size: size, channels: width, filters: width, convolution: .direct)
        #expect((layers[0] as! Conv2D).method == .direct)
        var x = input
        for layer in layers { x = ImageLocalStage(layers: [layer], imagesPerChunk: batch).forward(x, batch: batch, workers: 1) }
        #expect(!(layers[1].output.array.allSatisfy { $0 == 0 }), "the ReLU ran on its own")
        var g = gradOutput
        for layer in layers.reversed() { g = ImageLocalStage(layers: [layer], imagesPerChunk: batch).backward(g, batch: batch, workers: 1) }
        let (output, grad) = (x.array, g.array)
        let gradients = layers[0].parameters.map(\.gradient.array)

        let fused = fusedBlock(seed: 3, first: first, size: size, channels: width, filters: width, convolution: .direct)
        #expect(fused.fused)
        let stage = ImageLocalStage(layers: [fused], imagesPerChunk: batch)
        let rowBytes = 2 * out * width * MemoryLayout<Float>.stride
        if size == 28 { #expect(ConvolutionBlock.pooledRowBytes / rowBytes < pooled, "the rows fit one buffer: no test of several") }
        let sameOutput = stage.forward(input, batch: batch, workers: 1).array == output
        #expect(sameOutput)
        // Whatever the buffer held before (another chunk size's layout) must not leak in.
        let blocks = fused.convolution.outputGradientBlocks(worker: 0)!
        blocks.update(repeating: .nan, count: batch * out * out * width)
        let stageGrad = stage.backward(gradOutput, batch: batch, workers: 1).array
        let sameInputGradient = stageGrad == grad
        if !first { #expect(sameInputGradient) }
        #expect(fused.pooling.rectifier.output.array.allSatisfy { $0 == 0 }, "the fused step wrote the ReLU's output")
        for (p, expected) in zip(fused.parameters, gradients) {
            let same = p.gradient.array == expected
            #expect(same, "\(p.name) gradient differs")
        }
    }

    /// A Winograd convolution is not fused with its pooling, but computes only the outputs the
    /// pooling's windows cover (conv2's 10x10 of 11x11, conv3's 2x2 of 3x3).
    @Test("a Winograd convolution block gives exactly what its layers give one at a time, never reading the outputs it leaves out",
          arguments: [(false, 13), (false, 5), (true, 13)])
    func winogradBlockEqualsLayers(first: Bool, size: Int) {
        let batch = 5, width = 2 * tileColumns, out = size - 2, pooled = out / 2
        let input = randomTensor([batch, size, size, width], seed: 1)
        let gradOutput = randomTensor([batch, pooled, pooled, width], seed: 2)
        let layers = block(seed: 3, first: first, size: size, channels: width, filters: width, convolution: .winograd)
        #expect((layers[0] as! Conv2D).method == .winograd)
        var x = input
        for layer in layers { x = ImageLocalStage(layers: [layer], imagesPerChunk: batch).forward(x, batch: batch, workers: 1) }
        var g = gradOutput
        for layer in layers.reversed() { g = ImageLocalStage(layers: [layer], imagesPerChunk: batch).backward(g, batch: batch, workers: 1) }
        let (output, grad) = (x.array, g.array)
        let gradients = layers[0].parameters.map(\.gradient.array)

        let block = fusedBlock(seed: 3, first: first, size: size, channels: width, filters: width, convolution: .winograd)
        #expect(!block.fused)
        block.convolution.output.data.update(repeating: .nan, count: block.convolution.output.count)
        let stage = ImageLocalStage(layers: [block], imagesPerChunk: 2)
        #expect(stage.forward(input, batch: batch, workers: 2).array == output)
        let computed = block.convolution.output.array
        let left = (0..<batch * out * out).filter { p in (p % (out * out)) / out >= 2 * pooled || p % out >= 2 * pooled }
        #expect(left.allSatisfy { p in (0..<width).allSatisfy { computed[p * width + $0].isNaN } }, "only the covered outputs are computed")
        let stageGrad = stage.backward(gradOutput, batch: batch, workers: 1).array
        if !first { #expect(stageGrad == grad) }
        for (p, expected) in zip(block.parameters, gradients) {
            #expect(p.gradient.array == expected, "\(p.name) gradient differs")
        }
    }
}
