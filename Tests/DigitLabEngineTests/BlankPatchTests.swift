import DigitLabEngine
import DigitLabTestSupport
import Testing

/// The direct forward skips the multiplies of blank patches (all inputs zero) and computes only
/// the columns asked for: it must still give, bit for bit, what every multiply-add in the kernel's
/// order gives, leave the other columns alone, and skip exactly the blank patches.
@Suite("Direct forward over blank patches", .engineThreads)
struct BlankPatchTests {
    /// `a + b · c` as the engine's lanes compute it (fused where the build says so).
    static func multiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float {
        #if DIGITLAB_FMA
        a.addingProduct(b, c)
        #else
        a + b * c
        #endif
    }

    /// Images of mostly zeros, as MNIST's are: a random blob of nonzero pixels in each (every
    /// channel of a pixel zero or not together), and a few single nonzero channels elsewhere.
    static func sparseImages(count: Int, geometry g: ConvGeometry, seed: UInt64) -> Tensor {
        let x = randomTensor([count * g.height * g.width * g.channels], seed: seed)
        var rng = Xoshiro256(seed: seed + 7)
        for b in 0..<count {
            let (cy, cx) = (Int(rng.nextUnitFloat() * Float(g.height)), Int(rng.nextUnitFloat() * Float(g.width)))
            for y in 0..<g.height {
                for x0 in 0..<g.width {
                    let inBlob = abs(y - cy) <= g.height / 5 && abs(x0 - cx) <= g.width / 4
                    let lone = rng.nextUnitFloat() < 0.03
                    for ch in 0..<g.channels where !inBlob && !(lone && ch == g.channels - 1) {
                        x[((b * g.height + y) * g.width + x0) * g.channels + ch] = 0
                    }
                }
            }
        }
        return x
    }

    /// Every output of `pixels` as a scalar sum: the bias, then tap after tap in HWIO order.
    static func reference(_ x: Tensor, kernel: Tensor, bias: Tensor, geometry g: ConvGeometry, filters: Int,
                          pixel q: Int, filter f: Int) -> Float {
        let image = q / g.patchesPerImage, oy = q % g.patchesPerImage / g.outWidth, ox = q % g.outWidth
        var sum = bias[f]
        for ky in 0..<g.kernelHeight {
            for j in 0..<g.kernelWidth * g.channels {
                let input = x[((image * g.height + oy + ky) * g.width + ox) * g.channels + j]
                sum = multiplyAdd(sum, input, kernel[(ky * g.kernelWidth * g.channels + j) * filters + f])
            }
        }
        return sum
    }

    static func isBlank(_ x: Tensor, geometry g: ConvGeometry, pixel q: Int) -> Bool {
        let image = q / g.patchesPerImage, oy = q % g.patchesPerImage / g.outWidth, ox = q % g.outWidth
        for ky in 0..<g.kernelHeight {
            for j in 0..<g.kernelWidth * g.channels where x[((image * g.height + oy + ky) * g.width + ox) * g.channels + j] != 0 {
                return false
            }
        }
        return true
    }

