/// Exit codes of vm-install, which are also the `exit` values of jobs. Documented in vm-install(8).
public enum JobExitCode: Int32, Sendable, CaseIterable {
    case success = 0
    case internalError = 1
    case usage = 2
    case settings = 3
    case host = 4
    case disk = 5
    case installFailed = 6
    case installTimedOut = 7
    case runtimeFailed = 8
    case stateDirectory = 9
    case canceled = 10
    case runnerDied = 11
    case installStalled = 12

    public init(for kind: VMInstallError.Kind) {
        switch kind {
        case .usage: self = .usage
        case .settings: self = .settings
        case .host: self = .host
        case .disk: self = .disk
        case .installFailed: self = .installFailed
        case .installTimedOut: self = .installTimedOut
        case .runtimeFailed: self = .runtimeFailed
        case .stateDirectory: self = .stateDirectory
        case .canceled: self = .canceled
        case .runnerDied: self = .runnerDied
        case .installStalled: self = .installStalled
        case .noSuchJob, .wrongState, .damagedJob, .requestFailed, .noScreen, .internal: self = .internalError
        }
    }
}

/// Exit codes of vm-install-jobs: whether the management request worked, not how the job ended.
/// Documented in vm-install-jobs(8).
public enum JobsToolExitCode: Int32, Sendable, CaseIterable {
    case success = 0
    case requestFailed = 1
    case usage = 2
    case noSuchJob = 3
    case wrongState = 4
    case damagedJob = 5
    /// --wait: the job ended in FAILED.
    case waitFailed = 6
    /// --wait: the job ended in CANCELED.
    case waitCanceled = 7
    /// --wait: the timeout passed first.
    case waitTimedOut = 8
    /// --wait --until: the job FINISHED without being in the awaited state.
    case waitEndedElsewhere = 9
    /// --screenshot: the VM has no screen (no VNC console, so no display device).
    case noScreen = 10

    public init(for kind: VMInstallError.Kind) {
        switch kind {
        case .usage: self = .usage
        case .noSuchJob: self = .noSuchJob
        case .wrongState: self = .wrongState
        case .damagedJob: self = .damagedJob
        case .noScreen: self = .noScreen
        default: self = .requestFailed
        }
    }
}
