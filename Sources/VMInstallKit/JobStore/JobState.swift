/// The job state machine: the manual's nine states, which moves between them are legal,
/// and which management requests each state accepts. Everything that changes a job's state
/// goes through `JobStore.update`, which enforces `canMove(to:)`.
public enum JobState: Int, CaseIterable, Sendable, CustomStringConvertible {
    case settings = 0
    case prepInstall = 1
    case install = 2
    case postInstall = 3
    case runtimeConf = 4
    case runtime = 5
    case finished = 6
    case failed = 7
    case canceled = 8

    public var name: String {
        switch self {
        case .settings: "SETTINGS"
        case .prepInstall: "PREP_INSTALL"
        case .install: "INSTALL"
        case .postInstall: "POST_INSTALL"
        case .runtimeConf: "RUNTIME_CONF"
        case .runtime: "RUNTIME"
        case .finished: "FINISHED"
        case .failed: "FAILED"
        case .canceled: "CANCELED"
        }
    }

    public var description: String { "\(rawValue) (\(name))" }

    public var isTerminal: Bool { self == .finished || self == .failed || self == .canceled }

    /// Normal progression only goes forward (a phase may be skipped, never repeated);
    /// any unfinished job may fail or be canceled; a terminal state is final.
    public func canMove(to next: JobState) -> Bool {
        if isTerminal { return false }
        switch next {
        case .failed, .canceled: return true
        default: return next.rawValue > rawValue
        }
    }
}

/// What vm-install-jobs can be asked to do with one job.
public enum JobRequest: String, CaseIterable, Sendable {
    case status
    case cancel
    case delete
    case detach

    /// The table of which states accept which request: the manual, as data.
    public static let allowedStates: [JobRequest: Set<JobState>] = [
        .status: Set(JobState.allCases),
        .cancel: Set(JobState.allCases.filter { !$0.isTerminal }),
        .delete: [.finished, .failed, .canceled],
        .detach: [.finished],
    ]

    public var allowedStates: Set<JobState> { Self.allowedStates[self] ?? [] }

    public func isAllowed(in state: JobState) -> Bool { allowedStates.contains(state) }

    /// The refusal for a request the state does not accept: names both sides.
    public func refusal(job: JobID, state: JobState) -> VMInstallError {
        let needed = allowedStates.sorted { $0.rawValue < $1.rawValue }.map(\.name)
        let list = needed.count == 1 ? needed[0] : needed.dropLast().joined(separator: ", ") + " or " + needed.last!
        return VMInstallError(
            .wrongState,
            "cannot \(rawValue) job \(job): it is in state \(state.rawValue) (\(state.name)); --\(rawValue) needs \(list)"
        )
    }
}
