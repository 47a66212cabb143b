import DigitLabEngine
import Foundation

/// What `digitlab bench` measures, in one sitting so the figures can be compared as ratios: the
/// rate of a large sgemm (the machine's ceiling), the convolution products at batch 32, each
/// layer's forward and backward time, full-data training epochs of cases 1 and 7 (run as child
/// processes, each of which prints its own peak resident memory), and test-set inference.
///
/// The shared machines' speed drifts within a sitting (on one host the large sgemm measured 231
/// to 310 GFLOP/s in one sitting), so the ceiling is measured again between the parts, and
/// each part is set against the ceiling measured just before and just after it.
public struct EngineBenchmark: Sendable {
    public struct EpochTiming: Sendable {
        public var spec: String
        public var images: Int
        public var secondsPerEpoch: [Double]
        /// Peak resident memory of the run process (its own `ProcessMemory` figure), when it said.
        public var peakResidentMB: Double?
        public var flopsPerEpoch: Double
        /// The ceiling (GFLOP/s) around the run: the mean of the checks just before and after it.
        public var ceiling: Double
        public var median: Double { DigitLab.median(secondsPerEpoch) ?? .nan }
        /// The epoch's GEMM floor in seconds, at the ceiling around the run.
        public var floor: Double { flopsPerEpoch / (ceiling * 1e9) }

        public init(spec: String, images: Int, secondsPerEpoch: [Double], peakResidentMB: Double?, flopsPerEpoch: Double,
                    ceiling: Double) {
            self.spec = spec; self.images = images; self.secondsPerEpoch = secondsPerEpoch
            self.peakResidentMB = peakResidentMB; self.flopsPerEpoch = flopsPerEpoch; self.ceiling = ceiling
        }
    }

    public var cpu: String
    public var coreName: String
    public var coreTypeFromEnvironment: String?
    public var engineThreads: Int
    public var date: String
    public var largeGEMM: GEMMRate
    public var largeGEMMOpenBLASThreads: GEMMRate
    public var convolutionGEMMs: [GEMMRate]
    public var layers: LayerTiming
    public var epochs: [EpochTiming]
    public var inferenceImagesPerSecond: Double
    public var inferenceFLOPsPerImage: Double
    /// Every ceiling check of the sitting, in GFLOP/s, in order (the first is `peakGFLOPS`).
    public var ceilingChecks: [Double]
    /// The ceiling around the convolution products and around inference: the mean of the checks
    /// just before and after each.
    public var convolutionCeiling: Double, inferenceCeiling: Double

    public init(cpu: String, coreName: String, coreTypeFromEnvironment: String?, engineThreads: Int, date: String,
                largeGEMM: GEMMRate, largeGEMMOpenBLASThreads: GEMMRate, convolutionGEMMs: [GEMMRate],
                layers: LayerTiming, epochs: [EpochTiming], inferenceImagesPerSecond: Double, inferenceFLOPsPerImage: Double,
                ceilingChecks: [Double], convolutionCeiling: Double, inferenceCeiling: Double) {
        self.ceilingChecks = ceilingChecks
        self.convolutionCeiling = convolutionCeiling; self.inferenceCeiling = inferenceCeiling
        self.cpu = cpu; self.coreName = coreName; self.coreTypeFromEnvironment = coreTypeFromEnvironment
        self.engineThreads = engineThreads; self.date = date; self.largeGEMM = largeGEMM
        self.largeGEMMOpenBLASThreads = largeGEMMOpenBLASThreads; self.convolutionGEMMs = convolutionGEMMs
        self.layers = layers; self.epochs = epochs; self.inferenceImagesPerSecond = inferenceImagesPerSecond
        self.inferenceFLOPsPerImage = inferenceFLOPsPerImage
    }

    /// The better of the first two large-sgemm rates (the engine's split, OpenBLAS's threads).
    public var peakGFLOPS: Double { max(largeGEMM.gflops, largeGEMMOpenBLASThreads.gflops) }

    /// The convolution products together, as one rate.
    public var convolutionGFLOPS: Double {
        convolutionGEMMs.reduce(0) { $0 + $1.flops } / convolutionGEMMs.reduce(0) { $0 + $1.seconds } / 1e9
    }

