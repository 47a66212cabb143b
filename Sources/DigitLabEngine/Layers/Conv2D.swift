/// A 2-D convolution, as Keras's `Conv2D(filters, k, strides, padding)`: square kernels, equal
/// strides along rows and columns, "valid" (no padding) or "same" (zeros around the image, as
/// Keras places them: the odd one at the bottom and right).
///
/// A padded convolution copies each image into a zero-bordered buffer before its products and
/// crops its input gradient back out of one, so that its kernels see a valid convolution of the
/// padded images; a valid one reads its input in place.
///
/// Each pass is a matrix product per chunk of images: forward `out = col · W + b`, weight gradient
/// `dW += colᵀ · dOut`, input gradient `dCol = dOut · Wᵀ` folded back onto the images, where `col`
/// is the patch matrix (one row per output pixel) and the kernel is Keras's HWIO
/// `[kh, kw, in, out]`, which read row-major is already the `[kh·kw·in, out]` matrix the product
/// needs. Most layers compute these products with the direct kernels (`Method.direct`,
/// `convolveDirect`), which read the patches from the images in place; the others unfold a chunk
/// with `im2col` and call OpenBLAS (`Method.patchMatrix`); a spec may ask for Winograd's
/// F(2x2, 3x3) on 3x3 stride-1 layers (`Method.winograd`, Winograd.swift). On the direct and
/// Winograd paths, where a chunk's output gradient is mostly zero (behind a max pooling), the
/// kernel gradient, and on the direct path the input gradient, multiply only its nonzero entries
/// (SparseGradient.swift), with the dense kernels' bytes. The patch matrix is
/// a chunk's, not the batch's (conv2's would be 8.9 MB at batch 32), and backward unfolds the
/// chunk again rather than keep it: re-reading a chunk that is in cache is cheaper than streaming
/// the batch's through memory.
public final class Conv2D: ImageLocalLayer {
    public let name: String
    /// The unpadded input sample, `[height, width, channels]`.
    public let inputShape: [Int]
    /// The convolution of the padded images, with the strides.
    public let geometry: ConvGeometry
    /// Zero rows above and below, zero columns left and right, of each image ('same'; all 0 for 'valid').
    public let padding: (top: Int, bottom: Int, left: Int, right: Int)
    public let filters: Int
    public let kernel: Parameter
    public let bias: Parameter
    /// False for the first layer, whose input is data: its input gradient is never needed.
    public let computesInputGradient: Bool
    public let output: Tensor
    public let inputGradient: Tensor?

    /// The images the products read: the input, or its padded copy.
    private var input: Tensor?
    /// The input as the previous layer gave it, for padding.
    private var source: Tensor?
    /// Padded copies of the images and their gradient, for a 'same' convolution (nil for 'valid').
    private let paddedInput: Tensor?
    private let paddedGradient: Tensor?
    /// Per worker: the patch matrix of its chunk and, for workers after the first, partial
    /// kernel and bias gradients (worker 0 accumulates straight into the parameters' gradients).
    private var scratch: [Scratch] = []

    /// The kernel in blocks of `tileColumns` filters (`packFilterBlocks`), for the direct forward pass
    /// (nil on the patch-matrix path); refreshed each forward, since the weights change between
    /// steps (a 147 KB copy for conv2, against its 9 MFLOP an image).
    private let kernelFilterBlocks: Tensor?
    /// The kernel in blocks of `tileColumns` taps (`packKernelTapBlocks`), for the direct input gradient
    /// (so nil exactly when the input gradient goes through im2col or is not needed); refreshed
    /// each backward.
    private let kernelTapBlocks: Tensor?
    /// On the Winograd path, the kernel's transform for the forward pass and the rotated kernel's
    /// for the input gradient (`packWinogradKernel`), refreshed each forward and each backward like
    /// the direct path's blocks; nil elsewhere (the second also without an input gradient).
    private let winogradKernel: Tensor?
    private let winogradRotatedKernel: Tensor?
    /// The kernel transposed, `[filters, taps]` (`packKernelByFilter`), for the sparse input
    /// gradient (SparseGradient.swift); nil where the direct path's input gradient is not needed
    /// or the sparse kernels do not fit the shape. Refreshed each backward.
    private let kernelByFilter: Tensor?
    /// Per worker, the lists of its chunk's nonzero output gradient (`SparseOutputGradient`), made
    /// at the first backward pass (an inference-only model never needs them); empty where the
    /// sparse kernels do not fit.
    private var sparseGradients: [SparseOutputGradient] = []