    @Test("equals every multiply-add in order, bit for bit; columns past `columns` untouched",
          arguments: [(28, 28, 1, 3, 3, 64, 26), (13, 13, 64, 3, 3, 64, 10), (13, 13, 64, 3, 3, 64, 11),
                      (12, 9, 3, 5, 2, 32, 7), (5, 5, 64, 3, 3, 64, 2), (4, 70, 16, 3, 3, 32, 68),
                      // A tap's channels straddling two words of a tile's step bits (48), and
                      // two words of channel bits a pixel (80).
                      (9, 11, 48, 3, 3, 32, 9), (8, 10, 80, 3, 3, 32, 8)])
    func equalsScalarSums(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int,
                          filters: Int, columns: Int) throws {
        let g = ConvGeometry(height: height, width: width, channels: channels, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        let k = g.patchSize, perImage = g.patchesPerImage, images = 4
        let x = BlankPatchTests.sparseImages(count: images, geometry: g, seed: UInt64(height * 31 + channels))
        let kernel = randomTensor([k * filters], seed: 2), bias = randomTensor([filters], seed: 3)
        let blocks = Tensor(shape: [filters / tileColumns, k, tileColumns])
        packFilterBlocks(kernel.data, rows: k, filters: filters, into: blocks.data)
        let blankCount = (0..<images * perImage).filter { BlankPatchTests.isBlank(x, geometry: g, pixel: $0) }.count
        try #require(blankCount > 0 && blankCount < images * perImage, "the images need blank and nonblank patches")

        // A whole chunk crossing images, and ranges starting and ending inside rows.
        for pixels in [0..<images * perImage, perImage + 5..<3 * perImage - 3, 2 * perImage + 1..<2 * perImage + 4] {
            let sentinel: Float = 7.25
            let out = Tensor(shape: [pixels.count * filters], values: [Float](repeating: sentinel, count: pixels.count * filters))
            convolveDirect(x.data, pixels: pixels, geometry: g, kernelFilterBlocks: blocks.data, bias: bias.data,
                           filters: filters, columns: columns, into: out.data)
            var mismatches = 0, touched = 0
            for q in pixels {
                for f in 0..<filters {
                    let got = out[(q - pixels.lowerBound) * filters + f]
                    if q % g.outWidth < columns {
                        let want = BlankPatchTests.reference(x, kernel: kernel, bias: bias, geometry: g, filters: filters, pixel: q, filter: f)
                        if got.bitPattern != want.bitPattern { mismatches += 1 }
                    } else if got != sentinel {
                        touched += 1
                    }
                }
            }
            #expect(mismatches == 0, "pixels \(pixels): \(mismatches) outputs differ from the scalar sums")
            #expect(touched == 0, "pixels \(pixels): \(touched) outputs past column \(columns) written")
        }
    }

    @Test("blank patches, and only they, take the bias without multiplying (a NaN in the kernel shows which)",
          arguments: [(28, 28, 1, 3, 3, 64), (13, 13, 64, 3, 3, 64)])
    func skipsExactlyBlankPatches(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int, filters: Int) {
        let g = ConvGeometry(height: height, width: width, channels: channels, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        let k = g.patchSize, images = 3, pixels = 0..<images * g.patchesPerImage
        let x = BlankPatchTests.sparseImages(count: images, geometry: g, seed: 11)
        let kernel = randomTensor([k * filters], seed: 2), bias = randomTensor([filters], seed: 3)
        // Every tap of filter 0 is NaN: a patch that is multiplied gives NaN there.
        for t in 0..<k { kernel[t * filters] = .nan }
        let blocks = Tensor(shape: [filters / tileColumns, k, tileColumns])
        packFilterBlocks(kernel.data, rows: k, filters: filters, into: blocks.data)
        let out = Tensor(shape: [pixels.count * filters])
        convolveDirect(x.data, pixels: pixels, geometry: g, kernelFilterBlocks: blocks.data, bias: bias.data,
                       filters: filters, into: out.data)
        var wrong = 0
        for q in pixels {
            let blank = BlankPatchTests.isBlank(x, geometry: g, pixel: q)
            let value = out[q * filters]
            if blank ? value.bitPattern != bias[0].bitPattern : !value.isNaN { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) of \(pixels.count) patches multiplied when blank or skipped when not")
    }

    @Test("a tile skips the taps whose six inputs are all zero (a NaN kernel row no input reaches leaves the sums finite)",
          arguments: [(13, 13, 64, 3, 3, 64), (5, 5, 64, 3, 3, 64), (9, 8, 32, 2, 2, 96)])
    func skipsZeroSteps(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int, filters: Int) {
        let g = ConvGeometry(height: height, width: width, channels: channels, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        let k = g.patchSize, images = 2, pixels = 0..<images * g.patchesPerImage
        // Every pixel nonzero (no blank patches), but channels below `channels / 2` zero
        // everywhere, and channel `channels / 2` nonzero only in the first image's last pixel.
        let x = randomTensor([images * height * width * channels], seed: 5)
        let lastPixel = height * width - 1
        for i in 0..<x.count where i % channels < channels / 2 || (i % channels == channels / 2 && i / channels != lastPixel) {
            x[i] = 0
        }
        let kernel = randomTensor([k * filters], seed: 2), bias = randomTensor([filters], seed: 3)
        // NaN in every filter at the taps of channel 0 (never reached) and at those of channel
        // channels / 2 (reached by the one patch that holds that pixel, the first image's last).
        for t in 0..<k where t % channels == 0 || t % channels == channels / 2 {
            for f in 0..<filters { kernel[t * filters + f] = .nan }
        }
        let blocks = Tensor(shape: [filters / tileColumns, k, tileColumns])
        packFilterBlocks(kernel.data, rows: k, filters: filters, into: blocks.data)
        let out = Tensor(shape: [pixels.count * filters])
        convolveDirect(x.data, pixels: pixels, geometry: g, kernelFilterBlocks: blocks.data, bias: bias.data,
                       filters: filters, into: out.data)
        var finite = 0, wrong = 0
        for q in pixels {
            let value = out[q * filters + 1]
            if value.isFinite { finite += 1 }
            if q == g.patchesPerImage - 1 && value.isFinite { wrong += 1 }
        }
        #expect(wrong == 0, "the patch holding the nonzero channel-\(channels / 2) pixel skipped its taps")
        #expect(finite > 0, "no tile skipped the taps of the all-zero channels")
    }

    @Test("the weight gradient skips blank patches with the bytes of every multiply-add in order, from +0 and onto earlier sums",
          arguments: [(28, 28, 1, 3, 3, 64), (13, 13, 64, 3, 3, 32), (12, 9, 3, 5, 2, 32), (4, 70, 16, 3, 3, 32)])
    func weightGradientEqualsScalarSums(height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int,
                                        filters: Int) throws {
        let g = ConvGeometry(height: height, width: width, channels: channels, kernelHeight: kernelHeight, kernelWidth: kernelWidth)
        let k = g.patchSize, perImage = g.patchesPerImage, images = 4
        let x = BlankPatchTests.sparseImages(count: images, geometry: g, seed: UInt64(height * 17 + channels))
        // Signed gradients with zeros among them, as a pooling leaves them.
        let dOut = randomTensor([images * perImage * filters], seed: 5)
        for i in stride(from: 0, to: dOut.count, by: 3) { dOut[i] = 0 }
        let blankCount = (0..<images * perImage).filter { BlankPatchTests.isBlank(x, geometry: g, pixel: $0) }.count
        try #require(blankCount > 0 && blankCount < images * perImage, "the images need blank and nonblank patches")

        // Two chunks in turn onto the same sums (the second starts from the first's), from +0.
        let dW = Tensor(shape: [k * filters])
        var want = [Float](repeating: 0, count: k * filters)
        for chunk in [0..<1, 1..<images] {
            let pixels = chunk.count * perImage
            let blocks = Tensor(shape: [pixels * filters])
            packFilterBlocks(dOut.data + chunk.lowerBound * perImage * filters, rows: pixels, filters: filters, into: blocks.data)
            convolveDirectWeightGradient(x.data, gradientBlocks: blocks.data, images: chunk, geometry: g, filters: filters,
                                         kernelGradient: dW.data)
            for q in chunk.lowerBound * perImage..<chunk.upperBound * perImage {
                let image = q / perImage, oy = q % perImage / g.outWidth, ox = q % g.outWidth
                for ky in 0..<g.kernelHeight {
                    for j in 0..<g.kernelWidth * g.channels {
                        let input = x[((image * g.height + oy + ky) * g.width + ox) * g.channels + j]
                        let tap = ky * g.kernelWidth * g.channels + j
                        for f in 0..<filters {
                            want[tap * filters + f] = BlankPatchTests.multiplyAdd(want[tap * filters + f], input, dOut[q * filters + f])
                        }
                    }
                }
            }
        }
        let mismatches = (0..<k * filters).filter { dW[$0].bitPattern != want[$0].bitPattern }.count
        #expect(mismatches == 0, "\(mismatches) of \(k * filters) kernel gradients differ from the scalar sums")
    }
}