    public static func cpuModel() -> String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    }

    /// The report as Markdown: a header naming the machine, then one table.
    public var markdown: String {
        var lines = ["# DigitLab benchmark", "",
                     "- date: \(date)",
                     "- CPU: \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores",
                     "- OpenBLAS core type: \(coreName)" + (coreTypeFromEnvironment.map { " (OPENBLAS_CORETYPE=\($0))" } ?? " (OpenBLAS's own choice)"),
                     "- engine threads: \(engineThreads) (each large GEMM split into \(GEMMBlocks.count) single-threaded OpenBLAS calls, whatever the count)",
                     "- convolutions: " + (ConvolutionChoice.automatic == .winograd ? "Winograd F(2x2,3x3) where it fits, the others " : "")
                        + (DirectConvolution.enabled ? "DigitLab's direct kernels (\(DirectConvolution.usesAVX512 ? "AVX-512" : "AVX2"), \(tileColumns) columns a tile)" : "im2col and OpenBLAS products")
                        + (ProcessInfo.processInfo.environment["DIGITLAB_CONVOLUTION"].map { " (DIGITLAB_CONVOLUTION=\($0))" } ?? ""),
                     "- ceiling (large sgemm, the better of the engine's split and OpenBLAS's threads), checked \(ceilingChecks.count) times through the sitting: "
                        + ceilingChecks.map { fixed($0, 0) }.joined(separator: ", ") + " GFLOP/s; each figure below is set against the checks just before and after it",
                     "", "| measure | value | against the ceiling around it |", "| --- | --- | --- |"]
        lines.append("| large sgemm 2048³, engine split | \(fixed(largeGEMM.gflops, 1)) GFLOP/s | |")
        lines.append("| large sgemm 2048³, OpenBLAS threads | \(fixed(largeGEMMOpenBLASThreads.gflops, 1)) GFLOP/s | first check: \(fixed(peakGFLOPS, 1)) GFLOP/s |")
        lines.append("| ceiling around the convolution products | \(fixed(convolutionCeiling, 1)) GFLOP/s | |")
        for g in convolutionGEMMs {
            let shape = "\(g.m)×\(g.n)×\(g.k)" + (g.products > 1 ? ", \(g.products) a step" : "")
            lines.append("| \(g.label) (\(shape)) | \(fixed(g.gflops, 1)) GFLOP/s | \(fixed(100 * g.gflops / convolutionCeiling, 0))% |")
        }
        lines.append("| convolutions together (GEMMs and direct), batch 32 | \(fixed(convolutionGFLOPS, 1)) GFLOP/s | \(fixed(100 * convolutionGFLOPS / convolutionCeiling, 0))% |")
        for e in epochs {
            lines.append("| \(e.spec) epoch (\(e.images) images), median of \(e.secondsPerEpoch.count) | \(fixed(e.median, 2)) s | \(fixed(e.median / e.floor, 2))× the GEMM floor of \(fixed(e.floor, 2)) s (ceiling \(fixed(e.ceiling, 0)) GFLOP/s) |")
            if let mb = e.peakResidentMB { lines.append("| \(e.spec) peak resident memory (the run process's own, test-set evaluation included) | \(fixed(mb, 0)) MB | |") }
        }
        let inferenceFloor = inferenceFLOPsPerImage / (inferenceCeiling * 1e9)
        lines.append("| test-set inference | \(fixed(inferenceImagesPerSecond, 0)) images/s | \(fixed(100 * inferenceFloor * inferenceImagesPerSecond, 0))% of the forward GEMM floor's rate (ceiling \(fixed(inferenceCeiling, 0)) GFLOP/s) |")
        lines += ["", "Per pass, one training step on \(layers.batch) MNIST training images (median; a convolution block runs as one stage, a few images at a time):", "",
                  "| pass | forward ms | backward ms |", "| --- | --- | --- |"]
        for r in layers.rows where r.forwardSeconds + r.backwardSeconds > 1e-6 {
            lines.append("| \(r.pass) | \(fixed(r.forwardSeconds * 1e3, 3)) | \(fixed(r.backwardSeconds * 1e3, 3)) |")
        }
        lines += ["", "The GEMM floor is an epoch's FLOPs (forward, weight and input gradients; validation forward passes included) divided by the large-sgemm ceiling measured around the run: no FP32 engine running OpenBLAS's products can beat it on this machine. The ceiling is OpenBLAS's rate, not the chip's peak, so small products (direct kernels included) can exceed it."]
        return lines.joined(separator: "\n") + "\n"
    }
}
