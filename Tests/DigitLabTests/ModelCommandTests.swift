import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// `digitlab model` and `spec-keys` on the plan, and saved models of layer lists read back
/// strictly.
@Suite("Model summary and saved layer lists")
struct ModelCommandTests {
    @Test("digitlab model prints the plan as Keras's summary: layers, shapes, parameters, totals, how each runs")
    func summary() throws {
        let r = try runTool(["model", "experiments/beyond/case7-batchnorm.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Model: \"case7-batchnorm\"")
        let bn = try #require(lines.first { $0.contains("bn1 (BatchNormalization)") })
        #expect(bn.contains("(None, 26, 26, 64)") && bn.contains("256"))
        #expect(lines.first { $0.contains("relu1 (Activation)") }?.contains("ReLU folded into the max pooling") == true)
        #expect(lines.contains(" Total params: 81,834 (319.66 KB)") && lines.contains(" Non-trainable params: 384 (1.50 KB)"))
        let paper = try runTool(["model", "experiments/case7.yaml"])
        #expect(paper.stdout.contains(" Total params: 81,066 (316.66 KB)"))
        let conv = paper.stdout.split(separator: "\n").first { $0.contains("conv2 (Conv2D)") }.map(String.init) ?? ""
        #expect(conv.contains("(None, 11, 11, 64)") && conv.contains("36,928") && (conv.contains("fused") || conv.contains("im2col")))
        // conv2's 64-channel rows take the sparse gradients when fused; conv1's one channel never does.
        #expect(conv.contains("sparse backward") == conv.contains("fused"))
        #expect(paper.stdout.split(separator: "\n").first { $0.contains("conv1 (Conv2D)") }?.contains("sparse backward") == false)
        let bad = try runTool(["model", "experiments/case7.yaml", "--set", "model.dense_units=[64, 12]"])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("error: ") && bad.stderr.contains("10 units"))
        let keys = try runTool(["spec-keys"])
        #expect(keys.stdout.contains("\nbatch_normalization: ") && keys.stdout.contains("    rate: a number from 0 and below 1"))
    }

    /// A saved model whose metadata holds `architecture`, and no weights.
    func load(_ architecture: String) -> String? {
        let path = TestPaths.temporaryDirectory("saved-list") + "/model.safetensors"
        do {
            try Safetensors.write([:], metadata: ["format": "digitlab-model", "architecture": architecture], to: path)
            _ = try Checkpoint.loadModel(path: path, capacity: 8)
            return nil
        } catch let e as DataError {
            return e.problem
        } catch {
            return "\(error)"
        }
    }

    @Test("a saved layer list is read strictly: unknown types, bad settings, shapes that do not plan and huge layers are refused before allocating")
    func savedLayerLists() {
        let head = #"{"inputShape":[28,28,1],"layers":["#
        let end = #"{"flatten":{}},{"dense":{"units":"10","activation":"softmax"}}]}"#
        #expect(load(head + #"{"conv3d":{}},"# + end)?.contains("not a DigitLab model") == true)
        #expect(load(head + #"{"dropout":{"rate":"1.5"}},"# + end)?.contains("not a DigitLab model") == true)
        #expect(load(head + #"{"dense":{"units":"10"}},"# + end)?.contains("not a DigitLab model") == true)
        #expect(load(head + #"{"conv2d":{"filters":"4096","kernel_size":"3","padding":"same"}},"#
                     + #"{"conv2d":{"filters":"4096","kernel_size":"3","padding":"same"}},"# + end)?.contains("not a DigitLab model") == true)
        // A valid list: the weights are what is missing.
        #expect(load(head + #"{"conv2d":{"filters":"8","kernel_size":"3"}},"# + end)?.contains("conv1/kernel are missing") == true)
    }
}
