import Glibc
import Testing
import VMInstallKit

/// The test hosts of scripts/libvirt-hosts.sh, checked with virsh: each is a libvirt host of
/// its own (domains, pool, namespace), and its ssh URI reaches the same libvirtd as its TCP URI.
@Suite(.serialized) struct LibvirtHostsTests {
    /// A domain without disks: QEMU (TCG) runs SeaBIOS, which finds nothing to boot. Its
    /// description names the fixture, which makes it provably ours.
    func tinyDomain(_ name: String, in fx: Fixture, memoryMiB: Int = 32) throws -> String {
        let path = "\(fx.root)/\(name).xml"
        try FileIO.writeAtomically(
            path,
            """
            <domain type='qemu'>
              <name>\(name)</name>
              <description>\(fx.root)</description>
              <memory unit='MiB'>\(memoryMiB)</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
            </domain>
            """)
        return path
    }

    /// Runs `body`, then destroys and undefines `name` wherever it went (every host, and the
    /// machine's own libvirtd, should a URI have led there), whatever `body` did.
    func withDomain(
        _ name: String, on hosts: [LibvirtHost], in fx: Fixture, _ body: () async throws -> Void
    ) async throws {
        func remove() async {
            for uri in hosts.map(\.tcpURI) + [Fixture.systemURI] {
                guard let xml = try? await fx.virsh(["dumpxml", name], uri: uri), xml.stdout.contains(fx.root)
                else { continue }
                _ = try? await fx.virsh(["destroy", name], uri: uri)
                _ = try? await fx.virsh(["undefine", name], uri: uri)
            }
        }
        do { try await body() } catch {
            await remove()
            throw error
        }
        await remove()
    }

    func names(on uri: String, in fx: Fixture) async throws -> [String] {
        let list = try await fx.virsh(["list", "--all", "--name"], uri: uri)
        try #require(list.code == 0, "\(uri): \(list.stderr)")
        return list.stdout.split(separator: "\n").map(String.init)
    }

