// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DigitLab",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DigitLab", targets: ["DigitLab"]),
        .executable(name: "digitlab", targets: ["digitlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The web server of `digitlab serve` only (DigitLabServer); swift-configuration's trait is left off.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        // The browser test's WebDriver client (already built for HummingbirdTesting, which uses it).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages; nothing but module maps here.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", path: "Sources/CLAPACKE", providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libjpeg's error_exit must not return; Swift cannot longjmp, so this small C target runs
        // decompression and compression under setjmp and returns errors as codes and messages.
        .target(name: "CJPEGSafe", dependencies: ["CJPEG"], path: "Sources/CJPEGSafe",
                linkerSettings: [.linkedLibrary("jpeg")]),

        // The commit the binary was built from: `make build` writes a header this C file includes
        // when present (see build_info.c); without it the commit reads "unknown".
        .target(name: "CBuildInfo", path: "Sources/CBuildInfo"),

        // The numerical core: tensors, im2col, GEMM, layers, the model and its optimizer.
        // It knows nothing of files, specs or reports; its own target keeps it so.
        .target(name: "DigitLabEngine", dependencies: ["CBLAS"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),

        // Data, preprocessing, the training loop, experiments and reports.
        .target(name: "DigitLab", dependencies: [
            "DigitLabEngine", "CZlib", "CLAPACKE", "CPNG", "CJPEG", "CJPEGSafe", "CCrypto", "CBuildInfo",
            .product(name: "Yams", package: "Yams"),
        ]),

        // The web pages of `digitlab serve`, beside the CLI: the only target that uses Hummingbird.
        .target(name: "DigitLabServer", dependencies: [
            "DigitLab", "DigitLabEngine",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),

        // The command-line tool: one file per subcommand, parsing and calling the library.
        .executableTarget(name: "digitlab", dependencies: [
            "DigitLab", "DigitLabServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // What both test targets share: the Keras reference files in Tests/Reference, ways of
        // comparing tensors, and the trait that pins the engine's thread count for tests that compute.
        .target(name: "DigitLabTestSupport", dependencies: ["DigitLabEngine", "DigitLab"], path: "Tests/DigitLabTestSupport"),
        .testTarget(name: "DigitLabEngineTests", dependencies: ["DigitLabEngine", "DigitLab", "DigitLabTestSupport"]),
        .testTarget(name: "DigitLabTests", dependencies: ["DigitLab", "digitlab", "DigitLabTestSupport"]),
        // The server's routes (HummingbirdTesting) and its pages in a real headless browser.
        .testTarget(name: "DigitLabServerTests", dependencies: [
            "DigitLabServer", "DigitLab", "DigitLabTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
