import Glibc

/// The one place that chooses a job's driver.
public enum HypervisorDrivers {
    /// The driver for a job on `host`, one of its settings' libvirt hosts (else its only host),
    /// or QEMU itself when the settings name none. A job with several hosts and none chosen
    /// yet has created nothing on any of them: `UnplacedHost` answers for it.
    /// `job` is nil before the job exists (vm-install's checks).
    public static func driver(
        for spec: VMSpec?, host: String? = nil, job: JobID?, stateDirectory: String, log: JobLog?
    ) -> any HypervisorDriver {
        guard let spec, !spec.hosts.isEmpty else { return QEMUDriver() }
        guard let uri = host ?? (spec.hosts.count == 1 ? spec.hosts[0].uri : nil) else { return UnplacedHost() }
        return LibvirtDriver(
            uri: uri, job: job, stateDirectory: stateDirectory, log: log, reconnectDeadline: reconnectTimeout)
    }

    /// A driver for each host a job may be placed on, in the order given.
    public static func candidates(for spec: VMSpec, job: JobID?, stateDirectory: String, log: JobLog?)
        -> [any HypervisorDriver]
    {
        guard !spec.hosts.isEmpty else { return [QEMUDriver()] }
        return spec.hosts.map { driver(for: spec, host: $0.uri, job: job, stateDirectory: stateDirectory, log: log) }
    }

    /// The driver for what no job's settings name: QEMU itself.
    public static var plain: any HypervisorDriver { QEMUDriver() }

    /// `$VM_INSTALL_RECONNECT_TIMEOUT`: seconds a lost hypervisor connection is retried.
    static var reconnectTimeout: Double {
        getenv("VM_INSTALL_RECONNECT_TIMEOUT").flatMap { Double(String(cString: $0)) }.flatMap {
            $0 >= 0 && $0.isFinite ? $0 : nil
        } ?? 120
    }

    /// The driver of a recorded job: on the host its record names once it was placed, from
    /// its settings (QEMU when they cannot be read: a job that never had settings never
    /// reached a hypervisor).
    public static func driver(forJob id: JobID, in store: JobStore, log: JobLog?) -> any HypervisorDriver {
        driver(
            for: try? store.readSettings(id), host: (try? store.read(id))?.host, job: id, stateDirectory: store.root,
            log: log)
    }
}

/// The host of a job with several hosts that has not been placed yet: nothing of it exists on
/// any host, so there is nothing to stop, show or remove.
struct UnplacedHost: HypervisorDriver {
    var runsOnThisMachine: Bool { false }

    func prepare(_ spec: VMSpec) throws(VMInstallError) -> ResolvedHost {
        throw VMInstallError(.internal, "the job has not been placed on a host")
    }

    func startInstall(_ vm: VMConfig, medium: InstallMedium, files: VMPaths) async throws(VMInstallError)
        -> any VMSession
    {
        throw VMInstallError(.internal, "the job has not been placed on a host")
    }

    func startRuntime(_ vm: VMConfig, files: VMPaths) async throws(VMInstallError) -> any VMSession {
        throw VMInstallError(.internal, "the job has not been placed on a host")
    }

    func stopAll(files: VMPaths, deadline: Deadline) throws(VMInstallError) {}

    func runState(files: VMPaths) -> VMRunState { .stopped }

    func screenshot(files: VMPaths, to path: String) throws(VMInstallError) {
        throw VMInstallError(.wrongState, "the job has not been placed on a host yet: no VM runs")
    }
}
