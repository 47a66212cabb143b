import DigitLabEngine
import Foundation

/// Forward and backward time of each layer of a model, measured over repeated training steps on
/// one batch: the benchmark's "where the time goes" table.
public struct LayerTiming: Sendable {
    public struct Row: Sendable {
        public var layer: String
        public var forwardSeconds: Double
        public var backwardSeconds: Double
        public var forwardFLOPs: Int
    }

    public var rows: [Row]
    public var batch: Int

    /// Median per-step seconds of each layer over `steps` steps, after one warm-up step.
    public static func measure(model: Model, batch: Int, steps: Int) -> LayerTiming {
        var rng = Xoshiro256(seed: 42)
        for i in 0..<model.input.count { model.input[i] = rng.nextUnitFloat() * 0.1 }
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: batch)
        defer { labels.deallocate() }
        for k in 0..<batch { labels[k] = Int32(k % model.head.classes) }
        var forward = [[Double]](repeating: [], count: model.layers.count)
        var backward = [[Double]](repeating: [], count: model.layers.count)
        for step in 0...steps {
            var x = model.input
            var outputs: [Tensor] = []
            for (i, layer) in model.layers.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                x = layer.forward(x, batch: batch)
                if step > 0 { forward[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
                outputs.append(x)
            }
            model.head.forward(x, batch: batch)
            var g = model.head.backward(labels: labels, batch: batch)
            for (i, layer) in model.layers.enumerated().reversed() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                g = layer.backward(g, batch: batch)
                if step > 0 { backward[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9) }
            }
        }
        let rows = model.layers.enumerated().map { i, layer in
            Row(layer: layer.name, forwardSeconds: median(forward[i]) ?? 0, backwardSeconds: median(backward[i]) ?? 0,
                forwardFLOPs: layer.forwardFLOPs * batch)
        }
        return LayerTiming(rows: rows, batch: batch)
    }
}
