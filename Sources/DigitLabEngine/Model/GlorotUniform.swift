/// Keras's default kernel initializer: uniform in `±sqrt(6 / (fanIn + fanOut))`, where for a conv
/// kernel `[kh, kw, in, out]` the fans are `kh·kw·in` and `kh·kw·out`, and for a dense kernel
/// `[in, out]` they are `in` and `out`.
public enum GlorotUniform {
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "a kernel has at least two dimensions")
        let receptive = shape.dropLast(2).reduce(1, *)
        return (receptive * shape[shape.count - 2], receptive * shape[shape.count - 1])
    }

    public static func fill(_ kernel: Tensor, using rng: inout Xoshiro256) {
        let (fanIn, fanOut) = fans(kernel.shape)
        let limit = (6 / Float(fanIn + fanOut)).squareRoot()
        for i in 0..<kernel.count { kernel[i] = rng.uniform(-limit, limit) }
    }
}
