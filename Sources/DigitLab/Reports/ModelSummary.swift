import DigitLabEngine

/// A network's plan as Keras's `model.summary()` prints it (layer and type, output shape,
/// parameters; totals), with a column saying how the engine runs each layer: which layers run as
/// one fused step, and by which kernel.
public struct ModelSummary: Sendable {
    public let plan: LayerPlan
    public let name: String

    public init(plan: LayerPlan, name: String) {
        self.plan = plan
        self.name = name
    }

    /// How each layer runs: the step's description on its first layer, and on the others which
    /// step they are part of.
    public var execution: [String] {
        var text = [String](repeating: "", count: plan.layers.count)
        for step in plan.steps {
            let layers = step.layers
            text[layers[0]] = plan.execution(of: step)
            for i in layers.dropFirst() { text[i] = "↳ in \(plan.layers[layers[0]].name)'s step" }
        }
        return text
    }

    public var text: String {
        let rows = zip(plan.layers, execution).map { layer, runs in
            ["\(layer.name) (\(type(of: layer.configuration).kerasClass))",
             "(None, " + layer.outputShape.map(String.init).joined(separator: ", ") + ")",
             grouped(layer.parameterCount + layer.stateCount), runs]
        }
        let header = ["Layer (type)", "Output Shape", "Param #", "Runs as"]
        let widths = (0..<4).map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            "│ " + cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 2 ? pad + cell : cell + pad
            }.joined(separator: " │ ") + " │"
        }
        func rule(_ left: String, _ middle: String, _ right: String, _ fill: String) -> String {
            left + widths.map { String(repeating: fill, count: $0 + 2) }.joined(separator: middle) + right
        }
        var out = ["Model: \"\(name)\"", rule("┌", "┬", "┐", "─"), line(header), rule("├", "┼", "┤", "─")]
        out += rows.map(line)
        out.append(rule("└", "┴", "┘", "─"))
        let trainable = plan.parameterCount, state = plan.stateCount
        out.append(" Total params: \(grouped(trainable + state)) (\(bytes(trainable + state)))")
        out.append(" Trainable params: \(grouped(trainable)) (\(bytes(trainable)))")
        out.append(" Non-trainable params: \(grouped(state)) (\(bytes(state)))")
        return out.joined(separator: "\n") + "\n"
    }

    /// 97130 as "97,130".
    private func grouped(_ n: Int) -> String {
        var digits = Array(String(n)), out: [Character] = []
        while digits.count > 3 { out = [","] + digits.suffix(3) + out; digits.removeLast(3) }
        return String(digits + out)
    }

    /// Float32 bytes as Keras prints them: "379.41 KB".
    private func bytes(_ floats: Int) -> String {
        let b = Double(floats * 4)
        if b < 1024 { return fixed(b, 2) + " B" }
        if b < 1024 * 1024 { return fixed(b / 1024, 2) + " KB" }
        return fixed(b / 1024 / 1024, 2) + " MB"
    }
}