    private struct Scratch {
        /// The patch matrix (`.patchMatrix`) or the chunk's output gradient in filter blocks
        /// (`.direct`).
        let col: Tensor
        let kernelGradient: Tensor
        let biasGradient: Tensor
        /// Output rows of one image for `forward(rows:ofImage:columns:worker:)`: sized for all of them,
        /// but only the few rows a call computes are ever touched.
        let rows: Tensor
        /// Transformed tiles and their products, for `winogradConvolve` (empty off that path).
        let winograd: Tensor
        /// Whether the worker has begun its kernel gradient in this backward pass.
        let progress: BackwardProgress
    }

    /// A worker's kernel gradient is zeroed by that worker at its first chunk of a backward pass
    /// (`chunkGradients`), not by the calling thread before the pass: on the worker's core, where
    /// its sums are made, and not at all where the sparse kernels hold it as zeros instead.
    private final class BackwardProgress { var kernelGradientBegun = false }

    /// The fewest taps (rows of the `[taps, filters]` kernel) a thread takes in `forEachTapShare`:
    /// conv1's 9 stay on one thread, where a region would cost more than it shares.
    private static let tapsPerShare = 64

    /// How the layer's passes are computed.
    public enum Method: Sendable {
        /// `convolveDirect` and its gradients (`DirectConvolution.supports`).
        case direct
        /// im2col and OpenBLAS products: other shapes, or where the direct kernels are not enabled.
        case patchMatrix
        /// `winogradConvolve` forward and for the input gradient, the direct kernels for the
        /// weight gradient (`WinogradConvolution.supports`).
        case winograd

        /// How a convolution of `g` with `filters` filters runs when `choice` is asked for: the
        /// kernels asked for where they fit the shape, else what `auto` would run without the
        /// environment (`ConvolutionChoice`).
        public static func chosen(_ choice: ConvolutionChoice, for g: ConvGeometry, filters: Int, inputGradient: Bool) -> Method {
            let direct = DirectConvolution.supports(g, filters: filters, inputGradient: inputGradient)
            switch choice == .auto ? ConvolutionChoice.automatic : choice {
            case .winograd where WinogradConvolution.supports(g, filters: filters): return .winograd
            case .direct: return direct ? .direct : .patchMatrix
            case .im2col: return .patchMatrix
            case .winograd, .auto: return DirectConvolution.enabled && direct ? .direct : .patchMatrix
            }
        }
    }

    /// A `filters`-filter `kernelSize`x`kernelSize` convolution of `inputShape` (HWC) images, with
    /// buffers for `capacity` images, on the kernels `convolution` asks for where they fit its
    /// shape (`Method.chosen`).
    public init(name: String, inputShape: [Int], filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                capacity: Int, computesInputGradient: Bool = true, convolution: ConvolutionChoice = .auto) {
        precondition(inputShape.count == 3, "Conv2D input must be [height, width, channels]")
        self.name = name
        self.inputShape = inputShape
        let (height, width) = (inputShape[0], inputShape[1])
        let (rows, columns) = padding == .same
            ? (Conv2D.samePadding(height, kernelSize, strides), Conv2D.samePadding(width, kernelSize, strides)) : ((0, 0), (0, 0))
        self.padding = (rows.0, rows.1, columns.0, columns.1)
        self.geometry = ConvGeometry(height: height + rows.0 + rows.1, width: width + columns.0 + columns.1, channels: inputShape[2],
                                     kernelHeight: kernelSize, kernelWidth: kernelSize, stride: strides)
        let padded = rows.0 + rows.1 + columns.0 + columns.1 > 0
        let paddedShape = [capacity, geometry.height, geometry.width, geometry.channels]
        paddedInput = padded ? Tensor(shape: paddedShape) : nil
        paddedGradient = padded && computesInputGradient ? Tensor(shape: paddedShape) : nil
        self.filters = filters
        self.computesInputGradient = computesInputGradient
        kernel = Parameter(name: "kernel", shape: [kernelSize, kernelSize, inputShape[2], filters])
        bias = Parameter(name: "bias", shape: [filters])
        output = Tensor(shape: [capacity, geometry.outHeight, geometry.outWidth, filters])
        inputGradient = computesInputGradient ? Tensor(shape: [capacity] + inputShape) : nil
        method = .chosen(convolution, for: geometry, filters: filters, inputGradient: computesInputGradient)
        let w = tileColumns
        kernelFilterBlocks = method == .direct ? Tensor(shape: [filters / w, geometry.patchSize, w]) : nil
        kernelTapBlocks = method == .direct && computesInputGradient ? Tensor(shape: [geometry.patchSize / w, filters, w]) : nil
        let transformed = [WinogradConvolution.kernelFloats(channels: geometry.channels, filters: filters)]
        winogradKernel = method == .winograd ? Tensor(shape: transformed) : nil
        kernelByFilter = method == .direct && computesInputGradient && SparseOutputGradient.supports(geometry)
            ? Tensor(shape: [filters, geometry.patchSize]) : nil
        winogradRotatedKernel = method == .winograd && computesInputGradient ? Tensor(shape: transformed) : nil
    }

