import Glibc

/// Carries one job through the phases, one per state, and records how it ended.
/// Runs in the background runner process, or in vm-install itself in the foreground.
public final class JobRunner {
    let store: JobStore
    let id: JobID
    /// The job's host: from its settings, then the one it is placed on in SETTINGS.
    var driver: any HypervisorDriver
    let log: JobLog
    let cancel: CancelSignal
    private var spec: VMSpec?
    private var vmFiles: VMPaths?
    /// The install VM from the announcement of INSTALL until the guest has powered off:
    /// a job that ends while it runs keeps its last screen.
    private var installVM: (any VMSession)?
    /// The answer server and the installer's syslog, from the end of PREP_INSTALL to the end
    /// of the install.
    private var services: InstallServices?

    public init(store: JobStore, id: JobID, driver: any HypervisorDriver, log: JobLog, cancel: CancelSignal) {
        self.store = store
        self.id = id
        self.driver = driver
        self.log = log
        self.cancel = cancel
    }

    /// Runs every phase and returns the job's exit code, which is also recorded in the job.
    public func run() async -> JobExitCode {
        do {
            try await runPhases()
            return .success
        } catch {
            // Ctrl-C also reaches a helper like qemu-img, whose failure is then the cancel's doing.
            let canceled = VMInstallError(.canceled, "the job was canceled")
            return end(with: cancel.isRequested ? canceled : error)
        }
    }

    private func runPhases() async throws(VMInstallError) {
        try store.update(id) { record throws(VMInstallError) in
            record.runnerPID = getpid()
            if record.cancelRequested { throw VMInstallError(.canceled, "the job was canceled before it started") }
        }
        let spec = try store.readSettings(id)
        self.spec = spec

        log.write("job \(id): gathering the settings of VM \(spec.name)")
        let settings = try await SettingsPhase(store: store, id: id, log: log, cancel: cancel).run(spec)
        driver = settings.driver
        vmFiles = settings.files
        try advance(to: .prepInstall) { $0.uuid = settings.config.uuid }

        log.write("preparing the install: creating disks")
        let config = try await DiskPreparation(store: store, id: id, log: log, driver: driver).createDisks(
            settings.newDisks, in: settings.config)
        if let seed = spec.cloudInit {
            let image = CloudInitSeed.imagePath(in: settings.files)
            log.write("building the cloud-init seed \(image)")
            try await seed.build(
                at: image, staging: "\(settings.files.directory)/.cidata", name: spec.name, uuid: settings.config.uuid)
        }
        if spec.installMedium != nil {
            services = try InstallServices(spec: spec, vm: config, tree: settings.tree, driver: driver, log: log)
        }
        let medium = try await InstallPreparation(
            log: log, spec: spec, files: settings.files, uuid: settings.config.uuid, services: services
        )
        .medium(tree: settings.tree, unattended: settings.install)
        if let medium {
            try await install(config, medium: medium, files: settings.files, spec: spec)
            services?.stop()
            services = nil
            try advance(to: .postInstall)
            log.write("install finished; the install medium is detached")
        } else {
            log.write("importing \(config.disks[0].path): no install phase")
        }
        try advance(to: .runtimeConf)

        do {
            try FileIO.writeAtomically(settings.files.config, config.encoded())
        } catch {
            throw VMInstallError(.stateDirectory, "cannot write \(settings.files.config): \(error)")
        }
        log.write("wrote the VM configuration \(settings.files.config)")

        try await bootRuntime(files: settings.files, settle: spec.settleSeconds)
        try advance(to: .finished) { $0.exit = JobExitCode.success.rawValue }
        log.write("job \(id) finished; VM \(spec.name) is running")
    }

    /// " on qemu+ssh://kvm7/system" for a VM on a libvirt host, for the failures that name it.
    private var onHost: String { driver.host.map { " on \($0)" } ?? "" }

    /// Moves to the next state, unless a cancel arrived first: as a signal, or recorded by
    /// vm-install-jobs --cancel (checked under the update lock, so no cancel slips between).
    private func advance(to state: JobState, _ extra: (inout JobRecord) -> Void = { _ in }) throws(VMInstallError) {
        try cancel.check()
        try store.update(id) { record throws(VMInstallError) in
            if record.cancelRequested { throw VMInstallError(.canceled, "the job was canceled") }
            record.state = state
            extra(&record)
        }
        log.write("state \(state.rawValue) (\(state.name))")
    }

    /// Announces the state of a VM that has just started paused: the state and the VM's VNC
    /// address go into the record in one update, so a watcher woken by the state change finds
    /// the address. Then the VM runs.
    private func announce(_ state: JobState, startedPaused session: any VMSession) throws(VMInstallError) {
        try advance(to: state) { record in
            if let address = session.vncAddress { record.vnc = address }
        }
        if let address = session.vncAddress { log.write("VNC console: \(address)") }
        try session.resume()
    }

