import DigitLabEngine
import Foundation

/// Forward and backward time of each pass of a model (a convolution block run as one stage, or a
/// single layer), measured over repeated training steps on one batch, as training runs them: the
/// benchmark's "where the time goes" table.
public struct LayerTiming: Sendable {
    public struct Row: Sendable {
        /// The pass: "conv1 → relu1 → pool1", "dense1", ...
        public var pass: String
        public var forwardSeconds: Double
        public var backwardSeconds: Double
    }

    public var rows: [Row]
    public var batch: Int

    /// Median per-step seconds of each pass over `steps` steps, after one warm-up step, on the
    /// first `batch` images of `set`. Real digits, not random numbers: the engine skips the
    /// multiplies of blank patches and of zero gradients, so the times depend on the data.
    public static func measure(model: Model, batch: Int, steps: Int, set: LabeledImages, normalization: Normalization) -> LayerTiming {
        precondition(set.count >= batch, "the timing batch needs \(batch) images, the set has \(set.count)")
        for k in 0..<batch { normalization.apply(set, index: k, into: model.input.data + k * set.height * set.width) }
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        defer { labels.deallocate() }
        for k in 0..<batch { labels[k] = set.labels[k] }
        // Each convolution block on its own (its own parallel region, as `ImageLocalStage` runs
        // it), so the table shows the blocks apart; training runs them as one sequence.
        let passes = model.passes.flatMap { pass -> [Model.Pass] in
            guard case .stages(let sequence) = pass else { return [pass] }
            return sequence.stages.map { .stages(StageSequence(stages: [$0])) }
        }
        var forward = [[Double]](repeating: [], count: passes.count)
        var backward = [[Double]](repeating: [], count: passes.count)
        for step in 0...steps {
            var x = model.input
            for (i, pass) in passes.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                x = pass.forward(x, batch: batch)
                if step > 0 { forward[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
            }
            model.head.forward(x, batch: batch)
            var g = model.head.backward(labels: labels, batch: batch)
            for (i, pass) in passes.enumerated().reversed() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                g = pass.backward(g, batch: batch)
                if step > 0 { backward[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
            }
        }
        let rows = passes.enumerated().map { i, pass in
            Row(pass: pass.name, forwardSeconds: median(forward[i]) ?? 0, backwardSeconds: median(backward[i]) ?? 0)
        }
        return LayerTiming(rows: rows, batch: batch)
    }
}