    /// Keras's 'same' padding of one dimension: the output is `ceil(size / strides)`, and the zeros
    /// it needs go half before and half after, the odd one after.
    static func samePadding(_ size: Int, _ kernel: Int, _ strides: Int) -> (Int, Int) {
        let out = (size + strides - 1) / strides
        let total = max((out - 1) * strides + kernel - size, 0)
        return (total / 2, total - total / 2)
    }

    /// "valid" or "same", as Keras spells them.
    public enum Padding: String, Sendable, CaseIterable { case valid, same }

    /// How the passes are computed, from the shape.
    public let method: Method

    public var outputShape: [Int] { [geometry.outHeight, geometry.outWidth, filters] }
    public var parameters: [Parameter] { [kernel, bias] }
    public var forwardFLOPs: Int { 2 * geometry.patchesPerImage * geometry.patchSize * filters }
    public var workingFloatsPerImage: Int {
        let chunkScratch = geometry.patchesPerImage * (method == .patchMatrix ? geometry.patchSize : filters)
        let inputFloats = inputShape.reduce(1, *), paddedFloats = paddedInput?.sampleCount ?? 0
        return chunkScratch + geometry.patchesPerImage * filters + paddedFloats
            + (computesInputGradient ? inputFloats + (paddedGradient?.sampleCount ?? 0) : 0)
    }

    public func prepareForward(input: Tensor, workers: Int, mode: PassMode) {
        source = input
        self.input = paddedInput ?? input
        reserveScratch(workers: workers)
        if let kernelFilterBlocks {
            let (k, taps, f) = (kernel.value.data, geometry.patchSize, filters)
            forEachTapShare { share in packFilterBlocks(k, rows: taps, filters: f, into: kernelFilterBlocks.data, only: share) }
        }
        if let winogradKernel {
            packWinogradKernel(kernel.value.data, channels: geometry.channels, filters: filters, rotated: false, into: winogradKernel.data)
        }
    }

    /// One buffer per worker: the patch matrix, reused for the input gradient's, or on the direct
    /// and Winograd paths the chunk's output gradient in filter blocks. It is sized for the whole
    /// capacity, but mapped page by page: only a chunk's rows are touched.
    private func reserveScratch(workers: Int) {
        while scratch.count < workers {
            let rows = output.shape[0] * geometry.patchesPerImage
            let colShape = method == .patchMatrix ? [rows, geometry.patchSize] : [rows, filters]
            let winograd = method == .winograd ? WinogradConvolution.scratchFloats(channels: max(geometry.channels, filters)) : 0
            scratch.append(Scratch(col: Tensor(shape: colShape),
                                   kernelGradient: Tensor(shape: kernel.shape), biasGradient: Tensor(shape: bias.shape),
                                   rows: Tensor(shape: [geometry.patchesPerImage, filters]), winograd: Tensor(shape: [winograd]),
                                   progress: BackwardProgress()))
        }
    }

    /// Runs `body` over the kernel's taps (rows of `[taps, filters]`), one contiguous share per
    /// engine thread, in one parallel region: for re-laying out the kernel and summing its
    /// gradient, a few µs of memory traffic each that kept the other thread waiting. The shares
    /// are the halves the optimizer updates on each thread (`parallelElements`), so each thread
    /// re-lays out rows it has just written. Only moves and the same sums, so the same bytes.
    private func forEachTapShare(_ body: (Range<Int>) -> Void) {
        parallelChunks(geometry.patchSize, minimumChunk: Conv2D.tapsPerShare) { lo, hi in body(lo..<hi) }
    }

