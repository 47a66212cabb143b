import Foundation

/// Images and their labels: unsigned bytes as the IDX files hold them, `count × height × width`.
public struct LabeledImages: Sendable {
    public let images: [UInt8]
    public let labels: [Int32]
    public let count: Int
    public let height: Int
    public let width: Int

    public init(images: [UInt8], labels: [Int32], height: Int, width: Int) {
        precondition(images.count == labels.count * height * width, "images and labels disagree")
        self.images = images
        self.labels = labels
        self.count = labels.count
        self.height = height
        self.width = width
    }

    public var pixelsPerImage: Int { height * width }

    /// The first `n` images (all of them if there are fewer).
    public func prefix(_ n: Int) -> LabeledImages {
        let k = min(n, count)
        return LabeledImages(images: Array(images[0..<k * pixelsPerImage]), labels: Array(labels[0..<k]),
                             height: height, width: width)
    }

    /// Images `range`, as a new set.
    public func slice(_ range: Range<Int>) -> LabeledImages {
        LabeledImages(images: Array(images[range.lowerBound * pixelsPerImage..<range.upperBound * pixelsPerImage]),
                      labels: Array(labels[range]), height: height, width: width)
    }
}
