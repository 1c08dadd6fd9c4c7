import Glibc
import Subprocess
import SystemPackage

/// Runs VMs as plain QEMU processes: `-daemonize` puts each in its own session, away from
/// the runner, with its QMP socket and pid file in the VM's directory.
public struct QEMUDriver: HypervisorDriver {
    public static let systemBinary = "qemu-system-x86_64"

    public init() {}

    public var runsOnThisMachine: Bool { true }

    public func preflight(_ spec: VMSpec) throws(VMInstallError) {
        guard Executables.find(Self.systemBinary) != nil else {
            throw VMInstallError(
                .host, "\(Self.systemBinary) is not installed; install Debian's qemu-system-x86 package")
        }
        guard Executables.find(QEMUImage.binary) != nil else {
            throw VMInstallError(.host, "\(QEMUImage.binary) is not installed; install Debian's qemu-utils package")
        }
        let user = HostUser.current
        // What QEMU, running as this user, will open: a refusal here is one line with the
        // way to get it, where QEMU would fail later with its own words.
        try QEMUNetworkAccess(user: user, netAdmin: HostUser.hasNetAdmin).check(spec.nics)
        try QEMUDiskAccess(user: user, vmName: spec.name).check(spec.disks)
        if spec.accel == .kvm, case .unusable(let why, let remedy) = KVMAccess.probe() {
            throw VMInstallError(
                .host, "KVM is not usable: \(why); \(remedy.map { "\($0), or use" } ?? "use") --accel tcg or auto")
        }
    }

    public func prepare(_ spec: VMSpec) throws(VMInstallError) -> ResolvedHost {
        if spec.accel == .tcg { return ResolvedHost(accel: "tcg") }
        switch KVMAccess.probe() {
        case .usable:
            return ResolvedHost(accel: "kvm")
        case .unusable(let why, let remedy):
            let notice =
                "KVM is not usable (\(why)), so the VM runs under TCG, software emulation, which is much slower"
            return ResolvedHost(accel: "tcg", notice: notice + (remedy.map { "; to use KVM, \($0)" } ?? ""))
        }
    }

    public func checkFirmware(_ firmware: Firmware) throws(VMInstallError) {
        if firmware == .uefi, QEMUFirmware.locate() == nil {
            throw VMInstallError(
                .host, "UEFI firmware (OVMF) is not installed; install Debian's ovmf package or use --firmware bios")
        }
    }

    public func startInstall(_ vm: VMConfig, medium: InstallMedium, files: VMPaths) async throws(VMInstallError)
        -> any VMSession
    {
        try await start(
            QEMUCommandLine.install(vm, medium: medium, files: files) + (try firmware(vm, files)),
            .install(files), files: files, vnc: vm.vnc)
    }

    public func startRuntime(_ vm: VMConfig, files: VMPaths) async throws(VMInstallError) -> any VMSession {
        try await start(
            QEMUCommandLine.runtime(vm, files: files) + (try firmware(vm, files)),
            .runtime(files), files: files, vnc: vm.vnc)
    }

    private func firmware(_ vm: VMConfig, _ files: VMPaths) throws(VMInstallError) -> [String] {
        guard vm.firmware == .uefi else { return [] }
        let (code, vars) = try QEMUFirmware.prepareVars(files)
        return [
            "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=\(QEMUCommandLine.quote(code))",
            "-drive", "if=pflash,format=raw,unit=1,file=\(QEMUCommandLine.quote(vars))",
        ]
    }

    /// Starts QEMU paused and connects; the caller lets it run with `resume()`.
    private func start(_ arguments: [String], _ instance: QEMUInstance, files: VMPaths, vnc: VNCSettings?)
        async throws(VMInstallError) -> any VMSession
    {
        if instance.process != nil {
            throw VMInstallError(.host, "a QEMU process of this VM is already running (\(instance.pidFile))")
        }
        // Leftovers of a process that is gone: ours, in our VM directory.
        unlink(instance.qmpSocket)
        unlink(instance.monitorSocket)
        unlink(instance.pidFile)
        let result: CommandResult
        do {
            result = try await CommandResult.run(Self.systemBinary, arguments)
        } catch {
            throw VMInstallError(.host, "cannot run \(Self.systemBinary): \(error)")
        }
        guard result.succeeded else {
            throw VMInstallError(.host, "QEMU refused to start the VM: \(result.errorSummary)")
        }
        let qmp = try QMPClient(socketPath: instance.qmpSocket, deadline: .after(seconds: 10))
        var address: String?
        if let vnc {
            var password: String?
            if case .given(let pw) = vnc.password {
                _ = try qmp.execute(
                    "change-vnc-password", arguments: ["password": pw], as: QMPClient.Empty.self,
                    deadline: .after(seconds: 5))
                password = pw
            }
            struct VNCInfo: Decodable {
                let host: String?
                let service: String?
            }
            if let info = try? qmp.execute("query-vnc", as: VNCInfo.self, deadline: .after(seconds: 5)),
                let host = info.host, let port = info.service
            {
                address = VNCSettings.statusAddress(host: host, port: port, password: password)
            }
        }
        return QEMUSession(
            qmp: qmp, process: instance.process, files: files, hasScreen: vnc != nil, vncAddress: address)
    }

    public func stopAll(files: VMPaths, deadline: Deadline) throws(VMInstallError) {
        for instance in QEMUInstance.both(files) {
            guard let process = instance.process else { continue }
            // Ask politely over QMP; a busy or stuck monitor falls back to signals.
            if let qmp = try? instance.requestConnection(deadline: .after(seconds: 1)) {
                QEMUSession(qmp: qmp, process: process, files: files, hasScreen: false, vncAddress: nil).stop(
                    deadline: deadline)
            } else {
                process.terminate(deadline: deadline)
            }
            guard process.hasEnded else {
                throw VMInstallError(.requestFailed, "QEMU process \(process.pid) of \(files.directory) did not stop")
            }
        }
    }

    /// QEMU always answers: its pid file's lock tells.
    public func runState(files: VMPaths) -> VMRunState {
        isRunning(files: files) ? .running : .stopped
    }

    public func isRunning(files: VMPaths) -> Bool {
        QEMUInstance.both(files).contains { $0.process != nil }
    }

    public func screenshot(files: VMPaths, to path: String) throws(VMInstallError) {
        guard let instance = QEMUInstance.both(files).first(where: { $0.process != nil }) else {
            throw VMInstallError(.wrongState, "no VM of \(files.directory) is running")
        }
        let qmp = try instance.requestConnection(deadline: .after(seconds: 10))
        guard try QEMUScreen.exists(qmp) else {
            throw VMInstallError(
                .noScreen, "the VM has no screen (it was installed without a VNC console, as with --graphics none)")
        }
        try QEMUScreen.save(qmp, files: files, to: path, mode: [.ownerReadWrite, .groupRead, .otherRead])
    }
}
