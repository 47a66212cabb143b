import DigitLabEngine

/// An epoch's minibatches as a sequence of ranges into a shuffled order of sample indices; the
/// last batch is short when the batch size does not divide the count, as in Keras.
public struct EpochBatches: Sequence {
    public let count: Int
    public let batchSize: Int

    public init(count: Int, batchSize: Int) {
        self.count = count
        self.batchSize = batchSize
    }

    public var batchCount: Int { (count + batchSize - 1) / batchSize }

    public func makeIterator() -> AnyIterator<Range<Int>> {
        var start = 0
        return AnyIterator {
            guard start < count else { return nil }
            defer { start += batchSize }
            return start..<Swift.min(start + batchSize, count)
        }
    }
}

/// Fills a model's input batch from a labelled image set: normalization, then (when asked) one
/// random affine transform per image, as `ImageDataGenerator.flow` applies it to normalized images.
public final class BatchAssembler {
    public let set: LabeledImages
    public let normalization: Normalization
    public let augmentation: Augmentation
    private let scratch: UnsafeMutablePointer<Float>
    private let transforms: UnsafeMutablePointer<AffineTransform>
    private let capacity: Int

    public init(set: LabeledImages, normalization: Normalization, augmentation: Augmentation = Augmentation(), capacity: Int) {
        self.set = set
        self.normalization = normalization
        self.augmentation = augmentation
        self.capacity = capacity
        scratch = .allocate(capacity: capacity * set.pixelsPerImage)
        transforms = .allocate(capacity: capacity)
        transforms.initialize(repeating: AffineTransform(), count: capacity)
    }

    deinit {
        scratch.deallocate()
        transforms.deallocate()
    }

    /// Writes the images `indices` into `input` and their labels into `labels`. With
    /// augmentation on, transforms are drawn from `rng` in batch order, then applied in parallel.
    public func fill(indices: ArraySlice<Int>, input: Tensor, labels: UnsafeMutablePointer<Int32>,
                     rng: inout Xoshiro256) {
        let pixels = set.pixelsPerImage, (h, w) = (set.height, set.width)
        let n = indices.count
        precondition(n <= capacity)
        let start = indices.startIndex
        for k in 0..<n { labels[k] = set.labels[indices[start + k]] }
        if augmentation.isEnabled {
            for k in 0..<n { transforms[k] = augmentation.draw(height: h, width: w, using: &rng) }
        }
        let set = self.set, normalization = self.normalization, augment = augmentation.isEnabled
        let scratch = self.scratch, transforms = self.transforms, out = input.data
        parallelFor(n) { k in
            let index = indices[start + k]
            if augment {
                normalization.apply(set, index: index, into: scratch + k * pixels)
                transforms[k].apply(scratch + k * pixels, height: h, width: w, into: out + k * pixels)
            } else {
                normalization.apply(set, index: index, into: out + k * pixels)
            }
        }
    }
}
