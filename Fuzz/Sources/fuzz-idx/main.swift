import FuzzSupport

// libFuzzer on the idx reader (see FuzzReaders.idx in Tests/DigitLabTests/FuzzReaders.swift).
runFuzzer { data, size in
    FuzzReaders.fuzz(FuzzReaders.idx, data, size)
    return 0
}
