import Glibc

extension JobControl {
    /// The states in which a job's VM runs: the install VM in INSTALL, the installed VM in
    /// RUNTIME and once FINISHED.
    static let statesWithARunningVM: [JobState] = [.install, .runtime, .finished]

    /// `--screenshot ID [FILE]`: writes a PNG of the screen of the job's running VM and returns
    /// the absolute path written. Without FILE, or with a directory, the file is named after
    /// the VM and the local time, as NAME-YYYYMMDD-HHMMSS.png, in the current directory or in
    /// that directory.
    public func screenshot(_ id: JobID, to file: String?) throws(VMInstallError) -> String {
        let state = try status(id).state
        let record = try store.read(id)
        guard Self.statesWithARunningVM.contains(state), let files = ownedVMFiles(record) else {
            let states = Self.statesWithARunningVM.map(\.description)
            throw VMInstallError(
                .wrongState,
                "cannot take a screenshot of job \(id): it is in state \(state), and its VM runs only in states \(states[0]), \(states[1]) and \(states[2])"
            )
        }
        let generated = "\(record.name)-\(Timestamp.compactLocal(seconds: Int64(time(nil)))).png"
        var path = StateDirectory.absolute(file ?? generated)
        if file != nil, FileIO.isDirectory(path) { path += path.hasSuffix("/") ? generated : "/\(generated)" }
        do { try driver(id).screenshot(files: files, to: path) } catch {
            switch error.kind {
            case .wrongState:
                throw VMInstallError(
                    .wrongState,
                    "cannot take a screenshot of job \(id): its VM is not running (the job is in state \(state))")
            case .noScreen:
                throw VMInstallError(.noScreen, "cannot take a screenshot of job \(id): \(error.message)")
            default:
                throw VMInstallError(.requestFailed, "cannot take a screenshot of job \(id): \(error.message)")
            }
        }
        return path
    }
}
