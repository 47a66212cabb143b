import DigitLab
import Testing

@Suite("MD5")
struct MD5Tests {
    @Test("RFC 1321 test vectors, across block boundaries")
    func vectors() {
        #expect(MD5.hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array("message digest".utf8)) == "f96b697d7cb7938d525a2f31aaf161d0")
        let digits = "12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        #expect(MD5.hex(Array(digits.utf8)) == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test("feeding in pieces gives the same digest as feeding at once")
    func incremental() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var md5 = MD5()
        for chunk in stride(from: 0, to: bytes.count, by: 37) { md5.update(Array(bytes[chunk..<min(chunk + 37, bytes.count)])) }
        #expect(md5.finalize() == MD5.hex(bytes))
    }
}
