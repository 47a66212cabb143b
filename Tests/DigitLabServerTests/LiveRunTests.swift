import DigitLabTestSupport
import DigitLab
import DigitLabServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A real run under way, as the server sees it: `digitlab run` writes progress.json as it trains,
/// the run is listed as running with its epoch, batch and ETA, and once stopped it is interrupted.
/// A thousand epochs, so that it cannot finish before it is stopped, however late the polling
/// (`make test` runs the server's suites on their own, so no long synchronous test holds the
/// concurrency pool's threads meanwhile; a first version with 20 epochs finished unseen).
@Suite("Server: a live run")
struct LiveRunTests {
    @Test("a training run shows as running with epoch, batch and ETA; after Ctrl-C it is interrupted")
    func liveRun() async throws {
        let configuration = try ServerFixture.results("live")
        let app = Application(router: DigitLabServer.router(configuration))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.tool)
        process.arguments = ["run", "experiments/smoke.yaml", "--epochs", "1000", "--out", configuration.results,
                             "--data", TestPaths.mnist, "--threads", "1"]
        process.currentDirectoryURL = URL(fileURLWithPath: TestPaths.root)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let id = "runs/smoke+epochs=1000/seed-0"
        try await app.test(.router) { client in
            // Wait (up to five minutes on a loaded machine) for the run to pass its first reports.
            var seen: [String: Any] = [:]
            for _ in 0..<600 where process.isRunning {
                try await Task.sleep(for: .milliseconds(500))
                let r = try await client.execute(uri: "/api/progress/\(id)", method: .get)
                guard r.status == .ok, let j = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any],
                      let p = j["progress"] as? [String: Any], (p["batch"] as? Int ?? 0) > 25 else { continue }
                seen = j
                break
            }
            #expect(seen["status"] as? String == "running", "\(seen)")
            let p = try #require(seen["progress"] as? [String: Any])
            #expect(p["epochs"] as? Int == 1000 && p["batches"] as? Int == 313, "\(p)")
            #expect((p["etaSeconds"] as? Double ?? 0) > 0)
            try await client.execute(uri: "/runs?status=running", method: .get) { r in
                #expect(String(buffer: r.body).contains("smoke+epochs=1000"))
            }
            try await client.execute(uri: "/run/\(id)", method: .get) { r in
                let page = String(buffer: r.body)
                #expect(page.contains("id=\"live\"") && page.contains("id=\"live-eta\""))
            }
            kill(process.processIdentifier, SIGINT)
            for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            #expect(process.terminationStatus == 130)
            try await client.execute(uri: "/api/progress/\(id)", method: .get) { r in
                let j = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
                #expect(j["status"] as? String == "interrupted")
                #expect((j["progress"] as? [String: Any])?["state"] as? String == "interrupted")
            }
            try await client.execute(uri: "/run/\(id)", method: .get) { r in #expect(!String(buffer: r.body).contains("id=\"live\"")) }
        }
    }
}
