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

    static func withLibvirt(_ body: (Fixture) async throws -> Void) async throws {
        try await with { fx in
            do { try await body(fx) } catch {
                await fx.removeDomains()
                throw error
            }
            await fx.removeDomains()
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
