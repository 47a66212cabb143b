/// A problem in an experiment spec: the file, the line when known, the key path, and what was
/// expected. Printed as one line: `experiments/case1.yaml:12: training.epoch: unknown key ...`.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let key: String
    public let problem: String

    public init(file: String, line: Int? = nil, key: String, problem: String) {
        self.file = file; self.line = line; self.key = key; self.problem = problem
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(problem)" : "\(location): \(key): \(problem)"
    }
}
