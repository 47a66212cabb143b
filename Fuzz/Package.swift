// swift-tools-version: 6.1
// Coverage-guided fuzzers (libFuzzer) for DigitLab's readers, one executable per reader. A package
// of its own, depending on the main one by path, so the main build never needs -sanitize=fuzzer.
// Built and run by `make fuzz` in the top directory (see the Makefile and Fuzz/README.md):
//
//   swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address \
//       -Xcc -fsanitize=fuzzer-no-link,address
//   Fuzz/.build/release/fuzz-idx -max_total_time=600 CORPUS_COPY Fuzz/Corpus/idx
import PackageDescription

let package = Package(
    name: "DigitLabFuzz",
    dependencies: [.package(name: "DigitLab", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer", .product(name: "DigitLab", package: "DigitLab")]),
        .executableTarget(name: "fuzz-idx", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "fuzz-spec", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "fuzz-image", dependencies: ["FuzzSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
