/// What the job runner needs from a hypervisor. The job code knows only this protocol:
/// QEMU-direct is the first driver (Hypervisor/QEMU/); a libvirt driver would sit beside it
/// in Hypervisor/Libvirt/ and be chosen in `HypervisorDrivers.driver(for:)`.
public protocol HypervisorDriver: Sendable {
    /// Checks, in SETTINGS, that the host can run this VM and settles the accelerator.
    func prepare(_ spec: VMSpec) throws(VMInstallError) -> ResolvedHost

    /// Boots the install medium with the VM's disks attached, paused until the session's
    /// `resume()`. A guest reboot ends the install VM instead of restarting the installer.
    func startInstall(_ vm: VMConfig, medium: InstallMedium, files: VMPaths) async throws(VMInstallError) -> any VMSession

    /// Boots the installed VM from its first disk, detached so that it outlives the caller;
    /// paused until the session's `resume()`.
    func startRuntime(_ vm: VMConfig, files: VMPaths) async throws(VMInstallError) -> any VMSession

    /// Stops whatever this VM's files say is running (install or runtime VM); a no-op when
    /// nothing runs. Returns once the processes are gone or `deadline` has passed.
    func stopAll(files: VMPaths, deadline: Deadline) throws(VMInstallError)

    /// True when the runtime VM of these files is running.
    func isRunning(files: VMPaths) -> Bool

    /// Writes a PNG of the screen of whichever VM of these files runs (install or runtime VM)
    /// to `path`, from any process, also while a job runner holds its session. Throws
    /// `.wrongState` when no VM runs and `.noScreen` when the VM has no screen.
    func screenshot(files: VMPaths, to path: String) throws(VMInstallError)
}

/// The host facts a driver settled on in SETTINGS.
public struct ResolvedHost: Sendable, Equatable {
    public var accel: String
}

/// How a VM session ended while it was being watched.
public enum VMEnd: Sendable, Equatable {
    /// The guest powered off or rebooted.
    case guestShutdown
    /// The VM process went away without the guest asking for it.
    case vanished
    case canceled
    case timedOut
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

public enum HypervisorDrivers {
    /// The driver for a job. One driver today; the choice is made here and nowhere else.
    public static func driver(for spec: VMSpec?) -> any HypervisorDriver {
        QEMUDriver()
    }
}
