import Foundation

/// A dataset in MNIST's four-file IDX layout: MNIST itself or Fashion-MNIST.
public struct DatasetFiles: Sendable {
    /// The name specs use: "mnist" or "fashion-mnist".
    public let name: String
    /// Base names of the four files, without `.gz`, and the MD5 of each file's uncompressed bytes.
    public let trainImages: (file: String, md5: String)
    public let trainLabels: (file: String, md5: String)
    public let testImages: (file: String, md5: String)
    public let testLabels: (file: String, md5: String)
    /// Where to look when neither `--data` nor the environment variable names a directory.
    public let defaultDirectories: [String]
    /// Names of the classes, for reports.
    public let classNames: [String]

    /// MNIST, with its canonical checksums (the ones published with the dataset).
    public static let mnist = DatasetFiles(
        name: "mnist",
        trainImages: ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
        trainLabels: ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
        testImages: ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
        testLabels: ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
        defaultDirectories: ["data/mnist"],
        classNames: (0...9).map(String.init))

    /// Zalando's Fashion-MNIST, same layout and sizes as MNIST; Debian's `dataset-fashion-mnist`
    /// installs it in /usr/share/datasets/fashion-mnist.
    public static let fashionMNIST = DatasetFiles(
        name: "fashion-mnist",
        trainImages: ("train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        trainLabels: ("train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9"),
        testImages: ("t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a"),
        testLabels: ("t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965"),
        defaultDirectories: ["data/fashion-mnist", "/usr/share/datasets/fashion-mnist"],
        classNames: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])

    public static func named(_ name: String) -> DatasetFiles? {
        [mnist, fashionMNIST].first { $0.name == name }
    }

    /// The environment variable naming this dataset's directory.
    public var environmentVariable: String { name == "mnist" ? "DIGITLAB_DATA" : "DIGITLAB_FASHION_DATA" }
}

/// Training and test sets read from IDX files and checked against their published checksums.
public struct Dataset: Sendable {
    public let files: DatasetFiles
    public let train: LabeledImages
    public let test: LabeledImages
    public let directory: String

    /// Resolves the data directory: the explicit one if given, else the dataset's environment
    /// variable, else its default locations.
    public static func resolveDirectory(_ explicit: String?, files: DatasetFiles,
                                        environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnv = environment[files.environmentVariable], !fromEnv.isEmpty { return fromEnv }
        return files.defaultDirectories.first { dir in
            FileManager.default.fileExists(atPath: dir + "/" + files.trainImages.file + ".gz")
                || FileManager.default.fileExists(atPath: dir + "/" + files.trainImages.file)
        } ?? files.defaultDirectories[0]
    }

    /// Loads the four files from `directory` (each either `NAME.gz` or plain `NAME`), verifying
    /// every file's MD5 unless `verify` is false.
    public static func load(_ files: DatasetFiles, directory: String, verify: Bool = true) throws -> Dataset {
        func path(_ base: String) throws -> String {
            for candidate in [directory + "/" + base + ".gz", directory + "/" + base]
            where FileManager.default.fileExists(atPath: candidate) { return candidate }
            throw DataError(directory + "/" + base + ".gz",
                            "no such file. The \(files.name) data directory is \(directory); set it with --data DIR or "
                            + "\(files.environmentVariable)=DIR (this checkout's CI uses ../shared/data/mnist), "
                            + "or run `make data` to download it")
        }
        func load(_ entry: (file: String, md5: String), rank: Int) throws -> IDXArray {
            let p = try path(entry.file)
            let array = try IDX.read(path: p, expectedDimensions: rank)
            if verify {
                let digest = array.md5
                guard digest == entry.md5 else {
                    throw DataError(p, "checksum mismatch: MD5 of the uncompressed data is \(digest), expected \(entry.md5) (a damaged or different file)")
                }
            }
            return array
        }
        func set(_ images: (file: String, md5: String), _ labels: (file: String, md5: String)) throws -> LabeledImages {
            let x = try load(images, rank: 3), y = try load(labels, rank: 1)
            guard x.shape[0] == y.shape[0] else {
                throw DataError(directory, "\(images.file) holds \(x.shape[0]) images but \(labels.file) holds \(y.shape[0]) labels")
            }
            return LabeledImages(images: x.bytes, labels: y.bytes.map { Int32($0) }, height: x.shape[1], width: x.shape[2])
        }
        return Dataset(files: files, train: try set(files.trainImages, files.trainLabels),
                       test: try set(files.testImages, files.testLabels), directory: directory)
    }
}
