import NIOCore

/// Predict's answer written as JSON by hand, byte for byte what `Site.jsonBytes` (Foundation's
/// `JSONEncoder`, keys sorted) writes for it: encoding it with `JSONEncoder` took about 0.7 ms, as
/// long as reading a 28 x 28 upload now takes, for two 784-byte arrays and twenty probabilities.
/// The format copied is `JSONEncoder`'s: keys in sorted order, nil optionals left out, numbers
/// as `description` gives them with a trailing ".0" dropped, strings with `"`, `\`, `/` and
/// control characters escaped (`\b \f \n \r \t`, else `\u00xx`) and all else as UTF-8
/// (`SmallUploadTests.jsonSameAsEncoder` compares the two on real answers and on awkward values).
enum PredictJSON {
    /// The answer's JSON bytes, or nil when a probability is not finite (which `JSONEncoder`
    /// refuses with an error of its own: the caller then asks it, to get that error).
    static func encode(_ response: PredictResponse) -> ByteBuffer? {
        var w = Writer()
        w.out.reserveCapacity(8192)
        w.raw("{\"model\":")
        w.string(response.model)
        w.raw(",\"readings\":[")
        for (k, r) in response.readings.enumerated() {
            if k > 0 { w.raw(",") }
            // Keys in JSONEncoder's sorted order: digit, error, ink, input, pipeline, probabilities, thickened.
            var first = true
            func key(_ name: StaticString) {
                w.raw(first ? "{\"" : ",\"")
                first = false
                w.raw(name)
                w.raw("\":")
            }
            if let digit = r.digit { key("digit"); w.int(digit) }
            if let error = r.error { key("error"); w.string(error) }
            if let ink = r.ink { key("ink"); w.string(ink) }
            if let input = r.input {
                key("input")
                w.bytes(input)
            }
            key("pipeline"); w.string(r.pipeline)
            if let p = r.probabilities {
                key("probabilities")
                w.raw("[")
                for (i, v) in p.enumerated() {
                    guard v.isFinite else { return nil }
                    if i > 0 { w.raw(",") }
                    w.double(v)
                }
                w.raw("]")
            }
            if let thickened = r.thickened { key("thickened"); w.raw(thickened ? "true" : "false") }
            w.raw("}")
        }
        w.raw("]}")
        return ByteBuffer(bytes: w.out)
    }

    private struct Writer {
        var out: [UInt8] = []

        /// Each byte value's decimal digits, so that an input array costs no string formatting.
        static let decimal: [[UInt8]] = (0...255).map { Array(String($0).utf8) }

        mutating func raw(_ s: StaticString) {
            s.withUTF8Buffer { out.append(contentsOf: $0) }
        }

        mutating func int(_ v: Int) { out.append(contentsOf: String(v).utf8) }

        mutating func bytes(_ values: [UInt8]) {
            out.append(UInt8(ascii: "["))
            for (i, v) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: Writer.decimal[Int(v)])
            }
            out.append(UInt8(ascii: "]"))
        }

        mutating func double(_ v: Double) {
            var s = v.description
            if s.hasSuffix(".0") { s.removeLast(2) }
            out.append(contentsOf: s.utf8)
        }

        mutating func string(_ s: String) {
            out.append(UInt8(ascii: "\""))
            let hex = Array("0123456789abcdef".utf8)
            for b in s.utf8 {
                switch b {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case UInt8(ascii: "/"): raw("\\/")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                case 0x08: raw("\\b")
                case 0x0C: raw("\\f")
                case 0..<0x20: raw("\\u00"); out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
