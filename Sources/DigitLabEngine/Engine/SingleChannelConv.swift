/// Direct convolution of one-channel images (the first layer's: 28x28x1 digits), forward and
/// weight gradient, without a patch matrix.
///
/// Why not im2col and a GEMM as for the other layers: with one channel the product's inner
/// dimension is the tap count (9), and OpenBLAS spends more time packing and on edge tiles than
/// multiplying: `make bench` measured conv1's products at 11-39% of the large-sgemm rate on Zen 3
/// and 35-59% on Zen 5. Here each output pixel is 64 filters wide, which fills vector registers by
/// itself: a broadcast input value times a row of the kernel, accumulated over the taps.
///
/// Layouts are the engine's: NHWC images with one channel, the HWIO kernel `[kh·kw, filters]`, and
/// the output `[pixels, filters]` row-major, each image's pixels after the previous image's.

/// `out[p, f] = bias[f] + Σ_t x[p + offset(t)] · kernel[t, f]` for the images `images` of a
/// batch of `g`-shaped one-channel images. Runs on the calling thread.
public func convolveSingleChannel(_ input: UnsafePointer<Float>, images: Range<Int>, geometry g: ConvGeometry,
                                  kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>, filters: Int,
                                  into output: UnsafeMutablePointer<Float>) {
    precondition(g.channels == 1, "convolveSingleChannel needs one input channel")
    let f = filters
    for b in images {
        let x = input + b * g.height * g.width
        var out = output + b * g.patchesPerImage * f
        for oy in 0..<g.outHeight {
            for ox in 0..<g.outWidth {
                // The taps are kernel rows of kw pixels, each a run of the image's row.
                copyFloats(bias, out, count: f)
                accumulateWeightedRows(kernel, filters: f, weights: x + oy * g.width + ox,
                                       runs: g.kernelHeight, runLength: g.kernelWidth, runStride: g.width, into: out)
                out += f
            }
        }
    }
}

/// `kernelGradient[t, f] += Σ_p x[p + offset(t)] · gradOutput[p, f]` and
/// `biasGradient[f] += Σ_p gradOutput[p, f]` over the pixels of `images`, on the calling thread.
///
/// One output row at a time (26 pixels x 64 filters, 6.5 KB: in L1), every tap in turn, so the
/// gradient is read from L2 once however many taps there are.
public func convolveSingleChannelWeightGradient(_ input: UnsafePointer<Float>, _ gradOutput: UnsafePointer<Float>,
                                                images: Range<Int>, geometry g: ConvGeometry, filters: Int,
                                                kernelGradient: UnsafeMutablePointer<Float>,
                                                biasGradient: UnsafeMutablePointer<Float>) {
    precondition(g.channels == 1, "convolveSingleChannelWeightGradient needs one input channel")
    let (kh, kw, f, ow) = (g.kernelHeight, g.kernelWidth, filters, g.outWidth)
    for b in images {
        let x = input + b * g.height * g.width
        for oy in 0..<g.outHeight {
            let dOut = gradOutput + (b * g.patchesPerImage + oy * ow) * f
            for ky in 0..<kh {
                for kx in 0..<kw {
                    accumulateWeightedRows(dOut, filters: f, weights: x + (oy + ky) * g.width + kx,
                                           runs: 1, runLength: ow, runStride: 0, into: kernelGradient + (ky * kw + kx) * f)
                }
            }
            addColumnSums(dOut, rows: ow, columns: f, into: biasGradient)
        }
    }
}

/// `sums[j] += Σ_r Σ_i w[r·runStride + i] · rows[r·runLength + i, j]` for `j < filters`: rows of
/// `filters` floats weighted by `runs` runs of `runLength` contiguous weights. The sums stay in
/// registers, four vectors of filters at a time, so each broadcast weight feeds four products.
@inline(__always)
private func accumulateWeightedRows(_ rows: UnsafePointer<Float>, filters f: Int, weights w: UnsafePointer<Float>,
                                    runs: Int, runLength: Int, runStride: Int, into sums: UnsafeMutablePointer<Float>) {
    var fb = 0
    while fb + 64 <= f {
        var a0 = load(sums + fb), a1 = load(sums + fb + 16)
        var a2 = load(sums + fb + 32), a3 = load(sums + fb + 48)
        for r in 0..<runs {
            for i in 0..<runLength {
                let v = Lanes(repeating: w[r * runStride + i]), row = rows + (r * runLength + i) * f + fb
                a0 += v * load(row); a1 += v * load(row + 16)
                a2 += v * load(row + 32); a3 += v * load(row + 48)
            }
        }
        store(a0, sums + fb); store(a1, sums + fb + 16)
        store(a2, sums + fb + 32); store(a3, sums + fb + 48)
        fb += 64
    }
    while fb + 16 <= f {
        var a = load(sums + fb)
        for r in 0..<runs {
            for i in 0..<runLength { a += Lanes(repeating: w[r * runStride + i]) * load(rows + (r * runLength + i) * f + fb) }
        }
        store(a, sums + fb)
        fb += 16
    }
    while fb < f {
        var a = sums[fb]
        for r in 0..<runs {
            for i in 0..<runLength { a += w[r * runStride + i] * rows[(r * runLength + i) * f + fb] }
        }
        sums[fb] = a
        fb += 1
    }
}
