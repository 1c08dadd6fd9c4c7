import VMInstallKit

/// The two requests scripts and GUIs make in loops, `--status ID` and `--list` (each with an
/// optional `--state-dir DIR`), answered without swift-argument-parser: its first parse costs
/// more than the request itself (about 2 ms of runtime reflection against 0.3 ms of work).
/// Anything else, including every malformed form, goes to the full parser, so errors and
/// help read the same either way.
enum JobsFastPath {
    enum Request: Equatable {
        case status(JobID, stateDir: String?)
        case list(stateDir: String?)
    }

    static func match(_ arguments: [String]) -> Request? {
        var rest = arguments[...]
        var stateDir: String?
        if rest.count >= 2, rest.first == "--state-dir", !rest[rest.startIndex + 1].hasPrefix("-") {
            stateDir = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        } else if rest.count >= 2, rest[rest.endIndex - 2] == "--state-dir", !rest.last!.hasPrefix("-") {
            stateDir = rest.last
            rest = rest.dropLast(2)
        }
        switch Array(rest) {
        case ["--list"]:
            return .list(stateDir: stateDir)
        case let a where a.count == 2 && a[0] == "--status":
            return JobID(parsing: a[1]).map { .status($0, stateDir: stateDir) }
        default:
            return nil
        }
    }

    static func run(_ request: Request) throws(VMInstallError) {
        switch request {
        case .list(let dir):
            let ids = try JobStore(StateDirectory.locate(option: dir)).listIDs()
            if !ids.isEmpty {
                FileDescriptorOutput.standardOutput(ids.map(\.description).joined(separator: "\n") + "\n")
            }
        case .status(let id, let dir):
            let control = JobControl(store: JobStore(StateDirectory.locate(option: dir)))
            JobsOutput.status(try control.status(id), json: false, control: control)
        }
    }
}
