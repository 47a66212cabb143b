import DigitLab
import DigitLabServer
import DigitLabTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The pages in a real browser: Debian's headless Chromium, driven through chromedriver, against
/// the server on a loopback port. Screenshots go to `.build/browser-screenshots/` to look at.
/// Skipped, saying so, where chromium and chromium-driver are not installed (`make setup`
/// installs them).
@Suite("Server pages in a headless browser", .engineThreads,
       .enabled(if: WebDriver.available, "chromium and chromium-driver are not installed (make setup installs them); browser test skipped"))
struct BrowserTests {
    static let screenshots = TestPaths.root + "/.build/browser-screenshots"

    func save(_ browser: WebDriver, _ name: String) async throws {
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        try await browser.screenshot().write(to: URL(fileURLWithPath: "\(Self.screenshots)/\(name).png"))
    }

    @Test("the study's table and curves, a run's page, a digit drawn on the canvas read by the model, and a number in number mode")
    func pages() async throws {
        var configuration = try ServerFixture.results("browser")
        configuration.port = 0
        let app = Application(router: DigitLabServer.router(configuration),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let site = "http://127.0.0.1:\(try #require(client.port))"
            let browser = try await WebDriver()
            do {
                try await checkPages(browser, site)
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    func checkPages(_ browser: WebDriver, _ site: String) async throws {
        // The study: eight rows, the paper's flags, the curve chart drawn; ticking a case redraws it.
        try await browser.open(site + "/")
        #expect(try await browser.run("return document.querySelectorAll('#reproduction tbody tr').length") as? Int == 8)
        #expect(try await browser.run("return document.querySelectorAll('#reproduction .flag').length") as? Int ?? 0 > 10)
        #expect(try await browser.waitUntil("var i = document.getElementById('curves-chart'); return i.complete && i.naturalWidth > 0"))
        try await browser.click("input[name=case][value=case7]")
        #expect(try await browser.waitUntil("return document.getElementById('curves-chart').src.indexOf('case7') > 0"))
        #expect(try await browser.waitUntil("var i = document.getElementById('curves-chart'); return i.complete && i.naturalWidth > 0"))
        try await save(browser, "study")

        // A run's page: its twenty epochs, both charts, its resolved spec.
        try await browser.open(site + "/run/runs/case7/seed-0")
        #expect(try await browser.run("return document.querySelectorAll('#history tbody tr').length") as? Int == 20)
        #expect(try await browser.run("return document.querySelectorAll('main svg').length") as? Int == 2)
        #expect((try await browser.run("return document.getElementById('spec').textContent") as? String ?? "").contains("name: case7"))
        try await save(browser, "run")

        // The runs list, filtered as a user would: choose a status and submit.
        try await browser.open(site + "/runs?spec=case3")
        #expect(try await browser.run("return document.querySelectorAll('#runs tbody tr').length") as? Int ?? 0 >= 3)

        // Try the model: a "1" and then a "7" drawn with the mouse, read by the shipped model.
        try await browser.open(site + "/try")
        try await browser.stroke(on: "#pad", [(5, -95), (3, -40), (0, 20), (-2, 95)])
        #expect(try await browser.waitUntil("return document.getElementById('digit-mnist').textContent !== '?'"))
        #expect(try await browser.run("return document.getElementById('digit-mnist').textContent") as? String == "1")
        #expect(try await browser.run("return document.querySelectorAll('#probs-mnist tr').length") as? Int == 10)
        try await browser.click("#clear")
        #expect(try await browser.run("return document.getElementById('digit-mnist').textContent") as? String == "?")
        try await browser.stroke(on: "#pad", [(-70, -80), (0, -82), (70, -80), (40, -20), (10, 40), (-10, 95)])
        #expect(try await browser.waitUntil("return document.getElementById('digit-mnist').textContent !== '?'"))
        #expect(try await browser.run("return document.getElementById('digit-mnist').textContent") as? String == "7")
        // What the model saw is drawn: the 28x28 input has white pixels.
        #expect(try await browser.run("""
            var d = document.getElementById('input-mnist').getContext('2d').getImageData(0, 0, 28, 28).data, n = 0;
            for (var i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n;
            """) as? Int ?? 0 > 20)
        try await save(browser, "try")

        // Number mode: a wider pad; the first three MNIST test digits (7, 2, 1, which the shipped
        // model reads right) painted on it side by side at 6.4 times their size, then read.
        let digits = try ServerFixture.testImages(3)
        try await browser.click("#number-mode")
        #expect(try await browser.run("return [document.getElementById('pad').width, document.getElementById('pad').height]") as? [Int] == [700, 200])
        #expect(try await browser.run("return document.getElementById('result-mnist').hidden && !document.getElementById('result-number').hidden") as? Bool == true)
        _ = try await browser.run("""
            var pad = document.getElementById('pad'), ctx = pad.getContext('2d');
            var square = document.createElement('canvas'); square.width = 28; square.height = 28;
            var s = square.getContext('2d'), img = s.createImageData(28, 28);
            arguments[0].forEach(function(pixels, k){
              for (var i = 0; i < 784; i++) { img.data[4*i] = img.data[4*i+1] = img.data[4*i+2] = pixels[i]; img.data[4*i+3] = 255; }
              s.putImageData(img, 0, 0);
              ctx.drawImage(square, 40 + 210 * k, 10, 180, 180);
            });
            """, [digits.map { $0.pixels.map(Int.init) }])
        try await browser.click("#read")
        #expect(try await browser.waitUntil("return document.getElementById('number').textContent !== '?'"))
        let label = digits.map { String($0.label) }.joined()
        #expect(label == "721")
        #expect(try await browser.run("return document.getElementById('number').textContent") as? String == label)
        // Each digit's 28x28 input is drawn, with its probability.
        #expect(try await browser.run("""
            return Array.prototype.map.call(document.querySelectorAll('#number-digits canvas'), function(c){
              var d = c.getContext('2d').getImageData(0, 0, 28, 28).data, n = 0;
              for (var i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n > 20; });
            """) as? [Bool] == [true, true, true])
        #expect((try await browser.run("return document.getElementById('number-digits').textContent") as? String ?? "").contains("%"))
        // Scrolled to the model chooser, so the screenshot holds the pad and every digit's line.
        _ = try await browser.run("document.getElementById('model-form').scrollIntoView()")
        try await save(browser, "try-number")
        _ = try await browser.run("window.scrollTo(0, 0)")
        // Clearing empties the number; a blank pad read says so in one line.
        try await browser.click("#clear")
        #expect(try await browser.run("return document.getElementById('number').textContent") as? String == "?")
        try await browser.click("#read")
        #expect(try await browser.waitUntil("return document.getElementById('error').textContent.indexOf('found no digit') >= 0"))
    }
}
