import DigitLabTestSupport
import DigitLab
import Foundation
import Testing

/// The command-line tool as a user runs it: errors are one line naming the problem, exit non-zero
/// and leave no partial results; the smoke run agrees with the golden summary, and a broken
/// change (a wrong learning rate) fails the same diff.
@Suite("Command line", .serialized)
struct CLITests {
    static let goldenColumns = ["--columns", "min_train_acc", "max_train_acc", "test_acc"]

    /// Each subcommand and the options its --help must describe (the README's tour of the commands
    /// names them); a subcommand missing from `digitlab --help`, or an option missing from its
    /// help or described by nothing, fails.
    static let subcommandOptions: [String: [String]] = [
        "run": ["--epochs", "--limit", "--seed", "--set", "--resume", "--task", "--shard", "--seeds", "--threads", "--jobs", "--data", "--out"],
        "reproduce": ["--seeds", "--experiments", "--cases", "--threads", "--jobs", "--data", "--out"],
        "report": ["--seeds", "--name", "--experiments", "--out"],
        "compare": ["--experiments", "--out", "--json", "--column", "--resamples", "--bootstrap-seed", "--method"],
        "verify": ["--local", "--record", "--experiments", "--all"],
        "plan": ["--seeds", "--json", "--count", "--pending", "--out"],
        "sweep": ["--slurm", "--partition", "--time", "--cpus-per-task", "--mem", "--array-parallelism", "--signal-seconds",
                  "--threads", "--dry-run", "--data", "--out"],
        "diff": ["--tolerance", "--columns"],
        "bench": ["--epochs", "--repeats", "--cases", "--inference-only", "--data", "--out"],
        "blas": ["--core-type"],
        "spec-keys": [],
        "predict": ["--model", "--pipeline", "--json", "--save-preprocessed"],
        "evaluate": ["--model", "--data", "--out"],
        "make-photos": ["--count", "--seed", "--data", "--out"],
    ]

