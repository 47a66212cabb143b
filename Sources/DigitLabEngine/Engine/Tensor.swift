import Foundation

/// A float32 buffer with a shape, allocated once and reused: the engine's only storage type.
///
/// Shapes are NHWC for images (`[batch, height, width, channels]`) and `[batch, features]` for
/// dense activations. A tensor is sized for a model's batch capacity; a smaller final batch uses a
/// prefix of it, so nothing is allocated while training.
public final class Tensor: @unchecked Sendable {
    /// The full shape the buffer was allocated for.
    public let shape: [Int]
    /// Number of floats in the buffer.
    public let count: Int
    /// The storage, zero-initialised, 64-byte aligned for the GEMM kernels.
    public let data: UnsafeMutablePointer<Float>
    /// Bytes mapped for a large tensor, or 0 for a small one from the allocator.
    private let mappedBytes: Int

    /// Tensors from this size up are mapped from the kernel, page by page on first touch.
    private static let mapThreshold = 1 << 16

    /// Allocates a zero-filled tensor of the given shape.
    ///
    /// Large tensors are anonymous memory maps: zero without being written, and resident only
    /// once touched, so a buffer a model never uses (say, gradients in an inference-only model)
    /// costs no memory.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= Tensor.mapThreshold,
           let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
            mappedBytes = bytes
            data = p.bindMemory(to: Float.self, capacity: max(count, 1))
        } else {
            mappedBytes = 0
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            data = raw.bindMemory(to: Float.self, capacity: max(count, 1))
            data.initialize(repeating: 0, count: max(count, 1))
        }
    }

    /// Allocates a tensor holding a copy of `values`.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit {
        if mappedBytes > 0 { munmap(data, mappedBytes) } else { data.deallocate() }
    }

    /// Floats per sample: the product of all dimensions but the first.
    public var sampleCount: Int { shape.dropFirst().reduce(1, *) }

    /// The buffer as a Swift array (a copy), for tests and reports.
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The first `n` floats as an array.
    public func prefix(_ n: Int) -> [Float] { Array(UnsafeBufferPointer(start: data, count: n)) }

    /// Sets every element to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Copies all values from a tensor of the same element count.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy between tensors of \(other.count) and \(count) floats")
        data.update(from: other.data, count: count)
    }

    /// Element access by flat index.
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
}
