import Glibc
import SystemPackage

/// What the job serves to the install VM while it installs: the answer server (--serve, and
/// answer files delivered over HTTP) and the installer's syslog receiver, each on this host
/// where the guest reaches it (`GuestReach`). Started at the end of PREP_INSTALL, only when
/// the install uses them, and stopped when the install ends, fails or is canceled.
final class InstallServices {
    let reach: GuestReach?
    private(set) var answers: AnswerServer?
    private(set) var syslog: InstallerSyslog?
    private let log: JobLog

    /// What can be told before the job exists: a --serve directory to read, and a guest that
    /// can reach this host wherever a placeholder or the answer server needs it.
    static func preflight(_ spec: VMSpec, driver: any HypervisorDriver) throws(VMInstallError) {
        if let serve = spec.serve, !FileIO.isDirectory(serve) {
            throw VMInstallError(.settings, "--serve \(serve) is not a directory")
        }
        // The server runs as this user: a directory it cannot list would serve nothing.
        if let serve = spec.serve, access(serve, R_OK | X_OK) != 0 {
            throw VMInstallError(.settings, "--serve \(serve) cannot be read: \(Errno(rawValue: errno))")
        }
        if spec.bootWaitFor != nil, !driver.runsOnThisMachine {
            throw VMInstallError(
                .settings,
                "--boot-wait-for reads the serial console's log, which a VM on another host does not write here")
        }
        let servers = try spec.templateServers()
        let bootsOwnLoader = spec.source.map { !InstallTree.isTree($0) } ?? false && spec.kernel == nil
        let needsServer = try spec.needsAnswerServer(bootsOwnLoader: bootsOwnLoader)
        guard !servers.isEmpty || needsServer else { return }
        if case .failure(let why) = GuestReach.of(spec.nics, onThisMachine: driver.runsOnThisMachine) {
            let what = spec.serve != nil ? "--serve" : servers.contains(.syslog) ? "{{syslog}}" : "the answer server"
            throw VMInstallError(.settings, "\(what) needs a guest that reaches this host: \(why.message)")
        }
    }

    /// Starts what the install uses. `tree` is the install tree whose installer boots
    /// directly (nil for media that boot their own loader).
    init(spec: VMSpec, vm: VMConfig, tree: InstallTree?, driver: any HypervisorDriver, log: JobLog)
        throws(VMInstallError)
    {
        self.log = log
        switch GuestReach.of(vm.nics, onThisMachine: driver.runsOnThisMachine) {
        case .success(let reach): self.reach = reach
        case .failure: self.reach = nil
        }
        let servers = try spec.templateServers()
        let installerLogs = tree.map { $0.layout.installer.logArguments(host: "", port: 0) != nil } ?? false
        guard let reach else {
            if installerLogs {
                log.write("the installer's log is not received: the guest cannot reach this host on its network")
            }
            return
        }
        if try spec.needsAnswerServer(bootsOwnLoader: tree == nil && spec.kernel == nil) {
            let server = try AnswerServer(address: reach.listen, root: spec.serve, log: log)
            answers = server
            log.write(
                "answer server: http://\(reach.guest):\(server.port)/ for the install VM (listening on \(reach.listen):\(server.port))\(spec.serve.map { ", serving \($0)" } ?? "")"
            )
        }
        if installerLogs || servers.contains(.syslog) {
            let receiver = try InstallerSyslog(address: reach.listen, log: log)
            syslog = receiver
            log.write(
                "installer syslog: \(reach.guest):\(receiver.port) (UDP and TCP) for the install VM (listening on \(reach.listen):\(receiver.port))"
            )
        }
    }

    /// `text` with the placeholders filled in.
    func expand(_ text: String) throws(VMInstallError) -> String {
        try InstallTemplate.expand(text) { server, part throws(VMInstallError) in
            let port: UInt16?
            switch server {
            case .http: port = answers?.port
            case .syslog: port = syslog?.port
            }
            guard let reach, let port else {
                throw VMInstallError(.internal, "a placeholder names a server that does not run")
            }
            return part == "ip" ? reach.guest : part == "port" ? String(port) : "\(reach.guest):\(port)"
        }
    }

    /// The installer's arguments that send its log to the receiver, if it runs.
    func logArguments(for installer: Installer) -> [String] {
        guard let reach, let syslog else { return [] }
        return installer.logArguments(host: reach.guest, port: syslog.port) ?? []
    }

    /// The installer's last log line, for a stall report.
    var lastInstallerLine: String? { syslog?.lastLine }

    func stop() {
        answers?.stop()
        syslog?.stop()
    }

    deinit { stop() }
}

extension Installer {
    /// The kernel arguments that make the installer send its log to HOST:PORT over syslog,
    /// or nil where vm-install knows none: d-i's log_host=/log_port= (its busybox syslogd,
    /// UDP), Anaconda's inst.syslog= (rsyslog, TCP; syslog= before Fedora 19 and RHEL 7).
    /// YaST's linuxrc and Subiquity take no such argument that vm-install knows of.
    func logArguments(host: String, port: UInt16) -> [String]? {
        switch self {
        case .debian: ["log_host=\(host)", "log_port=\(port)"]
        case .anaconda(let era): ["\(era.syslog)=\(host):\(port)"]
        case .yast, .subiquity, .unknown: nil
        }
    }
}
