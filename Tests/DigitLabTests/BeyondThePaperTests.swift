import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// What the study beyond the paper runs on: Fashion-MNIST (Debian's dataset-fashion-mnist, which
/// `make setup` installs) and ZCA whitening (experiments/zca.yaml), each through a short run of
/// the tool. The runs are pinned to two engine threads, so their figures are this machine's for
/// any core count; the floors sit a few points under what was measured.
@Suite("Beyond the paper: Fashion-MNIST and ZCA runs", .serialized)
struct BeyondThePaperTests {
    /// The one row of a run's summary.csv, by column.
    static func summary(_ path: String) throws -> [String: String] {
        let table = try CSVTable.read(path: path)
        try #require(table.rows.count == 1, "\(path) has \(table.rows.count) rows")
        return Dictionary(uniqueKeysWithValues: zip(table.header, table.rows[0]))
    }

    @Test("Fashion-MNIST loads where the Debian package puts it, every file's checksum verified")
    func fashionLoads() throws {
        let directory = Dataset.resolveDirectory(nil, files: .fashionMNIST)
        try #require(FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte.gz"),
                     "no Fashion-MNIST in \(directory): install Debian's dataset-fashion-mnist (make setup does)")
        let fashion = try Dataset.load(.fashionMNIST, directory: directory)
        #expect(fashion.train.count == 60_000 && fashion.test.count == 10_000)
        #expect(fashion.train.height == 28 && fashion.train.width == 28)
        // Ten balanced classes: 6,000 training and 1,000 test images each.
        for (set, each) in [(fashion.train, 6000), (fashion.test, 1000)] {
            var counts = [Int](repeating: 0, count: 10)
            for label in set.labels { counts[Int(label)] += 1 }
            #expect(counts == [Int](repeating: each, count: 10), "\(counts)")
        }
        #expect(DatasetFiles.fashionMNIST.classNames.count == 10)
        // Not MNIST under another name.
        let mnist = try Dataset.load(.mnist, directory: TestPaths.mnist, verify: false)
        #expect(fashion.train.images.prefix(784) != mnist.train.images.prefix(784))
    }

    @Test("a short Fashion-MNIST run (the paper's case 1, 2,000 images, one epoch) learns: test accuracy over 50% (55.2% measured; chance 10%)")
    func fashionRun() throws {
        let dir = TestPaths.temporaryDirectory("fashion-run")
        let r = try runTool(["run", "experiments/fashion/case1.yaml", "--limit", "2000", "--epochs", "1", "--threads", "2", "--out", dir])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try Self.summary(dir + "/runs/fashion-case1+epochs=1,limit=2000/seed-0/summary.csv")
        #expect(row["dataset"] == "fashion-mnist" && row["status"] == "finished", "\(row)")
        let test = try #require(row["test_acc"].flatMap(Double.init), "\(row)")
        #expect(test > 50, "test accuracy \(test)%")
    }

    @Test("a short run with ZCA whitening (experiments/zca.yaml, 2,000 images, one epoch) fits, trains and learns: test accuracy over 38% (42.8% measured)")
    func zcaRun() throws {
        let dir = TestPaths.temporaryDirectory("zca-run")
        let r = try runTool(["run", "experiments/zca.yaml", "--limit", "2000", "--epochs", "1", "--threads", "2",
                             "--data", TestPaths.mnist, "--out", dir])
        #expect(r.status == 0, "\(r.stderr)")
        let run = dir + "/runs/zca+epochs=1,limit=2000/seed-0"
        let spec = try String(contentsOfFile: run + "/spec.yaml", encoding: .utf8)
        #expect(spec.contains("  zca_whitening: true\n") && spec.contains("  featurewise_center: true\n"), "\(spec)")
        let history = try History.read(path: run + "/history.csv")
        let epoch = try #require(history.epochs.first)
        // ZCA as Keras fits it scales the never-inked pixel directions by up to 1e8, so the
        // validation loss is huge (12,975 measured) where the same run of case 1 without it has
        // 1.37: the whitening was applied to the validation images too.
        #expect((epoch.validationLoss ?? 0) > 100, "validation loss \(epoch.validationLoss ?? .nan)")
        let row = try Self.summary(run + "/summary.csv")
        #expect(row["status"] == "finished", "\(row)")
        let test = try #require(row["test_acc"].flatMap(Double.init), "\(row)")
        #expect(test > 38, "test accuracy \(test)%")
    }
}
