import VMInstallKit

/// `--log ID [--follow]`.
enum JobsLog {
    static func run(_ id: JobID, follow: Bool, control: JobControl) throws(VMInstallError) {
        try LogFollower(control: control).copy(id, follow: follow, to: 1)
    }
}
