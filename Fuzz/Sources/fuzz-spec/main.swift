import FuzzSupport

// libFuzzer on the spec reader (see FuzzReaders.spec in Tests/DigitLabTests/FuzzReaders.swift).
runFuzzer { data, size in
    FuzzReaders.fuzz(FuzzReaders.spec, data, size)
    return 0
}
