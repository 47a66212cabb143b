import CCrypto
import Foundation

/// MD5, only to compare MNIST's files with their published checksums (MD5s of the uncompressed
/// IDX bytes) and to fingerprint a sweep's plan; not for anything security-related. OpenSSL's
/// libcrypto computes it. Copies of a value share one digest in progress.
public struct MD5 {
    /// An OpenSSL digest context, freed with the last value that holds it.
    private final class Context {
        let pointer: OpaquePointer
        init() {
            guard let pointer = EVP_MD_CTX_new(), EVP_DigestInit_ex(pointer, EVP_md5(), nil) == 1 else {
                fatalError("OpenSSL's libcrypto could not start an MD5 digest")
            }
            self.pointer = pointer
        }
        deinit { EVP_MD_CTX_free(pointer) }
    }

    private let context = Context()

    public init() {}

    /// The hex digest of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        var md5 = MD5()
        md5.update(bytes)
        return md5.finalize()
    }

    /// Adds `bytes` to the digest.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = EVP_DigestUpdate(context.pointer, $0.baseAddress, $0.count) }
    }

    /// The hex digest of everything added; the value takes no more bytes after this.
    public mutating func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context.pointer, &digest, &length) == 1, length == 16 else {
            fatalError("OpenSSL's libcrypto could not finish an MD5 digest")
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
