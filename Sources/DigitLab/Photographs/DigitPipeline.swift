/// The two ways a photograph becomes the model's 28 x 28 input.
public enum DigitPipeline: String, Sendable, CaseIterable {
    /// The paper's annexure, step for step, including its row-wise normalization (`PaperPipeline`).
    case paper
    /// What MNIST did to its digits, robustly (`MNISTPipeline`), normalized as the model was trained.
    case mnist

    /// Reads an image file as this pipeline starts from: `paper` as the annexure's
    /// `cv2.imread(path, IMREAD_GRAYSCALE)` (`ImageFile.readGreyAsOpenCV`), `mnist` in colour.
    public func read(path: String) throws -> RasterImage {
        switch self {
        case .paper: return try ImageFile.readGreyAsOpenCV(path: path)
        case .mnist: return try ImageFile.read(path: path)
        }
    }

    /// The model's input for `image`; `normalization` is the model's training normalization
    /// (used by `mnist`; `paper` always normalizes rows as the annexure does).
    public func prepare(_ image: RasterImage, normalization: Normalization) throws -> PreparedDigit {
        switch self {
        case .paper:
            let steps = PaperPipeline.run(image)
            return PreparedDigit(input: steps.input, digit: steps.resized, inkIsDark: steps.inverted, thickened: nil)
        case .mnist:
            let result = try MNISTPipeline.run(image)
            let set = LabeledImages(images: result.digit, labels: [0], height: 28, width: 28)
            return PreparedDigit(input: normalization.apply(set), digit: result.digit, inkIsDark: result.inkIsDark,
                                 thickened: result.thickened)
        }
    }
}

/// A photograph made ready for the model.
public struct PreparedDigit: Sendable {
    /// The model's input, 28 x 28 floats.
    public var input: [Float]
    /// The 28 x 28 bytes before normalization: white digit on black.
    public var digit: [UInt8]
    /// Whether the ink was darker than the paper (for `paper`: whether the binary image was inverted).
    public var inkIsDark: Bool
    /// For `mnist`: whether thin strokes were thickened.
    public var thickened: Bool?

    /// What the model sees, as an 8-bit image: the input scaled so that its largest value is white.
    /// Normalization makes it differ from `digit`: each column (or, in the paper's pipeline, each
    /// row) is scaled to unit length, which brightens columns with little ink.
    public var preview: RasterImage {
        let top = input.max() ?? 0
        let bytes = input.map { top > 0 ? UInt8(max(0, min(255, ($0 / top * 255).rounded()))) : 0 }
        return RasterImage(width: 28, height: 28, channels: 1, pixels: bytes)
    }
}
