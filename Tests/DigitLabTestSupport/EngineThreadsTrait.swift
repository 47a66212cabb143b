import DigitLabEngine
import Testing

/// The engine's thread count is process-global. The numbers do not depend on it, but which threads
/// exist does (and a ZCA fit reconfigures OpenBLAS), and Swift Testing runs the tests of different
/// suites at the same time, in one process. Tests that compute therefore run under
/// `.engineThreads`: the count is set once, to `TestEngine.threads`, before any of them starts,
/// and checked unchanged after each. Only a test that runs alone (`.engineThreads(alone: true)`)
/// may set another, and puts it back before it leaves (`ThreadCountTests`, which checks that one
/// thread computes what several do); the command-line tool runs in processes of its own.
public enum TestEngine {
    /// Two, as on the project's machines and in CI; on one core the two threads take turns.
    public static let threads = 2

    /// Sets the count, once per process (a lazy global is initialised exactly once, whichever
    /// thread gets there first; setting it from several threads at once would race).
    private static let pinned: Void = { EngineThreads.count = threads }()

    /// Pins the count; for fixtures that train before a test's trait has run.
    public static func pin() { _ = pinned }
}

/// Admits tests that use the engine: many at once, or one alone. ZCA whitening's fit gives
/// OpenBLAS the engine's threads for its LAPACK work and takes them back after; an OpenBLAS
/// product running in another test meanwhile could be split over threads it does not own
/// (reconfiguring OpenBLAS during a product corrupted it, see `EngineThreads.count`), so such a
/// test runs with no other engine test beside it. First come, first served: a test that must
/// run alone waits for those running, and those arriving after it wait for it.
actor EngineGate {
    static let shared = EngineGate()
    private var running = 0
    private var alone = false
    private var queue: [(alone: Bool, admit: CheckedContinuation<Void, Never>)] = []

    private func admissible(_ wantsAlone: Bool) -> Bool { wantsAlone ? running == 0 && !alone : !alone }

    private func admit(_ wantsAlone: Bool) { if wantsAlone { alone = true } else { running += 1 } }

    func enter(alone wantsAlone: Bool) async {
        if queue.isEmpty && admissible(wantsAlone) { admit(wantsAlone); return }
        await withCheckedContinuation { queue.append((wantsAlone, $0)) }
    }

    func leave(alone wasAlone: Bool) {
        if wasAlone { alone = false } else { running -= 1 }
        while let next = queue.first, admissible(next.alone) {
            queue.removeFirst()
            admit(next.alone)
            next.admit.resume()
        }
    }
}

/// Runs each test (each case of a parameterized one) with the engine's thread count pinned to
/// `TestEngine.threads`, beside other engine tests or, with `.engineThreads(alone: true)`, alone.
public struct EngineThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    let alone: Bool
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        TestEngine.pin()
        await EngineGate.shared.enter(alone: alone)
        // Checked before leaving the gate: once out, a test that runs alone may be setting the count.
        func checkCount() {
            #expect(EngineThreads.count == TestEngine.threads,
                    "the test changed the engine's thread count to \(EngineThreads.count); tests beside it computed with that")
        }
        do {
            try await function()
        } catch {
            checkCount()
            await EngineGate.shared.leave(alone: alone)
            throw error
        }
        checkCount()
        await EngineGate.shared.leave(alone: alone)
    }
}

extension Trait where Self == EngineThreadsTrait {
    /// The engine's thread count pinned (see `TestEngine`), beside other engine tests.
    public static var engineThreads: Self { EngineThreadsTrait(alone: false) }

    /// The engine's thread count pinned, and no other engine test running meanwhile: for tests
    /// that reconfigure OpenBLAS (a ZCA fit).
    public static func engineThreads(alone: Bool) -> Self { EngineThreadsTrait(alone: alone) }
}
