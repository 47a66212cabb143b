// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DigitLab",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "DigitLab", targets: ["DigitLab"]),
        .executable(name: "digitlab", targets: ["digitlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries from Debian's -dev packages; nothing but module maps here.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE", providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The numerical core: tensors, im2col, GEMM, layers, the model and its optimizer.
        // It knows nothing of files, specs or reports; its own target keeps it so.
        .target(name: "DigitLabEngine", dependencies: ["CBLAS"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),

        // Data, preprocessing, the training loop, experiments and reports.
        .target(name: "DigitLab", dependencies: [
            "DigitLabEngine", "CZlib", "CLAPACKE",
            .product(name: "Yams", package: "Yams"),
        ]),

        // The command-line tool: one file per subcommand, parsing and calling the library.
        .executableTarget(name: "digitlab", dependencies: [
            "DigitLab",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "DigitLabEngineTests", dependencies: ["DigitLabEngine", "DigitLab"]),
        .testTarget(name: "DigitLabTests", dependencies: ["DigitLab"]),
    ],
    swiftLanguageModes: [.v6]
)
