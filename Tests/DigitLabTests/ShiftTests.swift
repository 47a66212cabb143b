import DigitLab
import DigitLabEngine
import DigitLabTestSupport
import Foundation
import Testing

/// Shifts against Keras's apply_affine_transform, and flips after the affine part, as Keras's
/// apply_transform does.
@Suite("Shifts and flips", .engineThreads)
struct ShiftTests {
    @Test("shifts match ImageDataGenerator(width_shift_range, height_shift_range)")
    func shifts() throws {
        let ref = try DatagenReference.load()
        let input = try ref.floats("datagen/input")
        let tx = try ref.floats("shift/tx"), ty = try ref.floats("shift/ty")
        let expected = try ref.floats("shift/output")
        var ours = [Float](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { src in
            ours.withUnsafeMutableBufferPointer { dst in
                for k in 0..<tx.count {
                    AffineTransform(tx: Double(tx[k]), ty: Double(ty[k]))
                        .apply(src.baseAddress! + k * 784, height: 28, width: 28, into: dst.baseAddress! + k * 784)
                }
            }
        }
        var interior: Float = 0, border: Float = 0
        for k in 0..<tx.count {
            for i in 0..<28 {
                for j in 0..<28 {
                    let d = abs(ours[k * 784 + i * 28 + j] - expected[k * 784 + i * 28 + j])
                    if i == 0 || j == 0 || i == 27 || j == 27 { border = max(border, d) } else { interior = max(interior, d) }
                }
            }
        }
        #expect(interior < 1e-6, "shift interior max error \(interior)")
        #expect(border < 1e-4, "shift border max error \(border)")
        // The shifts moved something: the output is not the input.
        #expect(largestDifference(ours, input).difference > 0.1)
    }

    /// A 28 x 28 test image with no symmetry: pixel (i, j) = i * 28 + j.
    static let ramp: [Float] = (0..<784).map(Float.init)

    func transformed(_ t: ImageTransform, _ image: [Float] = ramp) -> [Float] {
        var out = [Float](repeating: 0, count: 784)
        image.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { t.apply(src.baseAddress!, height: 28, width: 28, into: $0.baseAddress!) }
        }
        return out
    }

    @Test("flips are exact mirrors: horizontal reverses the columns, vertical the rows")
    func flips() {
        let h = transformed(ImageTransform(flipHorizontal: true))
        let v = transformed(ImageTransform(flipVertical: true))
        let both = transformed(ImageTransform(flipHorizontal: true, flipVertical: true))
        for i in 0..<28 {
            for j in 0..<28 {
                #expect(h[i * 28 + j] == Self.ramp[i * 28 + 27 - j])
                #expect(v[i * 28 + j] == Self.ramp[(27 - i) * 28 + j])
                #expect(both[i * 28 + j] == Self.ramp[(27 - i) * 28 + 27 - j])
            }
        }
        #expect(transformed(ImageTransform()) == Self.ramp)
    }

    @Test("flips apply after the rotation and shifts, as in Keras's apply_transform")
    func flipAfterAffine() {
        let affine = AffineTransform(theta: 7, tx: 2.5, ty: -1.25)
        let shifted = transformed(ImageTransform(affine: affine))
        let flipped = transformed(ImageTransform(affine: affine, flipHorizontal: true))
        let mirrorFirst = transformed(ImageTransform(affine: affine), transformed(ImageTransform(flipHorizontal: true)))
        for i in 0..<28 { for j in 0..<28 { #expect(flipped[i * 28 + j] == shifted[i * 28 + 27 - j]) } }
        #expect(flipped != mirrorFirst, "flipping before the rotation and shift would give a different image")
    }

    @Test("flips are drawn with probability 1/2, after the affine draws; without flips the draws are unchanged")
    func draws() {
        let plain = Augmentation(rotationRange: 10, heightShiftRange: 0.1, widthShiftRange: 0.1)
        var a = Xoshiro256(seed: 3, stream: RandomStream.augmentation), b = a
        for _ in 0..<100 {
            let t = plain.drawTransform(height: 28, width: 28, using: &a)
            #expect(t == ImageTransform(affine: plain.draw(height: 28, width: 28, using: &b)))
        }
        var flipping = plain
        flipping.horizontalFlip = true
        flipping.verticalFlip = true
        #expect(flipping.isEnabled && Augmentation(horizontalFlip: true).isEnabled && !Augmentation().isEnabled)
        var rng = Xoshiro256(seed: 3, stream: RandomStream.augmentation), affineOnly = rng
        var horizontal = 0, vertical = 0
        let draws = 4000
        for k in 0..<draws {
            let t = flipping.drawTransform(height: 28, width: 28, using: &rng)
            if k == 0 { #expect(t.affine == plain.draw(height: 28, width: 28, using: &affineOnly)) }
            horizontal += t.flipHorizontal ? 1 : 0
            vertical += t.flipVertical ? 1 : 0
        }
        #expect(abs(horizontal - draws / 2) < 150 && abs(vertical - draws / 2) < 150, "\(horizontal) and \(vertical) of \(draws)")
    }

    @Test("the batch assembler flips: each image is the normalized one or its exact mirror")
    func assembler() throws {
        let data = try #require(DatagenReference.mnist, "MNIST not found at \(TestPaths.mnist)")
        let set = data.train.prefix(64)
        let assembler = BatchAssembler(set: set, normalization: .kerasNormalize,
                                       augmentation: Augmentation(horizontalFlip: true), capacity: 64)
        let input = Tensor(shape: [64, 28, 28, 1])
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        defer { labels.deallocate() }
        var rng = Xoshiro256(seed: 1)
        assembler.fill(indices: Array(0..<64)[...], input: input, labels: labels, rng: &rng)
        let plain = Normalization.kerasNormalize.apply(set)
        let out = input.array
        var mirrored = 0
        for k in 0..<64 {
            let image = Array(plain[k * 784..<(k + 1) * 784]), got = Array(out[k * 784..<(k + 1) * 784])
            var mirror = image
            for i in 0..<28 { for j in 0..<28 { mirror[i * 28 + j] = image[i * 28 + 27 - j] } }
            #expect(got == image || got == mirror, "image \(k) is neither itself nor its mirror")
            mirrored += got == mirror && got != image ? 1 : 0
        }
        #expect(mirrored > 16 && mirrored < 48, "\(mirrored) of 64 mirrored")
    }
}