    func mountNamespace(_ pid: String) -> String? {
        var target = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/\(pid)/ns/mnt", &target, 63)
        guard n > 0 else { return nil }
        return String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test func aDomainDefinedOnOneHostIsAbsentOnTheOthers() async throws {
        try await Fixture.with { fx in
            let hosts = try await fx.libvirtHosts(3)
            let name = fx.domainName("hosts-only")
            try await withDomain(name, on: hosts, in: fx) {
                let defined = try await fx.virsh(["define", tinyDomain(name, in: fx)], uri: hosts[0].tcpURI)
                try #require(defined.code == 0, "\(defined.stderr)")
                let started = try await fx.virsh(["start", name], uri: hosts[0].tcpURI)
                try #require(started.code == 0, "\(started.stderr)")
                #expect(try await names(on: hosts[0].tcpURI, in: fx).contains(name))
                for other in hosts.dropFirst() {
                    #expect(try await !names(on: other.tcpURI, in: fx).contains(name), "\(other.tcpURI)")
                    #expect(try await fx.virsh(["dominfo", name], uri: other.tcpURI).code != 0, "\(other.tcpURI)")
                }
                #expect(try await fx.virsh(["dominfo", name], uri: Fixture.systemURI).code != 0)

                // Its QEMU runs in the host's mount namespace (where /run/libvirt is the host's), not in ours.
                let qemu = try FileIO.readString("\(hosts[0].directory)/run/qemu/\(name).pid").trimmed
                let libvirtd = try FileIO.readString("\(hosts[0].directory)/libvirtd.pid").trimmed
                let namespace = try #require(mountNamespace(qemu), "QEMU \(qemu) is not running")
                #expect(namespace == mountNamespace(libvirtd))
                #expect(namespace != mountNamespace("self"))

                #expect(try await fx.virsh(["destroy", name], uri: hosts[0].tcpURI).code == 0)
                #expect(try await fx.virsh(["undefine", name], uri: hosts[0].tcpURI).code == 0)
                #expect(try await !names(on: hosts[0].tcpURI, in: fx).contains(name))
            }
        }
    }

    @Test func eachHostHasItsOwnPoolDirectory() async throws {
        try await Fixture.with { fx in
            let hosts = try await fx.libvirtHosts(3)
            var paths: [String] = []
            for host in hosts {
                let xml = try await fx.virsh(["pool-dumpxml", "default"], uri: host.tcpURI)
                try #require(xml.code == 0, "\(host.tcpURI): \(xml.stderr)")
                #expect(xml.stdout.contains("<path>\(host.poolDirectory)</path>"), "\(xml.stdout)")
                #expect(FileIO.isDirectory(host.poolDirectory))
                paths.append(host.poolDirectory)
            }
            #expect(Set(paths).count == hosts.count, "\(paths)")

            let volume = "\(fx.domainName("hosts-volume")).qcow2"
            let owner = hosts[1]
            let created = try await fx.virsh(
                ["vol-create-as", "default", volume, "1M", "--format", "qcow2"], uri: owner.tcpURI)
            try #require(created.code == 0, "\(created.stderr)")
            defer { FileIO.removeFile("\(owner.poolDirectory)/\(volume)") }
            #expect(FileIO.exists("\(owner.poolDirectory)/\(volume)"))
            for host in hosts where host.number != owner.number {
                #expect(!FileIO.exists("\(host.poolDirectory)/\(volume)"))
                #expect(try await fx.virsh(["pool-refresh", "default"], uri: host.tcpURI).code == 0)
                let volumes = try await fx.virsh(["vol-list", "default"], uri: host.tcpURI)
                #expect(volumes.code == 0 && !volumes.stdout.contains(volume), "\(host.tcpURI): \(volumes.stdout)")
            }
            #expect(try await fx.virsh(["vol-delete", "--pool", "default", volume], uri: owner.tcpURI).code == 0)
            #expect(!FileIO.exists("\(owner.poolDirectory)/\(volume)"))
        }
    }

    /// A domain defined over ssh is the TCP URI's, on that host only; the session is the host's
    /// own sshd's, which runs in its namespace.
    @Test func sshAndTCPReachTheSameHost() async throws {
        try await Fixture.with { fx in
            let hosts = try await fx.libvirtHosts(2)
            let name = fx.domainName("hosts-ssh")
            let sshLog = "\(hosts[0].directory)/log/sshd.log"
            func acceptedSessions() -> Int {
                ((try? FileIO.readString(sshLog)) ?? "").split(separator: "\n").filter {
                    $0.contains("Accepted publickey for root")
                }.count
            }
            let sessions = acceptedSessions()
            try await withDomain(name, on: hosts, in: fx) {
                let defined = try await fx.virsh(["define", tinyDomain(name, in: fx)], uri: hosts[0].sshURI)
                try #require(defined.code == 0, "\(hosts[0].sshURI): \(defined.stderr)")
                #expect(acceptedSessions() > sessions, "host \(hosts[0].number)'s sshd took the session")
                #expect(try await names(on: hosts[0].tcpURI, in: fx).contains(name))
                #expect(try await names(on: hosts[0].sshURI, in: fx).contains(name))
                #expect(try await !names(on: hosts[1].sshURI, in: fx).contains(name))
                #expect(try await !names(on: hosts[1].tcpURI, in: fx).contains(name))
            }
            for host in hosts {
                let overSSH = try await fx.virsh(["hostname"], uri: host.sshURI)
                let overTCP = try await fx.virsh(["hostname"], uri: host.tcpURI)
                #expect(overSSH.code == 0 && overSSH.stdout == overTCP.stdout, "\(overSSH.stderr)")
                #expect(overTCP.stdout.trimmed == "vmi-test-host\(host.number)")
            }
        }
    }
}
