import Glibc

/// What the job runner needs from a hypervisor. The job code knows only this protocol:
/// QEMU-direct (Hypervisor/QEMU/) and libvirt (Hypervisor/Libvirt/), chosen in
/// `HypervisorDrivers.driver(for:job:stateDirectory:log:)`.
public protocol HypervisorDriver: Sendable {
    /// True when the VMs run on this machine (QEMU itself, libvirt at a local URI): their
    /// memory is this machine's to budget and their disks are files here. Known without
    /// asking the hypervisor.
    var runsOnThisMachine: Bool { get }

    /// The host the driver reaches, for messages: a libvirt URI; nil for QEMU itself.
    var host: String? { get }

    /// Checks what can be checked from the command line and this machine's files alone,
    /// without the hypervisor's answer: vm-install runs it before the job exists, and
    /// SETTINGS again.
    func preflight(_ spec: VMSpec) throws(VMInstallError)

    /// Checks, in SETTINGS, that the host can run this VM and settles the accelerator.
    func prepare(_ spec: VMSpec) throws(VMInstallError) -> ResolvedHost

    /// The host's memory, for placement; nil for this machine, where the state directory's
    /// memory budget applies. Throws when the host cannot be reached.
    func capacity() throws(VMInstallError) -> HostCapacity?

    /// Checks, in SETTINGS once the OS is settled, that the VM's firmware can be had.
    func checkFirmware(_ firmware: Firmware) throws(VMInstallError)

    /// Boots the install medium with the VM's disks attached, paused until the session's
    /// `resume()`. A guest reboot ends the install VM instead of restarting the installer.
    func startInstall(_ vm: VMConfig, medium: InstallMedium, files: VMPaths) async throws(VMInstallError)
        -> any VMSession

    /// Boots the installed VM from its first disk, detached so that it outlives the caller;
    /// paused until the session's `resume()`.
    func startRuntime(_ vm: VMConfig, files: VMPaths) async throws(VMInstallError) -> any VMSession

    /// Stops whatever this VM's files say is running (install or runtime VM); a no-op when
    /// nothing runs. Returns once the processes are gone or `deadline` has passed.
    func stopAll(files: VMPaths, deadline: Deadline) throws(VMInstallError)

    /// Whether a VM of these files (install or runtime VM) runs, or that it cannot be told.
    func runState(files: VMPaths) -> VMRunState

    /// Writes a PNG of the screen of whichever VM of these files runs (install or runtime VM)
    /// to `path`, from any process, also while a job runner holds its session. Throws
    /// `.wrongState` when no VM runs and `.noScreen` when the VM has no screen.
    func screenshot(files: VMPaths, to path: String) throws(VMInstallError)

    /// Stops the VM and removes what the hypervisor keeps of it besides its files: libvirt's
    /// domain definition and uploaded media. For --cancel and --delete.
    func discard(files: VMPaths) throws(VMInstallError)

    /// A `--disk pool=…` volume, in SETTINGS: an existing volume to use as it is, or one to
    /// create in PREP_INSTALL.
    func planVolume(_ disk: DiskSpec, vmName: String, index: Int) throws(VMInstallError) -> VolumePlan

    /// Creates a planned volume; returns where it is and its key.
    func createVolume(_ plan: VolumePlan) throws(VMInstallError) -> CreatedVolume

    /// Deletes a volume the job created, if it is still that volume (pool, name and key).
    func deleteVolume(_ volume: CreatedVolume, log: JobLog) throws(VMInstallError)
}

extension HypervisorDriver {
    public func preflight(_ spec: VMSpec) throws(VMInstallError) {}

    public func capacity() throws(VMInstallError) -> HostCapacity? { nil }

    public var host: String? { nil }

    /// libvirt finds the firmware itself.
    public func checkFirmware(_ firmware: Firmware) throws(VMInstallError) {}

    public func discard(files: VMPaths) throws(VMInstallError) {
        try stopAll(files: files, deadline: .after(seconds: 5))
    }

    public func planVolume(_ disk: DiskSpec, vmName: String, index: Int) throws(VMInstallError) -> VolumePlan {
        throw VMInstallError(
            .settings, "--disk pool=\(disk.pool ?? ""): storage pools are libvirt's; give --connect URI")
    }

    public func createVolume(_ plan: VolumePlan) throws(VMInstallError) -> CreatedVolume {
        throw VMInstallError(.internal, "no storage pools without libvirt")
    }

    public func deleteVolume(_ volume: CreatedVolume, log: JobLog) throws(VMInstallError) {}
}

/// A storage-pool volume for a disk, as SETTINGS settled it.
public struct VolumePlan: Sendable, Equatable {
    public let pool: String
    public let name: String
    /// Set for a volume that exists (used as it is, never removed).
    public let existingPath: String?
    public let size: UInt64?
    public let format: DiskFormat
}

/// The host facts a driver settled on in SETTINGS.
public struct ResolvedHost: Sendable, Equatable {
    public var accel: String
    /// A line for the job's log about how the host was settled (KVM that could not be used).
    public var notice: String?
}

/// A host's memory as its hypervisor reports it, in MiB.
public struct HostCapacity: Sendable, Equatable {
    public let totalMiB: Int
    public let freeMiB: Int
    /// What the running VMs that are not this state directory's use.
    public let othersMiB: Int
}

/// Whether a VM runs: one question with three answers. Every caller treats `.unknown` as
/// running: a disk or a memory share is never given away on a guess.
public enum VMRunState: Sendable, Equatable {
    case running
    case stopped
    /// The hypervisor did not answer; why, for messages.
    case unknown(String)

    /// Running, or perhaps running: what holds disks and memory.
    public var mayBeRunning: Bool { self != .stopped }
}

/// How a VM session ended while it was being watched.
public enum VMEnd: Sendable, Equatable {
    /// The guest powered off or rebooted.
    case guestShutdown
    /// The VM process went away without the guest asking for it.
    case vanished
    case canceled
    case timedOut
    /// The hypervisor could not be reached again in time (a remote host, a daemon).
    case lostConnection(String)
}

/// A connection to one running VM.
public protocol VMSession: AnyObject {
    /// `ip::port` of the VNC console, once known.
    var vncAddress: String? { get }

    /// Waits until the VM process ends, a cancel arrives or the deadline passes.
    func waitForEnd(cancel: CancelSignal, deadline: Deadline) -> VMEnd

    /// Lets the VM, started paused, run.
    func resume() throws(VMInstallError)

    /// Confirms through the control channel that the guest is running.
    func confirmRunning() throws(VMInstallError)

    /// Writes a PNG of the VM's screen to `path`; throws `.noScreen` when it has none.
    func screenshot(to path: String) throws(VMInstallError)

    /// What the VM visibly does now (disk writes, screen, serial output), or nil when it
    /// cannot be told (the VM is going away).
    func activity() -> VMActivity?

    /// Presses the keys together and releases them after `holdMilliseconds` (`BootKeys`'
    /// qnum codes, modifiers first), as if typed on the VM's keyboard.
    func sendKeys(_ codes: [UInt32], holdMilliseconds: Int) throws(VMInstallError)

    /// Stops the VM and waits for its process to end.
    func stop(deadline: Deadline)

    /// Lets go of the VM, which keeps running.
    func detach()
}

/// A sample of what a VM visibly did so far: equal successive samples mean that nothing
/// visible happened in between. The job code only compares samples; what they hold is the
/// driver's business.
public struct VMActivity: Equatable, Sendable {
    let marks: [UInt64]
}