    /// The options a --help text lists, each with whether a description goes with it (on its line,
    /// or on the next, indented, when the name fills the column).
    static func describedOptions(_ help: String) -> [String: Bool] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("OPTIONS:") }) else { return [:] }
        var options: [String: Bool] = [:]
        for i in (start + 1)..<lines.count {
            let line = lines[i]
            guard line.hasPrefix("  -") else { continue }
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let name = words.first(where: { $0.hasPrefix("--") }) else { continue }
            // Names ("-h," "--help"), a value placeholder ("<dir>"), then the description, if any
            // (after a single space when the name fills its column).
            let sameLine = words.contains { !$0.hasPrefix("-") && !$0.hasPrefix("<") }
            let nextLine = i + 1 < lines.count && lines[i + 1].hasPrefix(String(repeating: " ", count: 20))
                && !lines[i + 1].trimmingCharacters(in: .whitespaces).isEmpty
            options[String(name.trimmingCharacters(in: CharacterSet(charactersIn: ",")))] = sameLine || nextLine
        }
        return options
    }

    @Test("--help lists every subcommand, and each subcommand's --help describes each of its options")
    func help() throws {
        let top = try runTool(["--help"])
        #expect(top.status == 0)
        let section = try #require(top.stdout.range(of: "SUBCOMMANDS:"), "digitlab --help lists no subcommands:\n\(top.stdout)")
        let listed = top.stdout[section.upperBound...].split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }.filter { $0.first?.isLetter == true && $0 != "See" }
        for command in Self.subcommandOptions.keys.sorted() {
            #expect(listed.contains(command), "digitlab --help does not list \(command): \(listed)")
        }
        for command in listed {
            let r = try runTool([command, "--help"])
            #expect(r.status == 0, "\(command) --help")
            #expect(r.stdout.contains("USAGE: digitlab \(command)"), "\(command) --help prints its usage:\n\(r.stdout)")
            let options = Self.describedOptions(r.stdout)
            #expect(options["--help"] == true, "\(command) --help lists no options section:\n\(r.stdout)")
            for (option, described) in options {
                #expect(described, "\(command) --help: \(option) has no description")
            }
            for option in Self.subcommandOptions[command] ?? [] {
                #expect(options[option] != nil, "\(command) --help does not describe \(option):\n\(r.stdout)")
            }
        }
    }

    /// The kernels' width is the build's (see DirectConvTests); which build `make` makes is the
    /// Makefile's rule, checked here against the CPU's flags.
    @Test("make builds for AVX-512, with DIGITLAB_AVX512, exactly where /proc/cpuinfo has AVX-512 (and FMA)")
    func makeFollowsTheCPU() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }, "/proc/cpuinfo has no flags line")
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "fma"].allSatisfy(flags.contains)
        // The Makefile's defaults, whatever CPU= this suite was built with.
        let r = try runTool(["-c", "env -u CPU -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -n build"], executable: "/bin/bash")
        #expect(r.status == 0, "\(r.stderr)")
        let build = try #require(r.stdout.split(separator: "\n").first { $0.contains(" build ") && $0.contains("-c release") },
                                 "make -n build printed no swift build:\n\(r.stdout)")
        #expect(build.contains("-DDIGITLAB_AVX512") == avx512, "CPU flags \(avx512 ? "have" : "lack") AVX-512: \(build)")
        #expect(build.contains("skylake-avx512") == avx512, "\(build)")
        #expect(build.contains("-DDIGITLAB_FMA") == (flags.contains("fma") && build.contains("-target-cpu")), "\(build)")
    }

    /// The README's example of a relative data directory: the Makefile makes it absolute before
    /// anything uses it, given on the command line or in the environment (issue 22).
    @Test("make takes a relative DIGITLAB_DATA as relative to the top directory and makes it absolute")
    func makeDataAbsolute() throws {
        let parent = URL(fileURLWithPath: TestPaths.root).deletingLastPathComponent().path
        let make = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL"
        let argument = try runTool(["-c", "\(make) -u DIGITLAB_DATA make --no-print-directory help DIGITLAB_DATA=../elsewhere/mnist"],
                                   executable: "/bin/bash")
        #expect(argument.status == 0 && argument.stdout.contains("(now: \(parent)/elsewhere/mnist)"), "\(argument.stdout)\(argument.stderr)")
        let environment = try runTool(["-c", "\(make) DIGITLAB_DATA=data/../other make --no-print-directory help"], executable: "/bin/bash")
        #expect(environment.stdout.contains("(now: \(TestPaths.root)/other)"), "\(environment.stdout)\(environment.stderr)")
        let unset = try runTool(["-c", "\(make) -u DIGITLAB_DATA make --no-print-directory help"], executable: "/bin/bash")
        #expect(unset.stdout.contains("(now: \(TestPaths.root)/data/mnist)"), "\(unset.stdout)\(unset.stderr)")
    }

    /// A Slurm job given one CPU on a machine with more must use one: OpenBLAS too, which on its
    /// own starts a thread per CPU it sees.
    @Test("a run given one CPU uses one thread, OpenBLAS's included")
    func oneCPUOneThread() throws {
        let r = try runTool(["blas"], environment: ["SLURM_CPUS_PER_TASK": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("a run uses 1 engine thread ") && r.stdout.contains("each OpenBLAS call 1 thread"), "\(r.stdout)")
        let all = try runTool(["blas"], environment: ["SLURM_CPUS_PER_TASK": "", "SLURM_JOB_CPUS_PER_NODE": ""])
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(all.stdout.contains("a run uses \(cores) engine thread") && all.stdout.contains("each OpenBLAS call 1 thread"), "\(all.stdout)")
    }

    @Test("a spec with a misspelt key: one-line error naming file, line and key; exit 1; nothing written")
    func misspeltSpec() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        try FileManager.default.copyItem(atPath: TestPaths.root + "/experiments/base.yaml", toPath: dir + "/base.yaml")
        try "extends: base.yaml\nname: typo\ntraining:\n  epochz: 1\n".write(toFile: dir + "/typo.yaml", atomically: true, encoding: .utf8)
        let r = try runTool(["run", dir + "/typo.yaml", "--data", TestPaths.mnist, "--out", dir + "/results"])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("typo.yaml:4") && r.stderr.contains("training.epochz") && r.stderr.contains("training.epochs"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/results"))
    }

    @Test("a truncated IDX file: one-line error naming it; exit 1; nothing written")
    func truncatedData() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let data = dir + "/mnist"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for name in ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: TestPaths.mnist + "/" + name, toPath: data + "/" + name)
        }
        let images = try Data(contentsOf: URL(fileURLWithPath: TestPaths.mnist + "/train-images-idx3-ubyte.gz"))
        try images.prefix(images.count / 3).write(to: URL(fileURLWithPath: data + "/train-images-idx3-ubyte.gz"))
        let r = try runTool(["run", "experiments/smoke.yaml", "--data", data, "--out", dir + "/results"])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("train-images-idx3-ubyte.gz") && r.stderr.contains("truncated"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/results"))
    }

    @Test("the smoke run matches the golden summary; a wrong learning rate fails the same diff")
    func goldenDiff() throws {
        let dir = TestPaths.temporaryDirectory("cli")
        let golden = TestPaths.root + "/results/golden/smoke-summary.csv"
        let good = try runTool(["run", "experiments/smoke.yaml", "--data", TestPaths.mnist, "--out", dir])
        #expect(good.status == 0, "smoke run failed: \(good.stderr)")
        // Its last line gives the run's own peak memory, which `bench` reads from it.
        let peak = ProcessMemory.peakResidentMB(in: good.stdout) ?? 0
        #expect(peak > 10 && peak < 2000, "no plausible peak memory in the run's output:\n\(good.stdout)")
        let ok = try runTool(["diff", golden, dir + "/runs/smoke/seed-0/summary.csv", "--tolerance", "1"] + Self.goldenColumns)
        #expect(ok.status == 0, "the smoke run should match the golden summary:\n\(ok.stdout)")

        let bad = try runTool(["run", "experiments/smoke.yaml", "--set", "optimizer.learning_rate=0.003",
                               "--data", TestPaths.mnist, "--out", dir])
        #expect(bad.status == 0, "smoke run with a wrong learning rate failed: \(bad.stderr)")
        let caught = try runTool(["diff", golden, dir + "/runs/smoke+optimizer.learning_rate=0.003/seed-0/summary.csv",
                                  "--tolerance", "1"] + Self.goldenColumns)
        #expect(caught.status == 1, "a learning rate 3x too high must fail the golden diff:\n\(caught.stdout)")
        #expect(caught.stdout.contains("OUT OF TOLERANCE"))

        let unreadable = try runTool(["diff", golden, dir + "/no-such.csv"])
        #expect(unreadable.status == 2)
    }

    /// The quick run (TrustTests.quick: case 7 on 2,000 images, 63 batches an epoch, 3 epochs),
    /// stopped by Ctrl-C after batch 26 of epoch 2: the tool sends itself SIGINT there
    /// (`DIGITLAB_INTERRUPT_AT`), through the handler a user's Ctrl-C takes, so the stop lands mid-epoch
    /// on any machine however fast. Returns the run's directory.
    static func interruptedQuickRun(_ dir: String, threads: [String] = []) throws -> String {
        let stopped = try runTool(TrustTests.quick + threads + ["--out", dir], environment: ["DIGITLAB_INTERRUPT_AT": "2:26"])
        #expect(stopped.status == 130, "stderr: \(stopped.stderr)")
        #expect(stopped.stderr.contains("stopped: interrupted in epoch 2 after 26 batches; progress saved. Resume with: digitlab run experiments/smoke.yaml")
                && stopped.stderr.contains("--resume"), "\(stopped.stderr)")
        let run = dir + "/" + TrustTests.quickRun
        #expect(!FileManager.default.fileExists(atPath: run + "/summary.csv"), "no summary for an unfinished run")
        #expect(!FileManager.default.fileExists(atPath: run + "/model.safetensors"), "no model for an unfinished run")
        // Mid-epoch: one epoch done, and the checkpoint holds the second's place and order.
        let (state, _) = try Checkpoint.load(path: run + "/checkpoint.safetensors")
        #expect(state.history.epochs.count == 1)
        let pending = try #require(state.pendingEpoch, "the checkpoint holds no interrupted epoch")
        #expect(pending.nextBatch == 26 && pending.seen == 26 * 32 && pending.order.count == 2000, "\(pending.nextBatch), \(pending.seen)")
        #expect(try History.read(path: run + "/history.csv").epochs.count == 1)
        return run
    }

    @Test("Ctrl-C mid-epoch stops at the next batch, saves, says how to resume; the resumed run's history.csv and model.safetensors are byte for byte the uninterrupted run's")
    func interruptAndResume() throws {
        let reference = try TrustTests.reference.get() + "/" + TrustTests.quickRun
        let dir = TestPaths.temporaryDirectory("cli-interrupt")
        let run = try Self.interruptedQuickRun(dir)

        let resumed = try runTool(TrustTests.quick + ["--out", dir, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("(resuming after epoch 1)"), "\(resumed.stdout)")
        for file in ["history.csv", "model.safetensors"] {
            let ours = try #require(FileManager.default.contents(atPath: run + "/" + file), "\(file) missing")
            #expect(ours == FileManager.default.contents(atPath: reference + "/" + file),
                    "\(file) of the interrupted and resumed run differs from the uninterrupted run's")
        }
    }

    @Test("a run stopped on one engine thread resumes on two: its history.csv and model.safetensors are byte for byte those of the uninterrupted run on one thread and on the default count")
    func resumeWithAnotherThreadCount() throws {
        let dir = TestPaths.temporaryDirectory("cli-threads")
        let run = try Self.interruptedQuickRun(dir, threads: ["--threads", "1"])
        #expect(try Checkpoint.load(path: run + "/checkpoint.safetensors").state.engineThreads == 1)

        // The numbers do not depend on the thread count, so this is the same run, resumed.
        let resumed = try runTool(TrustTests.quick + ["--threads", "2", "--out", dir, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("(resuming after epoch 1)"), "\(resumed.stdout)")
        let whole = TestPaths.temporaryDirectory("cli-threads-whole")
        let uninterrupted = try runTool(TrustTests.quick + ["--threads", "1", "--out", whole])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let reference = try TrustTests.reference.get() + "/" + TrustTests.quickRun
        for file in ["history.csv", "model.safetensors"] {
            let ours = try #require(FileManager.default.contents(atPath: run + "/" + file), "\(file) missing")
            #expect(ours == FileManager.default.contents(atPath: whole + "/" + TrustTests.quickRun + "/" + file),
                    "\(file) of the run stopped on one thread and resumed on two differs from the uninterrupted run on one thread")
            #expect(ours == FileManager.default.contents(atPath: reference + "/" + file),
                    "\(file) of the run stopped on one thread and resumed on two differs from the uninterrupted run on \(Runner.defaultThreads)")
        }
    }

    @Test("an MNIST file with the right size and a wrong checksum: one line naming it, both checksums; exit 1; nothing written")
    func checksumMismatch() throws {
        let dir = TestPaths.temporaryDirectory("cli-checksum")
        let data = dir + "/mnist"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for name in ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try FileManager.default.createSymbolicLink(atPath: data + "/" + name, withDestinationPath: TestPaths.mnist + "/" + name)
        }
        // The training labels, uncompressed, with the first label changed: a well-formed IDX file.
        let labels = data + "/train-labels-idx1-ubyte"
        let unzip = try runTool(["-c", "gzip -dc '\(TestPaths.mnist)/train-labels-idx1-ubyte.gz' > '\(labels)'"], executable: "/bin/bash")
        try #require(unzip.status == 0, "\(unzip.stderr)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: labels))
        try #require(bytes.count == 60_008)
        bytes[8] = (bytes[8] + 1) % 10
        try bytes.write(to: URL(fileURLWithPath: labels))

        let r = try runTool(["run", "experiments/smoke.yaml", "--data", data, "--out", dir + "/results"])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: \(labels): checksum mismatch: MD5 of the uncompressed data is ")
                && r.stderr.contains("expected \(DatasetFiles.mnist.trainLabels.md5)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/results"))
    }
}