    public func forward(images: Range<Int>, worker: Int) {
        forward(images: images, worker: worker, region: nil)
    }

    /// `forward(images:worker:)`, where on the Winograd path only the outputs in the top-left
    /// `region` are computed (the rest of `output` is left as it was): those a pooling whose
    /// windows tile the image reads (conv2's 10x10 of 11x11, conv3's 2x2 of 3x3), as the fused
    /// direct step computes only those. Other paths compute every output.
    public func forward(images: Range<Int>, worker: Int, region: (height: Int, width: Int)?) {
        guard let input else { preconditionFailure("\(name): forward before prepareForward") }
        padInput(images: images)
        if let winogradKernel {
            winogradConvolve(input.data, images: images, height: geometry.height, width: geometry.width, channels: geometry.channels,
                             padding: 0, packedKernel: winogradKernel.data, bias: bias.value.data, columns: filters,
                             outHeight: geometry.outHeight, outWidth: geometry.outWidth, region: region, into: output.data,
                             scratch: scratch[worker].winograd.data)
        } else if let kernelFilterBlocks {
            convolveDirect(input.data, images: images, geometry: geometry, kernelFilterBlocks: kernelFilterBlocks.data,
                           bias: bias.value.data, filters: filters, into: output.data)
        } else {
            let rows = images.count * geometry.patchesPerImage
            let col = scratch[worker].col.data
            im2col(input.data, images: images, geometry: geometry, into: col)
            // Start every output row at the bias, then accumulate the product onto it (beta = 1).
            let out = output.data + images.lowerBound * geometry.patchesPerImage * filters
            for r in 0..<rows { copyFloats(bias.value.data, out + r * filters, count: filters) }
            gemm(m: rows, n: filters, k: geometry.patchSize,
                 a: col, lda: geometry.patchSize, b: kernel.value.data, ldb: filters,
                 beta: 1, c: out, ldc: filters, split: false)
        }
    }

    /// Copies `images` into the zero-bordered buffer a 'same' convolution reads (nothing for a
    /// valid one); `forward(images:worker:)` does it itself, a caller of
    /// `forward(rows:ofImage:columns:worker:)` before an image's first rows.
    public func padInput(images: Range<Int>) {
        guard let paddedInput, let source else { return }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (ph, pw) = (geometry.height, geometry.width)
        for b in images {
            let image = paddedInput.data + b * ph * pw * c
            // The border stays zero from the allocation: only the interior is ever written.
            for y in 0..<h {
                copyFloats(source.data + (b * h + y) * w * c, image + ((y + padding.top) * pw + padding.left) * c, count: w * c)
            }
        }
    }

    /// Crops the padded input gradient of `images` into `inputGradient` ('same' only).
    private func cropGradient(images: Range<Int>) {
        guard let paddedGradient, let inputGradient else { return }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let (ph, pw) = (geometry.height, geometry.width)
        for b in images {
            let image = paddedGradient.data + b * ph * pw * c
            for y in 0..<h {
                copyFloats(image + ((y + padding.top) * pw + padding.left) * c, inputGradient.data + (b * h + y) * w * c, count: w * c)
            }
        }
    }

    /// Output rows `rows` of image `b` on the direct path, computed into `worker`'s own buffer
    /// instead of `output`, which is left as it was; returns the buffer, `[rows.count·outWidth,
    /// filters]`. For a stage that pools a few rows as soon as they are computed
    /// (`ImageLocalStage`): they stay in the core's L1 cache, where a chunk's whole output
    /// (conv1: 173 KB an image) went out to L2 and was read back for the pooling. Only the first
    /// `columns` of each row are computed (those the pooling's windows cover).
    public func forward(rows: Range<Int>, ofImage b: Int, columns: Int, worker: Int) -> UnsafePointer<Float> {
        guard let input, let kernelFilterBlocks else {
            preconditionFailure("\(name): forward before prepareForward, or not on the direct path")
        }
        let first = (b * geometry.outHeight + rows.lowerBound) * geometry.outWidth
        let out = scratch[worker].rows.data
        convolveDirect(input.data, pixels: first..<first + rows.count * geometry.outWidth, geometry: geometry,
                       kernelFilterBlocks: kernelFilterBlocks.data, bias: bias.value.data, filters: filters,
                       columns: columns, into: out)
        return UnsafePointer(out)
    }

