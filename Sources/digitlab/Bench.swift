import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed: GEMM rates, per-layer times, epoch times against the GEMM floor, inference, memory.",
        discussion: """
            Everything is measured in one sitting, so compare the figures as ratios. Training epochs \
            of cases 1 and 7 on the full data run as child processes (`digitlab run ... --epochs N`), \
            which also gives a training run's peak resident memory. The ceiling (a large sgemm) is \
            measured again between the parts, since a shared machine's speed drifts within minutes, \
            and each figure is set against the checks just before and after it. Writes \
            results/bench/bench.md. Takes a few minutes; keep the machine otherwise idle.
            """)

    @Option(help: "Training epochs timed per case (the median is reported).")
    var epochs: Int = 3

    @Option(help: "Repeats of each GEMM and layer measurement.")
    var repeats: Int = 30

    @Option(help: "Comma-separated case specs to time.")
    var cases: String = "experiments/case1.yaml,experiments/case7.yaml"

    @Flag(help: "Measure only test-set inference and print its rate.")
    var inferenceOnly = false

    @OptionGroup var data: DataOptions

    func run() throws {
        do {
            try measure()
        } catch {
            fail(error)
        }
    }

    /// Images per second classifying the test set (preprocessing included), in batches of
    /// `Model.inferenceCapacity`, median of three passes.
    func inferenceRate() throws -> Double {
        let spec = try ExperimentSpec.load(path: "experiments/case7.yaml")
        let dataset = try Runner(dataDirectory: data.directory, observer: nil).dataset(for: spec)
        let model = Model(architecture: spec.architecture, capacity: Model.inferenceCapacity)
        model.initialize(seed: 0)
        var times: [Double] = []
        for _ in 0..<3 {
            let t0 = Date()
            _ = Trainer.evaluate(model: model, set: dataset.test, normalization: spec.normalization)
            times.append(Date().timeIntervalSince(t0))
        }
        return Double(dataset.test.count) / (median(times) ?? .nan)
    }

    /// The large sgemm split by the engine's threads, and made by OpenBLAS's own. OpenBLAS's
    /// threads go first: they keep spinning for a while after their last call and would steal the
    /// cores from whatever is measured next, so the engine's split (a third of a second) goes
    /// between them and the next measurement.
    func ceiling() -> (split: GEMMRate, openBLASThreads: GEMMRate) {
        useEngineThreads(1)
        BLASRuntime.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        let threads = GEMMRate.measure("large sgemm, OpenBLAS threads", m: 2048, n: 2048, k: 2048, repeats: 5)
        useEngineThreads()
        let split = GEMMRate.measure("large sgemm", m: 2048, n: 2048, k: 2048, repeats: 5)
        return (split, threads)
    }

    func measure() throws {
        useEngineThreads()
        if inferenceOnly {
            say("inference: \(fixed(try inferenceRate(), 0)) images/s")
            return
        }
        say("bench: \(EngineBenchmark.cpuModel()), OpenBLAS \(BLASRuntime.coreName), \(EngineThreads.count) engine threads")
        let (large, largeBLAS) = ceiling()
        var checks = [max(large.gflops, largeBLAS.gflops)]
        say("  large sgemm: \(fixed(large.gflops, 1)) GFLOP/s split by the engine, \(fixed(largeBLAS.gflops, 1)) with OpenBLAS's threads")
        /// Measures the ceiling again and returns the mean of this check and the one before.
        func check() -> Double {
            let (split, threads) = ceiling()
            checks.append(max(split.gflops, threads.gflops))
            return (checks[checks.count - 2] + checks[checks.count - 1]) / 2
        }

        let spec = try ExperimentSpec.load(path: "experiments/case7.yaml")
        let model = Model(architecture: spec.architecture, capacity: 32, l2: ["conv1": 0.01])
        model.initialize(seed: 0)
        let conv = GEMMRate.measureConvolutions(model, batch: 32, repeats: repeats)
        let dataset = try Runner(dataDirectory: data.directory, observer: nil).dataset(for: spec)
        let layers = LayerTiming.measure(model: model, batch: 32, steps: repeats, set: dataset.train, normalization: spec.normalization)
        let convolutionCeiling = check()
        say("  convolution GEMMs and layers measured; ceiling now \(fixed(checks.last!, 1)) GFLOP/s")

        let rate = try inferenceRate()
        let inferenceCeiling = check()
        say("  inference: \(fixed(rate, 0)) images/s; ceiling now \(fixed(checks.last!, 1)) GFLOP/s")

        var timings: [EngineBenchmark.EpochTiming] = []
        let flops = trainingFLOPsPerImage(model)
        // The last case first (case 7), the one whose memory the README quotes.
        for path in cases.split(separator: ",").map(String.init).reversed() where epochs > 0 {
            let caseSpec = try ExperimentSpec.load(path: path)
            let out = NSTemporaryDirectory() + "digitlab-bench-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: out) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: SelfExecutable.path)
            process.arguments = ["run", path, "--epochs", String(epochs), "--out", out] + (data.directory.map { ["--data", $0] } ?? [])
            // The run's last line gives its own peak memory (`ProcessMemory`). Read to the end
            // (the run's exit) before waiting, so that a long output cannot fill the pipe.
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw DataError(path, "the timed training run failed") }
            let history = try History.read(path: "\(out)/runs/\(caseSpec.name)+epochs=\(epochs)/seed-0/history.csv")
            let seconds = history.epochs.map(\.seconds).filter(\.isFinite)
            // The images the run trains and validates on, as the trainer splits them (a spec's
            // `training.limit` first: the smoke spec's epoch is 10,000 images, not 60,000).
            let source = min(dataset.train.count, caseSpec.limit ?? dataset.train.count)
            let trainImages = Int((Double(source) * (1 - caseSpec.validationSplit)).rounded(.up))
            let validationImages = source - trainImages
            timings.append(.init(spec: caseSpec.name, images: trainImages, secondsPerEpoch: seconds,
                                 peakResidentMB: ProcessMemory.peakResidentMB(in: printed),
                                 flopsPerEpoch: flops.training * Double(trainImages) + flops.forward * Double(validationImages),
                                 ceiling: check()))
            say("  \(caseSpec.name): \(seconds.map { fixed($0, 2) }.joined(separator: ", ")) s per epoch; ceiling now \(fixed(checks.last!, 1)) GFLOP/s")
        }
        let formatter = ISO8601DateFormatter()
        let report = EngineBenchmark(cpu: EngineBenchmark.cpuModel(), coreName: BLASRuntime.coreName,
                                     coreTypeFromEnvironment: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
                                     engineThreads: EngineThreads.count, date: formatter.string(from: Date()),
                                     largeGEMM: large, largeGEMMOpenBLASThreads: largeBLAS, convolutionGEMMs: conv,
                                     layers: layers, epochs: timings.reversed(), inferenceImagesPerSecond: rate,
                                     inferenceFLOPsPerImage: flops.forward, ceilingChecks: checks,
                                     convolutionCeiling: convolutionCeiling, inferenceCeiling: inferenceCeiling)
        try AtomicFile.write(report.markdown, to: data.results + "/bench/bench.md")
        print(report.markdown)
        say("wrote \(data.results)/bench/bench.md")
    }
}
