import FuzzSupport

// libFuzzer on the image reader (see FuzzReaders.image in Tests/DigitLabTests/FuzzReaders.swift).
runFuzzer { data, size in
    FuzzReaders.fuzz(FuzzReaders.image, data, size)
    return 0
}