    public func prepareBackward(workers: Int) {
        reserveScratch(workers: workers)
        if method != .patchMatrix && SparseOutputGradient.supports(geometry) {
            while sparseGradients.count < workers { sparseGradients.append(SparseOutputGradient(geometry: geometry, filters: filters)) }
        }
        for (w, sparse) in sparseGradients.enumerated() where w < scratch.count { sparse.release(into: gradients(worker: w).kernel.data) }
        // Kernel gradients are zeroed by their workers (`chunkGradients`).
        for s in scratch.prefix(workers) { s.progress.kernelGradientBegun = false }
        bias.gradient.zero()
        if kernelTapBlocks != nil || kernelByFilter != nil {
            let (k, taps, f) = (kernel.value.data, geometry.patchSize, filters)
            forEachTapShare { share in
                if let kernelTapBlocks { packKernelTapBlocks(k, taps: taps, filters: f, into: kernelTapBlocks.data, only: share) }
                if let kernelByFilter { packKernelByFilter(k, taps: taps, filters: f, into: kernelByFilter.data, only: share) }
            }
        }
        if let winogradRotatedKernel {
            packWinogradKernel(kernel.value.data, channels: geometry.channels, filters: filters, rotated: true,
                               into: winogradRotatedKernel.data)
        }
        for s in scratch.prefix(workers).dropFirst() { s.biasGradient.zero() }
    }

    public func backward(_ gradOutput: Tensor, images: Range<Int>, worker: Int) {
        let pixels = images.count * geometry.patchesPerImage
        let dOut = gradOutput.data + images.lowerBound * geometry.patchesPerImage * filters
        if let blocks = outputGradientBlocks(worker: worker) {
            packFilterBlocks(dOut, rows: pixels, filters: filters, into: blocks)
            backwardFromBlocks(images: images, worker: worker)
            if let inputGradient, let winogradRotatedKernel {
                // The full correlation of the output gradient with the kernel turned 180 degrees.
                let g = geometry
                winogradConvolve(gradOutput.data, images: images, height: g.outHeight, width: g.outWidth, channels: filters,
                                 padding: 2, packedKernel: winogradRotatedKernel.data, bias: nil, columns: g.channels,
                                 outHeight: g.height, outWidth: g.width, into: (paddedGradient ?? inputGradient).data,
                                 scratch: scratch[worker].winograd.data)
                cropGradient(images: images)
            }
            return
        }
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let k = geometry.patchSize
        let col = scratch[worker].col.data
        let (dW, db) = chunkGradients(worker: worker)
        // dW[k×f] += colᵀ · dOut: the HWIO kernel's own layout.
        im2col(input.data, images: images, geometry: geometry, into: col)
        gemm(transA: true, m: k, n: filters, k: pixels, a: col, lda: k, b: dOut, ldb: filters, beta: 1,
             c: dW.data, ldc: filters, split: false)
        addColumnSums(dOut, rows: pixels, columns: filters, into: db.data)
        guard let inputGradient else { return }
        gemm(transB: true, m: pixels, n: k, k: filters, a: dOut, lda: filters, b: kernel.value.data, ldb: filters,
             c: col, ldc: k, split: false)
        col2im(col, images: images, geometry: geometry, into: (paddedGradient ?? inputGradient).data)
        cropGradient(images: images)
    }

    /// On the direct path, where `worker`'s chunk of output gradient goes in filter blocks
    /// (`packFilterBlocks`, the chunk's pixels counted from its first image) for
    /// `backwardFromBlocks`; nil on the patch-matrix path. A pooling layer feeding this
    /// convolution writes its gradient there itself (`MaxPool2D.Destination.filterBlocks`), which
    /// saves writing the gradient as an image and copying it.
    public func outputGradientBlocks(worker: Int) -> UnsafeMutablePointer<Float>? {
        method == .patchMatrix ? nil : scratch[worker].col.data
    }

