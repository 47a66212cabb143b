import ArgumentParser
import DigitLab
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check runs made here against the committed record: reproduced or not, per case.",
        discussion: """
            For each case with finished runs under LOCAL/runs/ (make reproduce trains them into \
            results-local/), its test accuracy (the mean, with several seeds) against the interval \
            the record's seeds predict for that many new runs: seed spread plus the test set's \
            binomial noise, at 95% for all cases together (Bonferroni). Exit status 0 when every \
            case is inside, 3 when one is not, 1 on an error.
            """)

    @Option(help: ArgumentHelp("Results directory of the runs made here.", valueName: "dir"))
    var local: String = "results-local"

    @Option(help: ArgumentHelp("Results directory of the committed record.", valueName: "dir"))
    var record: String = "results"

    @Option(help: ArgumentHelp("Directory of the case specs.", valueName: "dir"))
    var experiments: String = "experiments"

    @Flag(help: "Count a case without local runs as not reproduced (default: check the cases that have them).")
    var all = false

    /// The exit status of a reproduction that does not reproduce.
    static let notReproduced: Int32 = 3

    func run() throws {
        let check: ReproductionCheck
        do {
            let specs = try Reproduction.caseSpecs(experimentsDirectory: experiments)
            check = try ReproductionCheck.check(specs: specs, localDirectory: local, recordDirectory: record, requireAll: all)
        } catch {
            fail(error)
        }
        print(check.text, terminator: "")
        if !check.reproduced { throw ExitCode(Self.notReproduced) }
    }
}
