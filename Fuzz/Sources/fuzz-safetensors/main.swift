import FuzzSupport

// libFuzzer on the safetensors reader (see FuzzReaders.safetensors in Tests/DigitLabTests/FuzzReaders.swift).
runFuzzer { data, size in
    FuzzReaders.fuzz(FuzzReaders.safetensors, data, size)
    return 0
}
