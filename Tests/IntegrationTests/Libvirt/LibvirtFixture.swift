import Glibc
import Testing
import VMInstallKit

/// libvirt tests run against the real libvirtd that scripts/libvirtd.sh starts, and check
/// what they did with virsh, libvirt's own client. Domain names carry the test process's pid,
/// and every domain whose metadata names the fixture's state directory is destroyed and
/// undefined afterwards, whatever the test did.
extension Fixture {
    static let systemURI = "qemu:///system"
    static let tcpURI = "qemu+tcp://127.0.0.1/system"

    func domainName(_ name: String) -> String { "vmi\(getpid())-\(name)" }

    func virsh(_ arguments: [String], uri: String = systemURI) async throws -> ToolResult {
        try await run("/usr/bin/virsh", ["-q", "-c", uri] + arguments)
    }

    /// The standard tiny VM, installed into libvirt.
    func libvirtArguments(name: String, guest: Guest, uri: String = systemURI, extra: [String] = []) -> [String] {
        vmArguments(name: domainName(name), guest: guest, extra: ["--connect", uri] + extra)
    }

    /// A fixture for the machine's own libvirtd. The tests that stop it (`restartsLibvirtd`)
    /// have it to themselves; the others share it, so none of them meets it stopped.
    static func withLibvirt(restartsLibvirtd: Bool = false, _ body: (Fixture) async throws -> Void) async throws {
        await SystemLibvirtd.shared.acquire(exclusive: restartsLibvirtd)
        do {
            try await with { fx in
                do { try await body(fx) } catch {
                    await fx.removeDomains()
                    throw error
                }
                await fx.removeDomains()
            }
        } catch {
            await SystemLibvirtd.shared.release(exclusive: restartsLibvirtd)
            throw error
        }
        await SystemLibvirtd.shared.release(exclusive: restartsLibvirtd)
    }

    /// Lets the install of a `Guest.held` domain go on: Enter pressed with `virsh send-key`.
    /// On a local daemon the domain's serial log is ours to read: the key goes once the
    /// installer has started (an earlier one would not count), checked by its GO. A remote
    /// domain's console is a pty nobody reads, so there, given its `job`, the key is pressed
    /// again each second until the job leaves INSTALL, or the domain stops running (the key
    /// before did it).
    func releaseDomain(_ name: String, uri: String = systemURI, job: JobID? = nil) async throws {
        func press() async throws -> Bool {
            let sent = try await virsh(["send-key", name, "KEY_ENTER"], uri: uri)
            if sent.code == 0 { return true }
            // The install domain stopped (the key before did it), and the installed VM, of the
            // same name, may already run: it is the install that must not run, so the job's
            // state is read after the domain's.
            let state = try await virsh(["domstate", name], uri: uri)
            if let job, try store.read(job).state != .install { return false }
            try #require(!state.stdout.contains("running"), "virsh send-key \(name): \(sent.stderr)")
            return false
        }
        guard let job else {
            try await waitForSerial(vmFiles(name), Guest.startMark, "the held installer did not start")
            try #require(try await press(), "domain \(name) stopped before its key")
            try await waitForSerial(vmFiles(name), Guest.goMark, "the held installer did not get its key")
            return
        }
        let deadline = Deadline.after(seconds: Self.patience)
        while try store.read(job).state == .install {
            try #require(!deadline.hasPassed, "job \(job) stayed in INSTALL after each key press")
            guard try await press() else { return }
            let pressed = Deadline.after(seconds: 1)
            while try store.read(job).state == .install, !pressed.hasPassed {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Destroys and undefines every domain made under this fixture's state directory.
    func removeDomains() async {
        guard let list = try? await virsh(["list", "--all", "--name"]) else { return }
        for name in list.stdout.split(separator: "\n").map(String.init) where name.hasPrefix("vmi\(getpid())-") {
            guard let xml = try? await virsh(["dumpxml", name]), xml.stdout.contains(stateDir) else { continue }
            _ = try? await virsh(["destroy", name])
            _ = try? await virsh(["undefine", "--nvram", name])
        }
    }
}

/// Who uses the machine's own libvirtd: many tests at once, or one that stops it. Waiters are
/// served in order, so a test that stops it is not passed by later sharers for ever.
actor SystemLibvirtd {
    static let shared = SystemLibvirtd()
    private var sharers = 0
    private var owned = false
    private var waiting: [(exclusive: Bool, go: CheckedContinuation<Void, Never>)] = []

    private func mayEnter(_ exclusive: Bool) -> Bool { !owned && (!exclusive || sharers == 0) }

    private func enter(_ exclusive: Bool) {
        if exclusive { owned = true } else { sharers += 1 }
    }

    func acquire(exclusive: Bool) async {
        if waiting.isEmpty && mayEnter(exclusive) { return enter(exclusive) }
        await withCheckedContinuation { waiting.append((exclusive, $0)) }
    }

    func release(exclusive: Bool) {
        if exclusive { owned = false } else { sharers -= 1 }
        while let next = waiting.first, mayEnter(next.exclusive) {
            waiting.removeFirst()
            enter(next.exclusive)
            next.go.resume()
        }
    }
}
