import ArgumentParser
import DigitLab
import Foundation

struct MakePhotos: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-photos",
        abstract: "Make synthetic photographs of MNIST test digits (or, with --number, of numbers), to measure predict.",
        discussion: """
            Each MNIST test digit is enlarged 4-8x, slightly rotated, placed off-centre on light or \
            dark, tinted or grey paper under uneven light with noise; some are redrawn with a thin \
            pen, some get ruled lines. Half are saved as JPEG, half as PNG, named \
            photo-NNNN-label-D.EXT; labels.csv lists file, label and what was done.

            With --number, each photograph is a number of 2-6 MNIST test digits on a jittered \
            baseline, a third of them with a pair of neighbours touching, named \
            number-NNNN-label-DIGITS.EXT; labels.csv adds the MNIST indices and the touching pairs.

            Example:
              digitlab make-photos --count 200 --out /tmp/photos && digitlab predict --json /tmp/photos/*.*g
              digitlab make-photos --number --count 300 --out /tmp/numbers
              digitlab predict --number --labels /tmp/numbers/labels.csv /tmp/numbers/number-*
            """)

    @Option(help: "How many photographs.")
    var count: Int = 200

    @Option(help: "Seed for the digits picked and the choices made per photograph.")
    var seed: Int = 0

    @Option(name: .customLong("data"), help: ArgumentHelp(
        "Directory holding the four MNIST IDX files.", discussion: "Default: $DIGITLAB_DATA, else data/mnist.", valueName: "dir"))
    var directory: String?

    @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String

    @Flag(help: "Make photographs of numbers of 2-6 digits instead of single digits.")
    var number = false

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard seed >= 0 else { throw ValidationError("--seed must not be negative") }
    }

    func run() throws {
        do {
            let data = try Dataset.load(.mnist, directory: Dataset.resolveDirectory(directory, files: .mnist))
            if number { return try makeNumbers(data.test) }
            var rows: [[String]] = []
            for i in 0..<count {
                let source = (i * 7919 + seed * 104_729) % data.test.count
                let photo = SyntheticPhotos.make(from: data.test, source: source, index: i, seed: UInt64(seed))
                let file = "photo-\(Self.padded(i))-label-\(photo.label).\(photo.jpeg ? "jpg" : "png")"
                try ImageFile.write(photo.image, to: out + "/" + file, jpegQuality: 85)
                rows.append([file, String(photo.label), String(source), photo.traits])
            }
            try AtomicFile.write(CSVTable(header: ["file", "label", "test_index", "traits"], rows: rows).text, to: out + "/labels.csv")
            print("wrote \(count) photographs and labels.csv to \(out)")
        } catch {
            fail(error)
        }
    }

    func makeNumbers(_ test: LabeledImages) throws {
        var rows: [[String]] = []
        for i in 0..<count {
            let photo = SyntheticNumbers.make(from: test, index: i, seed: UInt64(seed))
            let file = "number-\(Self.padded(i))-label-\(photo.label).\(photo.jpeg ? "jpg" : "png")"
            try ImageFile.write(photo.image, to: out + "/" + file, jpegQuality: 85)
            rows.append([file, photo.label, photo.sources.map(String.init).joined(separator: " "), String(photo.touchingPairs), photo.traits])
        }
        try AtomicFile.write(CSVTable(header: ["file", "label", "test_indices", "touching_pairs", "traits"], rows: rows).text,
                             to: out + "/labels.csv")
        print("wrote \(count) photographs of numbers and labels.csv to \(out)")
    }

    /// `i` with leading zeros to four digits.
    static func padded(_ i: Int) -> String { String(repeating: "0", count: max(0, 4 - String(i).count)) + String(i) }
}
