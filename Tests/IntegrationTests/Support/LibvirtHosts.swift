import Glibc
import Testing
import VMInstallKit

/// One of the independent libvirt hosts that scripts/libvirt-hosts.sh runs on this machine:
/// a libvirtd in a mount namespace of its own on 127.0.0.K, reached over TCP and over ssh.
struct LibvirtHost: Sendable {
    /// K, of 127.0.0.K.
    let number: Int
    let tcpURI: String
    let sshURI: String
    /// The host's files (ROOT/hostK): run/ is its /run/libvirt, etc/ its /etc/libvirt, log/ its
    /// /var/log/libvirt (and sshd.log), libvirtd.pid its libvirtd's pid.
    let directory: String

    /// The directory of its storage pool "default", the same path inside and outside its namespace.
    var poolDirectory: String { "\(directory)/images" }
}

/// Gets tests N hosts (`try await fx.libvirtHosts(3)`), starting through the script those that
/// do not answer. Hosts are shared: by the suites of this process, by other test processes and
/// by a developer who started them by hand, so a test never stops one. While it uses hosts, a
/// test process holds a shared lock on `leasePath`; the hosts a test process started are marked
/// (`started-by-tests` in their directory), and at exit the last test process still holding
/// the lock stops the marked ones. Hosts started by hand are never marked, so never stopped.
actor LibvirtHosts {
    static let shared = LibvirtHosts()
    static let script = "\(Fixture.repositoryRoot)/scripts/libvirt-hosts.sh"
    /// ROOT, as the script has it.
    static let root = getenv("VMI_TEST_HOSTS_DIR").map { String(cString: $0) } ?? "/var/lib/vmi-test-hosts"
    static let leasePath = "/run/lock/vmi-test-hosts.users"
    static let marker = "started-by-tests"
    /// The lease, open for the process's lifetime once taken; only `lease()` sets it.
    nonisolated(unsafe) private static var leaseFD: Int32 = -1

    private var known: [LibvirtHost] = []

    /// `count` hosts; `checked`: asks the script again even when they were known (a test that
    /// stopped one, or killed its libvirtd, has it started again).
    func hosts(_ count: Int, in fx: Fixture, checked: Bool = false) async throws -> [LibvirtHost] {
        if known.count >= count, !checked { return Array(known.prefix(count)) }
        try lease()
        let before = Set(try await script(fx, ["uris"]))
        let tcp = try await script(fx, ["start", "\(count)"])
        let ssh = try await script(fx, ["uris", "--ssh"])
        // Marked first, so that what this process started is stopped whatever fails below.
        for uri in tcp where !before.contains(uri) {
            if let number = Self.hostNumber(uri) {
                try FileIO.writeAtomically("\(Self.directory(number))/\(Self.marker)", "")
            }
        }
        var hosts: [LibvirtHost] = []
        for uri in tcp {
            let number = try #require(Self.hostNumber(uri), "the script printed \(uri)")
            let sshURI = try #require(ssh.first { Self.hostNumber($0) == number }, "no ssh URI for \(uri) in \(ssh)")
            hosts.append(LibvirtHost(number: number, tcpURI: uri, sshURI: sshURI, directory: Self.directory(number)))
        }
        try #require(hosts.count == count, "the script started \(tcp)")
        if hosts.count > known.count { known = hosts }
        return hosts
    }

    static func directory(_ number: Int) -> String { "\(root)/host\(number)" }

    /// K from `qemu+tcp://127.0.0.K/system` or `qemu+ssh://root@127.0.0.K[:port]/system?…`.
    static func hostNumber(_ uri: String) -> Int? {
        guard let start = uri.firstRange(of: "127.0.0.")?.upperBound else { return nil }
        return Int(String(uri[start...].prefix { $0.isNumber }))
    }

    private func script(_ fx: Fixture, _ arguments: [String]) async throws -> [String] {
        let r = try await fx.run("/bin/bash", [Self.script] + arguments)
        try #require(r.code == 0, "libvirt-hosts.sh \(arguments.joined(separator: " ")): \(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    /// Takes the shared lock (waiting while a last user stops the hosts) and arranges the stop.
    private func lease() throws {
        guard Self.leaseFD < 0 else { return }
        let fd = open(Self.leasePath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VMInstallError(.internal, "cannot open \(Self.leasePath)") }
        while flock(fd, LOCK_SH) != 0 {
            guard errno == EINTR else { throw VMInstallError(.internal, "cannot lock \(Self.leasePath)") }
        }
        Self.leaseFD = fd
        atexit { LibvirtHosts.stopMarkedHosts() }
    }

    /// At exit: when no other test process holds the lease, stops the hosts tests started.
    private static func stopMarkedHosts() {
        guard leaseFD >= 0, flock(leaseFD, LOCK_EX | LOCK_NB) == 0 else { return }
        let marked = ((try? FileIO.listDirectory(root)) ?? []).filter {
            $0.hasPrefix("host") && FileIO.exists("\(root)/\($0)/\(marker)")
        }
        guard !marked.isEmpty,
            let pid = try? spawnQuietly(["/bin/bash", script, "stop"] + marked.map { String($0.dropFirst(4)) })
        else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}

extension Fixture {
    /// `count` independent libvirt hosts (127.0.0.2 on), started if they do not answer.
    func libvirtHosts(_ count: Int) async throws -> [LibvirtHost] {
        try await LibvirtHosts.shared.hosts(count, in: self)
    }

    /// The same, each started again if it no longer answers (its domains kept as they were).
    func restartLibvirtHosts(_ count: Int) async throws -> [LibvirtHost] {
        try await LibvirtHosts.shared.hosts(count, in: self, checked: true)
    }
}