    /// The direct backward pass of `images`, from their output gradient already in
    /// `outputGradientBlocks(worker:)`: bias and kernel gradients into `worker`'s partial sums, and
    /// the input gradient if the layer computes one (on the direct path; the Winograd path's comes
    /// from `backward`).
    public func backwardFromBlocks(images: Range<Int>, worker: Int) {
        guard let input, let blocks = outputGradientBlocks(worker: worker) else {
            preconditionFailure("\(name): backward before forward, or not on the direct path")
        }
        let pixels = images.count * geometry.patchesPerImage
        if worker < sparseGradients.count, SparseOutputGradient.isSparse(blocks, count: pixels * filters) {
            // Behind a pooling, most of the gradient is zero: the same sums without its zeros
            // (the Winograd path computes its input gradient in `backward`, so none here).
            let sparse = sparseGradients[worker]
            let (dW, db) = chunkGradients(worker: worker, heldBy: sparse)
            addBlockColumnSums(blocks, rows: pixels, filters: filters, into: db.data)
            sparse.hold(dW.data)
            let dX = kernelTapBlocks == nil ? nil : (paddedGradient ?? inputGradient)?.data
            convolveSparseGradients(input.data, gradientBlocks: blocks, images: images, geometry: geometry, filters: filters,
                                    sparse: sparse, kernelByFilter: dX == nil ? nil : kernelByFilter?.data, inputGradient: dX)
            if dX != nil { cropGradient(images: images) }
            return
        }
        let (dW, db) = chunkGradients(worker: worker)
        addBlockColumnSums(blocks, rows: pixels, filters: filters, into: db.data)
        if worker < sparseGradients.count { sparseGradients[worker].release(into: dW.data) }
        convolveDirectWeightGradient(input.data, gradientBlocks: blocks, images: images, geometry: geometry,
                                     filters: filters, kernelGradient: dW.data)
        if let inputGradient, let kernelTapBlocks {
            convolveDirectInputGradient(gradientBlocks: blocks, images: images, geometry: geometry,
                                        kernelTapBlocks: kernelTapBlocks.data, filters: filters,
                                        into: (paddedGradient ?? inputGradient).data)
            cropGradient(images: images)
        }
    }

    /// Where `worker` sums its kernel and bias gradients: worker 0 straight into the parameters'.
    private func gradients(worker: Int) -> (kernel: Tensor, bias: Tensor) {
        worker == 0 ? (kernel.gradient, bias.gradient) : (scratch[worker].kernelGradient, scratch[worker].biasGradient)
    }

    /// `gradients(worker:)` for the worker's next chunk: at its first chunk of the pass, its kernel
    /// gradient is zeroed, or, where `sparse` is about to hold it, held as zeros
    /// (`SparseOutputGradient.holdZeros`) without being written.
    private func chunkGradients(worker: Int, heldBy sparse: SparseOutputGradient? = nil) -> (kernel: Tensor, bias: Tensor) {
        let progress = scratch[worker].progress, partial = gradients(worker: worker)
        if !progress.kernelGradientBegun {
            if let sparse { sparse.holdZeros() } else { partial.kernel.zero() }
            progress.kernelGradientBegun = true
        }
        return partial
    }

    /// Adds the workers' partial gradients into the parameters' (worker 0's), in worker order.
    /// Where every worker holds its kernel gradient transposed (the sparse kernels), the sums are
    /// made in that layout and only worker 0's is transposed back (one transpose, not one per
    /// worker); each sum is the same pair of floats either way. Both are shared between the
    /// threads by taps.
    public func finishBackward(workers: Int) {
        // A worker given no images (none today: partitions never outnumber images) adds zeros.
        for w in 0..<workers { _ = chunkGradients(worker: w) }
        let sparse = Array(sparseGradients.prefix(workers))
        let allHeld = sparse.count == workers && sparse.allSatisfy(\.holdsKernelGradient)
        let partials = (0..<workers).map { gradients(worker: $0).kernel.data }
        let f = filters
        forEachTapShare { taps in
            if allHeld {
                for w in 1..<workers { sparse[0].addHeld(sparse[w], taps: taps) }
                sparse[0].release(taps: taps, into: partials[0])
            } else {
                for (w, s) in sparse.enumerated() where s.holdsKernelGradient { s.release(taps: taps, into: partials[w]) }
                for w in 1..<workers {
                    addInPlace(partials[w] + taps.lowerBound * f, partials[0] + taps.lowerBound * f, count: taps.count * f)
                }
            }
        }
        for s in sparse where s.holdsKernelGradient { s.endHolding() }
        for s in scratch.prefix(workers).dropFirst() {
            addInPlace(s.biasGradient.data, bias.gradient.data, count: bias.gradient.count)
        }
    }
}

