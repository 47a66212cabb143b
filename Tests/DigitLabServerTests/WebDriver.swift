import AsyncHTTPClient
import Foundation
import NIOCore

/// A headless Chromium driven through chromedriver's W3C WebDriver protocol (JSON over HTTP),
/// spoken directly: no client library.
final class WebDriver: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// Whether Debian's chromium and chromium-driver are installed (`make setup` installs them).
    static var available: Bool { chromium != nil && chromedriver != nil }

    private let driver = Process()
    private let base: String
    private var session = ""

    /// Starts chromedriver on a free port and opens a headless browser session.
    init(width: Int = 1280, height: Int = 1000) async throws {
        let port = try WebDriver.freePort()
        base = "http://127.0.0.1:\(port)"
        driver.executableURL = URL(fileURLWithPath: WebDriver.chromedriver!)
        driver.arguments = ["--port=\(port)", "--log-path=" + NSTemporaryDirectory() + "digitlab-chromedriver.log"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        var ready = false, last = "no reply"
        for _ in 0..<100 {
            do {
                let status = try await request("GET", "/status") as? [String: Any]
                if (status?["ready"] as? Bool) == true { ready = true; break }
                last = "\(String(describing: status))"
            } catch { last = "\(error)" }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard ready else { driver.terminate(); throw Failure(description: "chromedriver did not start on port \(port): \(last)") }
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["binary": WebDriver.chromium!,
                                   "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                            "--window-size=\(width),\(height)", "--hide-scrollbars"]],
        ]]]
        do {
            let reply = try await request("POST", "/session", capabilities) as? [String: Any]
            guard let id = reply?["sessionId"] as? String else { throw Failure(description: "no session id in \(String(describing: reply))") }
            session = id
        } catch {
            driver.terminate()
            throw error
        }
    }

    /// Ends the session and chromedriver.
    func quit() async {
        if !session.isEmpty { _ = try? await request("DELETE", "/session/\(session)") }
        driver.terminate()
        // Polled, not waitUntilExit(), which can block a concurrency thread for good on Linux.
        for _ in 0..<50 where driver.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
    }

    func open(_ url: String) async throws { _ = try await command("POST", "url", ["url": url]) }

    /// Runs `script` (a function body) in the page and returns its value.
    func run(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "execute/sync", ["script": script, "args": arguments])
    }

    /// Runs `script` until it returns true, every 200 ms for at most `seconds`.
    func waitUntil(_ script: String, seconds: Double = 30) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try await run(script)) as? Bool == true { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// The element a CSS selector finds first.
    func element(_ css: String) async throws -> String {
        let value = try await command("POST", "element", ["using": "css selector", "value": css]) as? [String: Any]
        guard let id = value?.values.first as? String else { throw Failure(description: "no element \(css)") }
        return id
    }

    func click(_ css: String) async throws { _ = try await command("POST", "element/\(try await element(css))/click", [:]) }

    /// Presses the mouse at the first point (offsets from the element's centre, in CSS pixels),
    /// moves through the others and releases: a stroke drawn as a user draws it.
    func stroke(on css: String, _ points: [(Int, Int)]) async throws {
        let origin: [String: Any] = ["element-6066-11e4-a52e-4f735466cecf": try await element(css)]
        var actions: [[String: Any]] = [["type": "pointerMove", "duration": 0, "origin": origin, "x": points[0].0, "y": points[0].1],
                                        ["type": "pointerDown", "button": 0]]
        for p in points.dropFirst() { actions.append(["type": "pointerMove", "duration": 40, "origin": origin, "x": p.0, "y": p.1]) }
        actions.append(["type": "pointerUp", "button": 0])
        _ = try await command("POST", "actions", ["actions": [["type": "pointer", "id": "mouse",
                                                               "parameters": ["pointerType": "mouse"], "actions": actions]]])
    }

    /// A PNG of the window.
    func screenshot() async throws -> Data {
        guard let text = try await command("GET", "screenshot") as? String, let data = Data(base64Encoded: text) else {
            throw Failure(description: "no screenshot")
        }
        return data
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        let reply = try await request(method, "/session/\(session)/\(path)", body)
        return reply
    }

    /// One WebDriver call: the reply's `value`, or its error as a `Failure`.
    private func request(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        if let body {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        let value = json?["value"]
        if response.status.code != 200 {
            let error = (value as? [String: Any]).map { "\($0["error"] ?? ""): \($0["message"] ?? "")" } ?? String(decoding: data, as: UTF8.self)
            throw Failure(description: "WebDriver \(method) \(path): \(response.status.code) \(error.prefix(300))")
        }
        return value is NSNull ? nil : value
    }

    /// A TCP port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
