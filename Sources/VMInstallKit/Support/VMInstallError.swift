/// A failure a user can act on. `kind` decides the exit code; `message` is the one line shown.
public struct VMInstallError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The command line is wrong; nothing was created.
        case usage
        /// The VM's settings cannot be used (name taken, disk spec, source missing).
        case settings
        /// The host cannot run the VM (QEMU missing, KVM unusable, QEMU refused to start).
        case host
        /// A disk could not be created.
        case disk
        /// The install VM ended without the guest powering off or rebooting.
        case installFailed
        /// The install ran longer than its timeout.
        case installTimedOut
        /// The install VM showed no activity (disk writes, screen, serial output) for the
        /// stall timeout.
        case installStalled
        /// The runtime VM did not start or did not stay running.
        case runtimeFailed
        /// The state directory could not be read or written.
        case stateDirectory
        /// The job was canceled.
        case canceled
        /// The job's runner ended without recording an end.
        case runnerDied
        /// The job id names no job.
        case noSuchJob
        /// The request is not allowed in the job's current state.
        case wrongState
        /// The job's files are damaged or unreadable.
        case damagedJob
        /// A management request failed while being carried out.
        case requestFailed
        /// The VM has no screen to take a screenshot of.
        case noScreen
        /// A bug: something that should not happen.
        case `internal`
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