    private func install(_ vm: VMConfig, medium: InstallMedium, files: VMPaths, spec: VMSpec)
        async throws(VMInstallError)
    {
        log.write("starting the install VM")
        let session = try await driver.startInstall(vm, medium: medium, files: files)
        try announce(.install, startedPaused: session)
        installVM = session
        log.write("installing from \(medium.description) (serial console: \(files.serialLog))")
        let timeout = spec.installTimeoutSeconds
        let deadline = Deadline.after(seconds: timeout)
        var stall = StallWatch(limit: spec.stallTimeoutSeconds, underKVM: vm.accel == "kvm")
        stall.installerLine = { [services] in services?.lastInstallerLine }
        let typed = try BootTyping.forInstall(spec, services: services, serialLog: files.serialLog, log: log)?
            .run(session, cancel: cancel, deadline: deadline)
        // Canceled, timed out or stalled: end(with:) keeps the last screen and stops the VM.
        let end: VMEnd
        if let typed {
            end = typed
        } else {
            end = try waitShowingElapsedTime(session, deadline: deadline, stall: &stall)
        }
        switch end {
        case .guestShutdown:
            installVM = nil
        case .vanished:
            installVM = nil
            throw VMInstallError(
                .installFailed,
                "the install VM\(onHost) ended without the guest powering off (it crashed, or was destroyed or killed)")
        case .canceled:
            throw VMInstallError(.canceled, "the job was canceled during the install")
        case .timedOut:
            throw VMInstallError(
                .installTimedOut, "the install did not finish within \(timeout) seconds (--install-timeout)")
        case .lostConnection(let why):
            throw VMInstallError(.installFailed, why)
        }
    }

    /// Waits for the install VM in one-second steps, so a person sees the time go by: a
    /// redrawn line on a terminal, a plain line each minute elsewhere. Between steps the
    /// stall watch samples the VM; it throws when the install has stalled.
    private func waitShowingElapsedTime(_ session: any VMSession, deadline: Deadline, stall: inout StallWatch)
        throws(VMInstallError) -> VMEnd
    {
        let start = Deadline.now()
        var minutesLogged = 0
        while true {
            let step = Deadline.after(seconds: 1)
            let end = session.waitForEnd(
                cancel: cancel, deadline: step.nanoseconds < deadline.nanoseconds ? step : deadline)
            guard end == .timedOut, !deadline.hasPassed else { return end }
            try stall.check(session)
            let elapsed = Int((Deadline.now() - start) / 1_000_000_000)
            let clock = "\(elapsed / 60):\(elapsed % 60 < 10 ? "0" : "")\(elapsed % 60)"
            log.status("installing, \(clock) elapsed")
            if !log.interactive, elapsed / 60 > minutesLogged {
                minutesLogged = elapsed / 60
                log.write("still installing, \(clock) elapsed")
            }
        }
    }

    private func bootRuntime(files: VMPaths, settle: Double) async throws(VMInstallError) {
        let config: VMConfig
        do { config = try VMConfig.decode(try FileIO.readString(files.config)) } catch let e as VMInstallError {
            throw e
        } catch {
            throw VMInstallError(.runtimeFailed, "cannot read \(files.config): \(error)")
        }
        let session: any VMSession
        do {
            session = try await driver.startRuntime(config, files: files)
            try announce(.runtime, startedPaused: session)
        } catch {
            throw VMInstallError(error.kind == .host ? .runtimeFailed : error.kind, error.message)
        }
        try session.confirmRunning()
        log.write("VM \(config.name) booted from \(config.disks[0].path); checking it stays up for \(settle) s")
        switch session.waitForEnd(cancel: cancel, deadline: .after(seconds: settle)) {
        case .timedOut:
            try session.confirmRunning()
            session.detach()
        case .canceled:
            session.stop(deadline: .after(seconds: 5))
            throw VMInstallError(.canceled, "the job was canceled while the VM was booting")
        case .guestShutdown, .vanished:
            throw VMInstallError(.runtimeFailed, "the VM\(onHost) stopped during its first \(settle) seconds")
        case .lostConnection(let why):
            throw VMInstallError(.runtimeFailed, why)
        }
    }

    /// Keeps the installer's last screen in the job's directory, so people can see where it
    /// was when the job ended. A VM without a screen has none; that is no failure.
    private func keepLastScreen(of session: any VMSession) {
        let path = store.paths(id).lastScreen
        do {
            try session.screenshot(to: path)
            log.write("kept the installer's last screen: \(path)")
        } catch {
            if error.kind != .noScreen { log.write("could not keep the installer's last screen: \(error.message)") }
        }
    }

    /// Records a failure or a cancel. Whatever the job started is stopped first, so nothing
    /// runs on for a job that did not finish.
    private func end(with error: VMInstallError) -> JobExitCode {
        let code = JobExitCode(for: error.kind)
        services?.stop()
        services = nil
        if let session = installVM {
            keepLastScreen(of: session)
            session.stop(deadline: .after(seconds: 5))
            installVM = nil
        }
        // SETTINGS records the VM's directory when it reserves the name, before it places the job.
        if let files = vmFiles ?? (try? store.read(id))?.vmDirectory.map({ VMPaths(directory: $0) }) {
            do {
                if error.kind == .canceled {
                    // A canceled job's VM goes with what the hypervisor keeps of it.
                    try driver.discard(files: files)
                    for volume in (try? store.read(id))?.createdVolumes ?? [] {
                        try driver.deleteVolume(volume, log: log)
                    }
                } else {
                    try driver.stopAll(files: files, deadline: .after(seconds: 5))
                }
            } catch {
                log.write("warning: \(error.message)")
            }
        }
        Admission.leave(id, in: store)
        let state: JobState = error.kind == .canceled ? .canceled : .failed
        log.write(error.kind == .canceled ? "job \(id) canceled" : "job \(id) failed: \(error.message)")
        do {
            try store.update(id) { record throws(VMInstallError) in
                // A cancel that vm-install-jobs finished itself may already be recorded.
                guard !record.state.isTerminal else { return }
                record.state = state
                record.exit = code.rawValue
                record.waiting = nil
                if state == .failed { record.error = error.message }
            }
        } catch {
            log.write("cannot record the end of job \(id): \(error.message)")
        }
        return code
    }
}
