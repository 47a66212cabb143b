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

/// Fills a model's input batch from a labelled image set as Keras's `ImageDataGenerator.flow`
/// does on normalized images: normalization, then (when asked) one random transform per image
/// (`random_transform`: rotation and shifts, then flips), then the fitted standardization
/// (`standardize`: the per-image steps, then ZCA whitening of the whole batch). Every buffer is
/// allocated up front, so filling a batch allocates nothing.
public final class BatchAssembler {
    public let set: LabeledImages
    public let normalization: Normalization
    public let augmentation: Augmentation
    public let standardizer: Standardizer?
    private let scratch: UnsafeMutablePointer<Float>
    private let transforms: UnsafeMutablePointer<ImageTransform>
    /// Doubles for ZCA whitening's product (empty without it).
    private let whitening: UnsafeMutablePointer<Double>
    private let capacity: Int

    public init(set: LabeledImages, normalization: Normalization, augmentation: Augmentation = Augmentation(),
                standardizer: Standardizer? = nil, capacity: Int) {
        self.set = set
        self.normalization = normalization
        self.augmentation = augmentation
        self.standardizer = standardizer
        self.capacity = capacity
        scratch = .allocate(capacity: capacity * set.pixelsPerImage)
        transforms = .allocate(capacity: capacity)
        transforms.initialize(repeating: ImageTransform(), count: capacity)
        let doubles = standardizer?.whitens == true ? 2 * capacity * set.pixelsPerImage : 0
        whitening = .allocate(capacity: doubles)
        whitening.initialize(repeating: 0, count: doubles)
    }

    deinit {
        scratch.deallocate()
        transforms.deallocate()
        whitening.deallocate()
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
            for k in 0..<n { transforms[k] = augmentation.drawTransform(height: h, width: w, using: &rng) }
        }
        let set = self.set, normalization = self.normalization, augment = augmentation.isEnabled
        let scratch = self.scratch, transforms = self.transforms, out = input.data
        let standardizer = self.standardizer
        parallelFor(n) { k in
            let index = indices[start + k]
            if augment {
                normalization.apply(set, index: index, into: scratch + k * pixels)
                transforms[k].apply(scratch + k * pixels, height: h, width: w, into: out + k * pixels)
            } else {
                normalization.apply(set, index: index, into: out + k * pixels)
            }
            standardizer?.standardizeImage(out + k * pixels, count: pixels)
        }
        if let standardizer, standardizer.whitens {
            standardizer.whiten(out, count: n, scratch: whitening)
        }
    }
}
