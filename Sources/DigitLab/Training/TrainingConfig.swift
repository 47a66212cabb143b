import DigitLabEngine

/// Everything the training loop needs for one run, independent of how it was specified: made
/// from a spec (`ExperimentSpec.trainingConfig(seed:)`), which holds the values and their defaults.
public struct TrainingConfig: Sendable, Equatable {
    /// The network, with its L2 factors.
    public var plan: LayerPlan
    public var normalization: Normalization
    /// Keras's `standardize` steps (featurewise and samplewise centring and std, ZCA whitening),
    /// fitted on the training split and applied to training, validation and test images alike.
    public var standardization: Standardization
    /// Random geometric augmentation, drawn per image per epoch.
    public var augmentation: Augmentation
    public var optimizer: OptimizerSettings
    public var batchSize: Int
    /// Seeds the weights, the shuffling, the augmentation and dropout.
    public var seed: UInt64
    /// Fraction of the training set (its last images, taken before shuffling) held out for validation.
    public var validationSplit: Double
    /// Train on only the first this many training images (before the validation split).
    public var limit: Int?

    public init(plan: LayerPlan, normalization: Normalization, standardization: Standardization, augmentation: Augmentation,
                optimizer: OptimizerSettings, batchSize: Int, seed: UInt64, validationSplit: Double, limit: Int?) {
        self.plan = plan; self.normalization = normalization; self.standardization = standardization
        self.augmentation = augmentation; self.optimizer = optimizer; self.batchSize = batchSize; self.seed = seed
        self.validationSplit = validationSplit; self.limit = limit
    }
}

/// The random transforms of Keras's `ImageDataGenerator` that a spec can turn on.
public struct Augmentation: Sendable, Equatable {
    /// Rotation angle uniform in [-range, range] degrees (`rotation_range`).
    public var rotationRange: Double = 0
    /// Shifts as fractions of the height and width (`height_shift_range`, `width_shift_range`).
    public var heightShiftRange: Double = 0
    public var widthShiftRange: Double = 0
    /// Mirror left-right, or upside down, with probability 1/2 per image (`horizontal_flip`, `vertical_flip`).
    public var horizontalFlip = false
    public var verticalFlip = false

    public init(rotationRange: Double = 0, heightShiftRange: Double = 0, widthShiftRange: Double = 0,
                horizontalFlip: Bool = false, verticalFlip: Bool = false) {
        self.rotationRange = rotationRange
        self.heightShiftRange = heightShiftRange
        self.widthShiftRange = widthShiftRange
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
    }

    public var isEnabled: Bool {
        rotationRange != 0 || heightShiftRange != 0 || widthShiftRange != 0 || horizontalFlip || verticalFlip
    }

    /// Draws one image's transform as Keras's `get_random_transform` does, in its order:
    /// theta, then tx (rows, from the height range), then ty (columns, from the width range).
    public func draw(height: Int, width: Int, using rng: inout Xoshiro256) -> AffineTransform {
        var t = AffineTransform()
        if rotationRange != 0 { t.theta = Double(rng.nextUnitDouble() * 2 - 1) * rotationRange }
        if heightShiftRange != 0 { t.tx = (rng.nextUnitDouble() * 2 - 1) * heightShiftRange * Double(height) }
        if widthShiftRange != 0 { t.ty = (rng.nextUnitDouble() * 2 - 1) * widthShiftRange * Double(width) }
        return t
    }

    /// Draws one image's whole transform: the affine part as `draw`, then the flips, in Keras's
    /// order (`flip_horizontal`, then `flip_vertical`, each `random() < 0.5`). Keras draws both flip
    /// numbers even when the flips are off; here a flip draws only when it is on, so runs without
    /// flips draw exactly the transforms they drew before flips existed (the generator is not
    /// NumPy's in any case).
    public func drawTransform(height: Int, width: Int, using rng: inout Xoshiro256) -> ImageTransform {
        var t = ImageTransform(affine: draw(height: height, width: width, using: &rng))
        if horizontalFlip { t.flipHorizontal = rng.nextUnitDouble() < 0.5 }
        if verticalFlip { t.flipVertical = rng.nextUnitDouble() < 0.5 }
        return t
    }
}
