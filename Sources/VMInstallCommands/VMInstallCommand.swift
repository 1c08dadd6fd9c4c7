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
        abstract: "Define a virtual machine and install its operating system with QEMU.",
        discussion: """
            Without --background every phase runs here, with progress on stderr, and the exit \
            status is the job's. With --background the job's id is printed and the install goes \
            on in a job runner; follow it with vm-install-jobs --status ID. See vm-install(8).

            Example:
              vm-install --name web1 --source install.iso --disk /var/lib/vm/web1.qcow2,size=20G \\
                         --memory 2048 --vcpus 2 --vnc --background
            """,
        version: VMInstallVersion.string)

    @Option(help: ArgumentHelp("VM name: 1-64 letters, digits, '.', '_' or '-'.", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("ISO image booted as the install CD-ROM.", valueName: "iso"))
    var source: String?

    @Option(name: .customLong("disk"), help: ArgumentHelp(
        "A disk; repeat for more, the first one boots. A missing PATH is created (size= or backing= needed; K, M, G, T or GiB).",
        valueName: "path[,size=SIZE][,format=raw|qcow2][,bus=virtio|sata|scsi|ide][,device=disk|cdrom][,readonly][,backing=FILE]"))
    var disks: [String] = []

    @Option(help: ArgumentHelp("Boot this kernel for the install (with or without --source).", valueName: "file"))
    var kernel: String?

    @Option(help: ArgumentHelp("The initrd for --kernel.", valueName: "file"))
    var initrd: String?

    @Option(help: ArgumentHelp("The kernel command line for --kernel.", valueName: "arguments"))
    var extraArgs: String?

    @Option(help: ArgumentHelp("An AutoYaST, kickstart or preseed file for an unattended install.", valueName: "file"))
    var autoinstall: String?

    @Option(help: ArgumentHelp(
        "A NoCloud seed (ISO labelled cidata) attached as a CD-ROM; with --import it turns a cloud image into a configured VM.",
        valueName: "user-data=FILE[,meta-data=FILE][,network-config=FILE]"))
    var cloudInit: String?

    @Flag(name: .customLong("import"), help: "The first disk already holds an installed system: boot it, with no install phase (no --source).")
    var importDisk = false

    @Option(name: .customLong("nic"), help: ArgumentHelp(
        "A network card; repeat for more. Default: one on QEMU's user-mode network. 'none' for no network.",
        valueName: "user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]|bridge=BR|tap=IFNAME[,model=M][,mac=MAC]"))
    var nics: [String] = []

    @Option(help: ArgumentHelp("Defaults for an OS family (memory, vCPUs, disk size and bus, NIC model, machine); 'list' shows them.", valueName: "type"))
    var osType: String?

    @Option(help: ArgumentHelp("Memory in MiB (default 1024, or the --os-type's).", valueName: "mib"))
    var memory: Int?

    @Option(help: ArgumentHelp("Number of virtual CPUs (default 1, or the --os-type's).", valueName: "n"))
    var vcpus: Int?

    @Option(help: "Machine type: pc (i440FX) or q35 (default pc, or the --os-type's).")
    var machine: MachineType?

    @Option(help: "Firmware: bios (SeaBIOS) or uefi (OVMF; Debian's ovmf package). Default bios, or the --os-type's.")
    var firmware: Firmware?

    @Flag(help: "Give the VM a VNC console: --vnc on 127.0.0.1 at the first free display, or --vnc=ADDRESS[:DISPLAY].")
    var vnc = false

    /// The ADDRESS[:DISPLAY] of --vnc=VALUE (see `expandOptionalValues`).
    @Option(parsing: .unconditional, help: .hidden)
    var vncListen: String?

    @Flag(help: "Protect the VNC console with a password: --vnc-password=PW (at most 8 characters), or a generated one. Implies --vnc.")
    var vncPassword = false

    /// The PW of --vnc-password=PW.
    @Option(parsing: .unconditional, help: .hidden)
    var vncPasswordValue: String?

    @Option(help: "Console: vnc (as --vnc) or none (the serial console only, in the VM's serial.log).")
    var graphics: GraphicsChoice?

    @Option(help: "Accelerator: auto (KVM when /dev/kvm is usable), kvm or tcg.")
    var accel: AccelChoice = .auto

    @Option(help: ArgumentHelp("Fail the install after this many seconds.", valueName: "seconds"))
    var installTimeout: Double = 3600

    @Option(help: ArgumentHelp("How long the installed VM must stay running before the job is FINISHED.", valueName: "seconds"))
    var settle: Double = 3

    @Flag(help: "Run the job in the background: print its id and return.")
    var background = false

    @Option(help: ArgumentHelp("State directory (default: $VM_INSTALL_STATE_DIR, /var/lib/vm-install for root, else ~/.local/state/vm-install).", valueName: "dir"))
    var stateDir: String?

    /// The background runner's entry: `vm-install --run-job ID` with the runner lock on fd 3.
    @Option(help: .hidden)
    var runJob: String?

    public init() {}

    func spec() throws -> VMSpec {
        guard let name else {
            throw ValidationError("--name is required")
        }
        var parsedDisks: [DiskSpec] = []
        for text in disks {
            var disk = try DiskSpec.parse(text)
            disk.path = StateDirectory.absolute(disk.path)
            disk.backing = disk.backing.map(StateDirectory.absolute)
            parsedDisks.append(disk)
        }
        // A URL stays as it is; a path is made absolute, since the runner works from "/".
        let absoluteSource = source.map { InstallTree.isURL($0) ? $0 : StateDirectory.absolute($0) }
        var spec = VMSpec(name: name, source: absoluteSource, disks: parsedDisks)
        spec.importDisk = importDisk
        spec.autoinstall = autoinstall.map(StateDirectory.absolute)
        if let cloudInit {
            var seed = try CloudInitSeed.parse(cloudInit)
            seed.userData = StateDirectory.absolute(seed.userData)
            seed.metaData = seed.metaData.map(StateDirectory.absolute)
            seed.networkConfig = seed.networkConfig.map(StateDirectory.absolute)
            spec.cloudInit = seed
        }
        spec.kernel = kernel.map(StateDirectory.absolute)
        spec.initrd = initrd.map(StateDirectory.absolute)
        spec.kernelArguments = extraArgs
        if !nics.isEmpty {
            spec.nics = try nics.compactMap { try NICSpec.parse($0) }
            if nics.contains("none") && nics.count > 1 {
                throw VMInstallError(.usage, "--nic none cannot be combined with other --nic options")
            }
        }
        if let osType {
            guard let os = OSType.named(osType) else {
                throw VMInstallError(.usage, "--os-type '\(osType)' is unknown; 'vm-install --os-type list' shows the known ones")
            }
            spec.osType = os
        }
        let os = spec.osType ?? .generic
        spec.memoryMiB = memory ?? os.memoryMiB
        spec.vcpus = vcpus ?? os.vcpus
        spec.machine = machine ?? os.machine
        spec.firmware = firmware ?? os.firmware
        if graphics == GraphicsChoice.none, vnc || vncPassword || vncListen != nil {
            throw VMInstallError(.usage, "--graphics none and --vnc exclude each other")
        }
        if vnc || vncPassword || vncListen != nil || graphics == .vnc {
            var settings = VNCSettings()
            if let vncListen { (settings.listen, settings.display) = try VNCSettings.parseListen(vncListen) }
            if let vncPasswordValue {
                try VNCSettings.validatePassword(vncPasswordValue)
                settings.password = .given(vncPasswordValue)
            } else if vncPassword {
                settings.password = .generate
            }
            spec.vnc = settings
        }
        spec.accel = accel
        spec.installTimeoutSeconds = installTimeout
        spec.settleSeconds = settle
        try spec.validateSyntax()
        return spec
    }

    public func validate() throws {
        if runJob == nil, osType != "list" {
            do { _ = try spec() } catch let error as VMInstallError { throw ValidationError(error.message) }
        }
    }

    /// Everything after parsing. Returns the exit code.
    func execute(cancel: CancelSignal) async throws -> Int32 {
        let store = JobStore(root: StateDirectory.resolve(option: stateDir))
        if let runJob {
            // Only vm-install --background may start a runner: it hands over the job's runner
            // lock on descriptor 3.
            guard let id = JobID(parsing: runJob), RunnerLauncher.holdsRunnerLock(store.paths(id).runnerLock),
                (try? store.read(id))?.state == .settings
            else {
                throw VMInstallError(.usage, "--run-job is vm-install's own way to start a job runner; use vm-install --background")
            }
            let lock = FileLock.adopt(RunnerLauncher.lockDescriptor)
            defer { lock.release() }
            let log = JobLog(path: store.paths(id).log, echoToStderr: false)
            return await JobRunner(store: store, id: id, driver: HypervisorDrivers.driver(for: nil), log: log, cancel: cancel)
                .run().rawValue
        }
        if osType == "list" {
            FileDescriptorOutput.standardOutput(OSType.table + "\n")
            return 0
        }
        let spec = try spec()
        // In the foreground this process is the runner; in the background the runner records itself.
        let (id, lock) = try store.create(spec, runnerPID: background ? nil : getpid())
        defer { lock.release() }
        if background {
            do {
                // The runner records its own pid; until then a cancel is only recorded.
                _ = try RunnerLauncher.launch(
                    executable: RunnerLauncher.currentExecutable(),
                    arguments: ["--run-job", id.description, "--state-dir", store.root],
                    logPath: store.paths(id).log, runnerLock: lock)
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
        return await JobRunner(store: store, id: id, driver: HypervisorDrivers.driver(for: spec), log: log, cancel: cancel)
            .run().rawValue
    }

    /// argument-parser has no options with an optional value; `--vnc=ADDRESS` and
    /// `--vnc-password=PW` become the flag plus a hidden option that carries the value.
    static func expandOptionalValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for (index, argument) in arguments.enumerated() {
            if argument == "--" { return out + arguments[index...] }
            if argument.hasPrefix("--vnc=") {
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
        let command = CommandMain.parse(Self.self, expandOptionalValues(arguments), usageCode: JobExitCode.usage.rawValue)
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
