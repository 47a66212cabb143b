import ArgumentParser
import DigitLab
import DigitLabEngine
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine: per-layer times, GEMM rates, epoch time against the GEMM floor.")

    @Option(help: "Training steps to time per layer.")
    var steps: Int = 50

    func run() throws {
        EngineThreads.count = ProcessInfo.processInfo.activeProcessorCount
        print("OpenBLAS core: \(BLASRuntime.coreName), threads \(BLASRuntime.threads); engine threads \(EngineThreads.count)")
        let model = Model(architecture: Architecture(), capacity: 32, l2: ["conv1": 0.01])
        model.initialize(seed: 0)
        let timing = LayerTiming.measure(model: model, batch: 32, steps: steps)
        var totalF = 0.0, totalB = 0.0
        for r in timing.rows {
            totalF += r.forwardSeconds; totalB += r.backwardSeconds
            print(String(format: "%-10@ fwd %8.3f ms  bwd %8.3f ms", r.layer as NSString, r.forwardSeconds * 1e3, r.backwardSeconds * 1e3))
        }
        print(String(format: "total      fwd %8.3f ms  bwd %8.3f ms  per batch of 32", totalF * 1e3, totalB * 1e3))
    }
}