extension Conv2D {
    /// `conv2d: {filters: 64, kernel_size: 3}`: Keras's `Conv2D`.
    public struct Configuration: LayerConfiguration {
        public static let typeName = "conv2d"
        public static let kerasClass = "Conv2D"
        public static let help = "a 2-D convolution (Keras's Conv2D): square kernels, glorot-uniform kernel, zero bias"
        public static var settings: [LayerSetting<Self>] {
            [.int("filters", \.filters, 1...4096, "output channels"),
             .int("kernel_size", \.kernelSize, 1...15, "height and width of the kernel"),
             .int("strides", \.strides, 1...8, default: 1, "pixels between neighbouring patches, along rows and columns"),
             .choice("padding", \.padding, default: .valid, "valid: no padding, the image shrinks; same: zeros around it, the output is ceil(size / strides)"),
             .choice("activation", \.activation, "an activation applied to the output (default: none)"),
             .double("l2", \.l2, 0...10, "L2 factor lambda on kernel and bias: the loss gains lambda * sum(w^2) (default: none)")]
        }

        public var filters = 0
        public var kernelSize = 0
        public var strides = 1
        public var padding = Padding.valid
        public var activation: Activation.Function?
        public var l2: Double?

        public init() {}

        public init(filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding = .valid,
                    activation: Activation.Function? = nil, l2: Double? = nil) {
            self.filters = filters; self.kernelSize = kernelSize; self.strides = strides; self.padding = padding
            self.activation = activation; self.l2 = l2
        }

        public var naming: LayerNaming { .counted("conv") }
        public var role: FusionRole { .convolution(self) }

        public func outputShape(for input: [Int]) throws(LayerProblem) -> [Int] {
            guard input.count == 3 else {
                throw LayerProblem("conv2d needs images (height x width x channels); its input is \(shapeText(input)) features after flatten")
            }
            if padding == .same {
                return [(input[0] + strides - 1) / strides, (input[1] + strides - 1) / strides, filters]
            }
            guard input[0] >= kernelSize, input[1] >= kernelSize else {
                throw LayerProblem("shrinks the image to nothing: a \(kernelSize)x\(kernelSize) kernel on a \(input[0])x\(input[1]) input")
            }
            return [(input[0] - kernelSize) / strides + 1, (input[1] - kernelSize) / strides + 1, filters]
        }

        public func parameters(for input: [Int]) -> [VariableShape] {
            [VariableShape("kernel", [kernelSize, kernelSize, input[2], filters], .glorotUniform),
             VariableShape("bias", [filters], .zeros)]
        }

        /// The engine layer itself, for a plan that fuses it with what follows.
        public func make(name: String, input: [Int], context: LayerContext) -> Conv2D {
            Conv2D(name: name, inputShape: input, filters: filters, kernelSize: kernelSize, strides: strides, padding: padding,
                   capacity: context.capacity, computesInputGradient: context.computesInputGradient, convolution: context.convolution)
        }

        public func makeLayer(name: String, input: [Int], context: LayerContext) -> BuiltLayer {
            .imageLocal(make(name: name, input: input, context: context))
        }

        /// How the layer runs (`Conv2D.Method.chosen`) for an input of `input` when `convolution`
        /// is asked for.
        public func method(input: [Int], computesInputGradient: Bool, convolution: ConvolutionChoice) -> Conv2D.Method {
            let (top, bottom) = padding == .same ? Conv2D.samePadding(input[0], kernelSize, strides) : (0, 0)
            let (left, right) = padding == .same ? Conv2D.samePadding(input[1], kernelSize, strides) : (0, 0)
            let g = ConvGeometry(height: input[0] + top + bottom, width: input[1] + left + right, channels: input[2],
                                 kernelHeight: kernelSize, kernelWidth: kernelSize, stride: strides)
            return .chosen(convolution, for: g, filters: filters, inputGradient: computesInputGradient)
        }

        public func kernel(for input: [Int], computesInputGradient: Bool) -> String? {
            kernel(for: input, computesInputGradient: computesInputGradient, convolution: .auto)
        }

        /// `kernel(for:computesInputGradient:)` when `convolution` is asked for.
        public func kernel(for input: [Int], computesInputGradient: Bool, convolution: ConvolutionChoice) -> String {
            let padded = padding == .same ? ", zero-padded copy" : ""
            switch method(input: input, computesInputGradient: computesInputGradient, convolution: convolution) {
            case .direct: return "direct kernel" + padded
            case .patchMatrix: return "im2col + OpenBLAS" + padded
            case .winograd: return "Winograd F(2x2,3x3), weight gradient direct" + padded
            }
        }
    }
}
