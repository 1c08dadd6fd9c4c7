/// Where one job's files live: STATE/jobs/ID/.
public struct JobPaths: Sendable {
    public let directory: String

    public init(jobsDirectory: String, id: JobID) {
        directory = "\(jobsDirectory)/\(id)"
    }

    init(directory: String) {
        self.directory = directory
    }

    /// The job record, replaced atomically on every change.
    public var record: String { "\(directory)/job" }
    /// The inotify file: the state number, rewritten in place on every state change.
    public var inotify: String { "\(directory)/state" }
    public var log: String { "\(directory)/log" }
    /// The VM's settings as given on the command line, read by the runner.
    public var settings: String { "\(directory)/settings" }
    /// Held by the job's runner for its whole life.
    public var runnerLock: String { "\(directory)/runner.lock" }
    /// Serialises changes to the record between the runner and vm-install-jobs.
    public var updateLock: String { "\(directory)/update.lock" }
    /// The install VM's last screen, kept when the job fails or is canceled during INSTALL.
    public var lastScreen: String { "\(directory)/last-screen.png" }
}

/// Where one VM's files live: STATE/vms/NAME/.
public struct VMPaths: Sendable {
    public let directory: String

    public init(vmsDirectory: String, name: String) {
        directory = "\(vmsDirectory)/\(name)"
    }

    public init(directory: String) {
        self.directory = directory
    }

    /// The VM's final configuration, human-readable.
    public var config: String { "\(directory)/vm.conf" }
    /// Marks which job created the directory, so only that job ever removes it.
    public var owner: String { "\(directory)/owner" }

    public static func ownerMark(job: JobID) -> String { "job=\(job)\n" }
    public var serialLog: String { "\(directory)/serial.log" }
    /// The job runner's control socket of the runtime VM.
    public var qmpSocket: String { "\(directory)/qmp.sock" }
    /// A second control socket of the runtime VM, for vm-install-jobs' requests.
    public var monitorSocket: String { "\(directory)/mon.sock" }
    public var pidFile: String { "\(directory)/qemu.pid" }
    public var installQMPSocket: String { "\(directory)/install-qmp.sock" }
    public var installMonitorSocket: String { "\(directory)/install-mon.sock" }
    public var installPIDFile: String { "\(directory)/install.pid" }
}
