/// The files of one QEMU process of a VM: the install VM's or the runtime VM's. Each QEMU has
/// two QMP sockets, since a QMP socket serves one client at a time: one the job runner holds
/// for the VM's whole run, and one for vm-install-jobs' requests (screenshots, stopping).
struct QEMUInstance {
    let qmpSocket: String
    let monitorSocket: String
    let pidFile: String

    static func install(_ files: VMPaths) -> QEMUInstance {
        QEMUInstance(
            qmpSocket: files.installQMPSocket, monitorSocket: files.installMonitorSocket, pidFile: files.installPIDFile)
    }

    static func runtime(_ files: VMPaths) -> QEMUInstance {
        QEMUInstance(qmpSocket: files.qmpSocket, monitorSocket: files.monitorSocket, pidFile: files.pidFile)
    }

    /// The install VM first: at most one of the two runs at a time.
    static func both(_ files: VMPaths) -> [QEMUInstance] { [install(files), runtime(files)] }

    /// The running process, if any.
    var process: QEMUProcess? { QEMUProcess.fromPIDFile(pidFile) }

    /// A connection for a request: the requests socket, or the runner's socket for a QEMU
    /// started without one (by an earlier version), which is free once its runner is gone.
    func requestConnection(deadline: Deadline) throws(VMInstallError) -> QMPClient {
        try QMPClient(socketPath: FileIO.exists(monitorSocket) ? monitorSocket : qmpSocket, deadline: deadline)
    }
}
