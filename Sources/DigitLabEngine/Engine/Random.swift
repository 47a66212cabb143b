/// xoshiro256** seeded through SplitMix64: a small, fast generator whose stream depends only on
/// its seed, so the same spec and seed give the same weights, batches and rotations everywhere.
///
/// Uniform floats are made from the top bits here rather than by the standard library, whose
/// algorithm for `Float.random(in:)` is not promised to stay the same across Swift versions.
public struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator for `seed`, on an independent `stream` (weights, shuffling, augmentation ...).
    public init(seed: UInt64, stream: UInt64 = 0) {
        var s = seed &+ 0x9E37_79B9_7F4A_7C15 &* (stream &+ 1)
        func splitmix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// Restores a generator from a saved state (for resuming a run).
    public init(state: [UInt64]) {
        precondition(state.count == 4, "xoshiro256 state has four words")
        self.state = (state[0], state[1], state[2], state[3])
    }

    /// The state as four words, for checkpoints.
    public var words: [UInt64] { [state.0, state.1, state.2, state.3] }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    /// A float uniform in [0, 1), from the top 24 bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A double uniform in [0, 1), from the top 53 bits.
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A float uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUnitFloat() }

    /// An integer uniform in 0..<n, without modulo bias (Lemire's method).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Shuffles `indices` in place (Fisher–Yates).
    public mutating func shuffle(_ indices: inout [Int]) {
        guard indices.count > 1 else { return }
        for i in stride(from: indices.count - 1, to: 0, by: -1) {
            indices.swapAt(i, below(i + 1))
        }
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension Xoshiro256 {
    public static func == (a: Xoshiro256, b: Xoshiro256) -> Bool { a.words == b.words }
}

/// A generator shared by reference: the one dropout layers draw their masks from, in the order
/// the layers run, so that the network has one stream to seed and to save in checkpoints.
public final class RandomSource: @unchecked Sendable {
    public var generator: Xoshiro256

    public init(_ generator: Xoshiro256) { self.generator = generator }
}
