import ArgumentParser
import Dispatch
import Glibc
import VMInstallKit

extension AccelChoice: ExpressibleByArgument {}
extension MachineType: ExpressibleByArgument {}
extension Firmware: ExpressibleByArgument {}

enum GraphicsChoice: String, ExpressibleByArgument {
    case vnc
    case none
}

/// vm-install: defines a VM and installs it, in the foreground or as a background job.
public struct VMInstallCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm-install",
        abstract: "Define a virtual machine and install its operating system with QEMU or libvirt.",
        discussion: """
            Without --background every phase runs here, with progress on stderr, and the exit \
            status is the job's. With --background the job's id is printed and the install goes \
            on in a job runner; follow it with vm-install-jobs --status ID. See vm-install(8).

            Examples:
              vm-install --name web1 --os-type opensuse --source install.iso \\
                --disk /vm/web1.qcow2 --vnc-password --background
              vm-install --name c1 --import --disk /vm/c1.qcow2,backing=cloud.qcow2 \\
                --cloud-init user-data=user-data.yaml --nic user,hostfwd=tcp::2222-:22
              vm-install --name s1 --source http://mirror/leap/repo/oss/ \\
                --autoinstall autoinst.xml --disk /vm/s1.qcow2,size=20G
              vm-install --name f1 --source Fedora-Server-dvd-x86_64-37-1.7.iso \\
                --unattended admin-password-file=root.pw --disk /vm/f1.qcow2
              vm-install --name k1 --source netinst.iso --autoinstall preseed.cfg \\
                --disk /vm/k1.qcow2,size=20G --boot-wait 5 \\
                --boot-keys 'install auto=true url=http://{{http}}/preseed.cfg<enter>'
              vm-install --connect qemu:///system --name l1 --source install.iso \\
                --disk pool=default,size=20G --background
              vm-install --os-type list
            """,
        version: VMInstallVersion.string)

    @OptionGroup(title: "Virtual machine") var vm: VMOptions
    @OptionGroup(title: "Install source") var install: InstallOptions
    @OptionGroup(title: "Disks and network") var storage: StorageOptions
    @OptionGroup(title: "Console") var console: ConsoleOptions
    @OptionGroup(title: "Job") var job: JobOptions

    public init() {}

    func spec() throws -> VMSpec {
        guard let name = vm.name else {
            throw ValidationError("--name is required")
        }
        var parsedDisks: [DiskSpec] = []
        for text in storage.disks {
            var disk = try DiskSpec.parse(text)
            if disk.pool == nil { disk.path = StateDirectory.absolute(disk.path) }
            disk.backing = disk.backing.map(StateDirectory.absolute)
            parsedDisks.append(disk)
        }
        // A URL stays as it is; a path is made absolute, since the runner works from "/".
        let absoluteSource = install.source.map { InstallTree.isURL($0) ? $0 : StateDirectory.absolute($0) }
        var spec = VMSpec(name: name, source: absoluteSource, disks: parsedDisks)
        spec.importDisk = install.importDisk
        spec.autoinstall = install.autoinstall.map(StateDirectory.absolute)
        if install.unattended {
            var options = try UnattendedOptions.parse(install.unattendedOptions ?? "")
            options.adminPasswordFile = options.adminPasswordFile.map(StateDirectory.absolute)
            options.userPasswordFile = options.userPasswordFile.map(StateDirectory.absolute)
            spec.unattended = options
        }
        if let cloudInit = install.cloudInit {
            var seed = try CloudInitSeed.parse(cloudInit)
            seed.userData = StateDirectory.absolute(seed.userData)
            seed.metaData = seed.metaData.map(StateDirectory.absolute)
            seed.networkConfig = seed.networkConfig.map(StateDirectory.absolute)
            spec.cloudInit = seed
        }
        spec.kernel = install.kernel.map(StateDirectory.absolute)
        spec.initrd = install.initrd.map(StateDirectory.absolute)
        spec.kernelArguments = install.extraArgs
        spec.bootKeys = install.bootKeys
        spec.bootWaitSeconds = install.bootWait
        spec.bootWaitFor = install.bootWaitFor
        spec.bootKeyIntervalMilliseconds = install.bootKeyInterval
        spec.serve = install.serve.map(StateDirectory.absolute)
        if !storage.nics.isEmpty {
            spec.nics = try storage.nics.compactMap { try NICSpec.parse($0) }
            if storage.nics.contains("none") && storage.nics.count > 1 {
                throw VMInstallError(.usage, "--nic none cannot be combined with other --nic options")
            }
        }
        // The OS and its defaults are settled in SETTINGS (osinfo-db is loaded there).
        spec.osType = vm.osType
        spec.memoryMiB = vm.memory
        spec.vcpus = vm.vcpus
        spec.machine = vm.machine
        spec.firmware = vm.firmware
        if console.graphics == GraphicsChoice.none, console.vnc || console.vncPassword || console.vncListen != nil {
            throw VMInstallError(.usage, "--graphics none and --vnc exclude each other")
        }
        if console.vnc || console.vncPassword || console.vncListen != nil || console.graphics == .vnc {
            var settings = VNCSettings()
            if let vncListen = console.vncListen {
                (settings.listen, settings.display) = try VNCSettings.parseListen(vncListen)
            }
            if let vncPasswordValue = console.vncPasswordValue {
                try VNCSettings.validatePassword(vncPasswordValue)
                settings.password = .given(vncPasswordValue)
            } else if console.vncPassword {
                settings.password = .generate
            }
            spec.vnc = settings
        }
        spec.accel = vm.accel
        spec.memoryBudgetMiB = try job.memoryBudget ?? MemoryBudget.fromEnvironment() ?? MemoryBudget.hostDefault()
        spec.maxInstalls = job.maxInstalls
        spec.hosts = try hosts()
        spec.hostGroup = vm.hostGroup
        spec.installTimeoutSeconds = job.installTimeout
        spec.stallTimeoutSeconds = job.stallTimeout
        spec.settleSeconds = job.settle
        try spec.validateSyntax()
        return spec
    }

    /// The libvirt hosts of --connect (repeated) and --host-group, with what the hosts file
    /// configures for each; virsh's convention, $LIBVIRT_DEFAULT_URI, when neither is given.
    func hosts() throws(VMInstallError) -> [PlacementHost] {
        var uris = vm.connect
        if uris.isEmpty, vm.hostGroup == nil,
            let env = getenv("LIBVIRT_DEFAULT_URI").map({ String(cString: $0) }), !env.isEmpty
        {
            uris = [env]
        }
        guard !uris.isEmpty || vm.hostGroup != nil || vm.hostsFile != nil else { return [] }
        let file = try HostsFile.load(
            vm.hostsFile.map(StateDirectory.absolute) ?? HostsFile.defaultPath(), required: vm.hostsFile != nil)
        var hosts = uris.map(file.host)
        if let group = vm.hostGroup { hosts += try file.group(group) }
        guard !hosts.isEmpty else { throw VMInstallError(.usage, "--hosts-file goes with --connect or --host-group") }
        var seen = Set<String>()
        return hosts.filter { seen.insert($0.uri).inserted }
    }

    public func validate() throws {
        if vm.json, vm.osType != OSChoice.listKeyword {
            throw ValidationError("--json goes with --os-type list")
        }
        if job.runJob == nil, vm.osType != OSChoice.listKeyword {
            do { _ = try spec() } catch let error as VMInstallError { throw ValidationError(error.message) }
        }
    }

    /// Everything after parsing. Returns the exit code.
    func execute(cancel: CancelSignal) async throws -> Int32 {
        let store = JobStore(StateDirectory.locate(option: job.stateDir))
        if let runJob = job.runJob {
            // Only vm-install --background may start a runner: it hands over the job's runner
            // lock on descriptor 3.
            guard let id = JobID(parsing: runJob), RunnerLauncher.holdsRunnerLock(store.paths(id).runnerLock),
                (try? store.read(id))?.state == .settings
            else {
                throw VMInstallError(
                    .usage, "--run-job is vm-install's own way to start a job runner; use vm-install --background")
            }
            let lock = FileLock.adopt(RunnerLauncher.lockDescriptor)
            defer { lock.release() }
            let log = JobLog(path: store.paths(id).log, echoToStderr: false)
            return await JobRunner(
                store: store, id: id, driver: HypervisorDrivers.driver(forJob: id, in: store, log: log), log: log,
                cancel: cancel
            )
            .run().rawValue
        }
        if vm.osType == OSChoice.listKeyword {
            FileDescriptorOutput.standardOutput(try await OSTypeList.render(json: vm.json, stateDirectory: store.root))
            return 0
        }
        let spec = try spec()
        // What can be checked before the job exists is refused here, in the foreground and
        // with --background alike: the same line and exit status, and no job left behind.
        let drivers = HypervisorDrivers.candidates(for: spec, job: nil, stateDirectory: store.root, log: nil)
        try await Preflight(store: store, drivers: drivers).check(spec)
        // In the foreground this process is the runner; in the background the runner records itself.
        let (id, lock) = try store.create(spec, runnerPID: job.background ? nil : getpid())
        defer { lock.release() }
        if job.background {
            do {
                // The runner's pid goes into the record before vm-install returns (the runner
                // writes it too); a cancel before that is only recorded, never sent to us.
                let pid = try RunnerLauncher.launch(
                    executable: RunnerLauncher.currentExecutable(),
                    arguments: ["--run-job", id.description, "--state-dir", store.root],
                    logPath: store.paths(id).log, runnerLock: lock)
                try store.update(id) { $0.runnerPID = pid }
            } catch {
                _ = try? store.update(id) { r in
                    r.state = .failed
                    r.exit = JobExitCode(for: error.kind).rawValue
                    r.error = error.message
                }
                throw error
            }
            print(id)
            return 0
        }
        FileDescriptorOutput.standardError("vm-install: job \(id); log \(store.paths(id).log)\n")
        let log = JobLog(path: store.paths(id).log, echoToStderr: true)
        return await JobRunner(
            store: store, id: id,
            driver: HypervisorDrivers.driver(for: spec, job: id, stateDirectory: store.root, log: log), log: log,
            cancel: cancel
        )
        .run().rawValue
    }

    /// argument-parser has no options with an optional value; `--vnc=ADDRESS`,
    /// `--vnc-password=PW` and `--unattended[=]OPTIONS` become the flag plus a hidden option
    /// that carries the value. --unattended's value is the next argument when it has a '='
    /// (every one of its options does) and is not an option itself.
    static func expandOptionalValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var skip = false
        for (index, argument) in arguments.enumerated() {
            if skip {
                skip = false
                continue
            }
            if argument == "--" { return out + arguments[index...] }
            if argument.hasPrefix("--unattended=") {
                out += ["--unattended", "--unattended-options", String(argument.dropFirst(13))]
            } else if argument == "--unattended", index + 1 < arguments.count, arguments[index + 1].contains("="),
                !arguments[index + 1].hasPrefix("-")
            {
                out += ["--unattended", "--unattended-options", arguments[index + 1]]
                skip = true
            } else if argument.hasPrefix("--vnc=") {
                out += ["--vnc", "--vnc-listen", String(argument.dropFirst(6))]
            } else if argument.hasPrefix("--vnc-password=") {
                out += ["--vnc-password", "--vnc-password-value", String(argument.dropFirst(15))]
            } else {
                out.append(argument)
            }
        }
        return out
    }

    /// Entry point of the vm-install executable. The cancel signals are caught before
    /// anything else runs, so a cancel can never arrive while their default (exit) applies.
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let cancel: CancelSignal
        do { cancel = try CancelSignal() } catch {
            CommandMain.fail("vm-install", error.message, code: JobExitCode.internalError.rawValue)
        }
        let command = CommandMain.parse(
            Self.self, expandOptionalValues(arguments), usageCode: JobExitCode.usage.rawValue)
        Task {
            do {
                let code = try await command.execute(cancel: cancel)
                CommandMain.exit(code)
            } catch let error as VMInstallError {
                CommandMain.fail("vm-install", error.message, code: JobExitCode(for: error.kind).rawValue)
            } catch {
                CommandMain.fail("vm-install", "\(error)", code: JobExitCode.internalError.rawValue)
            }
        }
        dispatchMain()
    }
}
