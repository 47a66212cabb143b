/// Text in markup (SVG, HTML): the reports' charts and the server's pages escape what they write
/// with this one function.
public enum Markup {
    /// `text` with XML's special characters replaced, safe in element content and in quoted
    /// attribute values of XML and HTML alike.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 forbids other control characters outright, even escaped.
            case _ where c.asciiValue.map({ $0 < 0x20 && $0 != 0x09 && $0 != 0x0A }) ?? false: continue
            default: out.append(c)
            }
        }
        return out
    }
}
