import Glibc
import Testing
import VMInstallKit

/// Sources and NICs that are host devices: a CD/DVD-like block device, a tap interface, and an
/// install tree behind HTTPS. Root makes the devices, as an administrator would.
@Suite(.serialized, .enabled(if: geteuid() == 0, "needs root for loop and tap devices"))
struct HostDeviceTests {
    @Test func aBlockDeviceIsAnInstallSource() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let loop = try await fx.run("/usr/sbin/losetup", ["--find", "--show", "--read-only", guest.iso])
            try #require(loop.code == 0, "\(loop.stderr)")
            let device = loop.stdout.trimmed
            defer { _ = system("/usr/sbin/losetup -d \(device)") }
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "fromdev", guest: guest).map { $0 == guest.iso ? device : $0 })
            #expect(result.code == 0, "\(result.stderr)")
            #expect(await fx.serialShows("fromdev", Guest.runtimeMark))
        }
    }

    @Test func aTapDeviceIsANIC() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let tap = "vmitap\(getpid() % 10000)"
            let add = try await fx.run("/usr/sbin/ip", ["tuntap", "add", "dev", tap, "mode", "tap"])
            try #require(add.code == 0, "\(add.stderr)")
            defer { _ = system("/usr/sbin/ip tuntap del dev \(tap) mode tap") }
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "tapped", guest: guest) + ["--nic", "tap=\(tap),model=e1000"])
            #expect(result.code == 0, "\(result.stderr)")
            #expect(fileContains(fx.vmFiles("tapped").config, "nic=tap=\(tap),model=e1000,mac=52:54:00:"))
            // QEMU holds the tap open while the VM runs.
            let flags = try FileIO.readString("/sys/class/net/\(tap)/flags").trimmed
            #expect(!flags.isEmpty)
            let pid = try #require(Int32(try FileIO.readString(fx.vmFiles("tapped").pidFile).trimmed))
            let fds = try FileIO.listDirectory("/proc/\(pid)/fd")
            let opensTun = fds.contains { fd in
                var target = [CChar](repeating: 0, count: 256)
                let n = readlink("/proc/\(pid)/fd/\(fd)", &target, 255)
                return n > 0
                    && String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == "/dev/net/tun"
            }
            #expect(opensTun)
            // The VM lets go of the tap before the tap is deleted (the defer above).
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
        }
    }

    /// A bridge NIC through qemu-bridge-helper. The helper only allows bridges listed in
    /// /etc/qemu/bridge.conf; the test writes that file only where there is none, and removes it.
    @Test(.enabled(if: !FileIO.exists("/etc/qemu/bridge.conf"), "leaves an existing /etc/qemu/bridge.conf alone"))
    func aBridgeIsANIC() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let bridge = "vmibr\(getpid() % 10000)"
            let add = try await fx.run("/usr/sbin/ip", ["link", "add", bridge, "type", "bridge"])
            try #require(add.code == 0, "\(add.stderr)")
            defer { _ = system("/usr/sbin/ip link del \(bridge)") }
            let madeDirectory = (try? FileIO.makeDirectory("/etc/qemu", mode: 0o755)) == true
            try FileIO.writeAtomically(
                "/etc/qemu/bridge.conf", "allow \(bridge)\n", mode: [.ownerReadWrite, .groupRead, .otherRead])
            defer {
                unlink("/etc/qemu/bridge.conf")
                if madeDirectory { rmdir("/etc/qemu") }
            }
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "bridged", guest: guest) + ["--nic", "bridge=\(bridge)"])
            #expect(result.code == 0, "\(result.stderr)")
            // QEMU's tap for the VM is a port of the bridge while the VM runs.
            let ports = (try? FileIO.listDirectory("/sys/class/net/\(bridge)/brif")) ?? []
            #expect(ports.count == 1, "\(ports)")
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
        }
    }

    @Test func anInstallTreeOverHTTPS() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let served = "\(fx.root)/www"
            try InstallTreeTests().makeTree(
                "\(served)/fedora", kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img", guest: guest)
            let key = "\(fx.root)/key.pem"
            let cert = "\(fx.root)/cert.pem"
            let made = try await fx.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
                ])
            try #require(made.code == 0, "\(made.stderr)")
            let server = try await LoopbackServer.start(.https(directory: served, cert: cert, key: key), in: fx)
            defer { server.stop() }
            let port = server.port
            let url = "https://127.0.0.1:\(port)/fedora/"
            // curl trusts the test's own certificate through CURL_CA_BUNDLE, as an administrator's CA.
            let command =
                (["env", "CURL_CA_BUNDLE=\(cert)", "\(Fixture.buildDirectory)/vm-install", "--state-dir", fx.stateDir]
                    + fx.vmArguments(name: "secure", guest: guest).map { $0 == guest.iso ? url : $0 })
            let result = try await fx.run("/usr/bin/env", Array(command.dropFirst()))
            #expect(result.code == 0, "\(result.stderr)")
            // The guest on the user network reaches this host's loopback as 10.0.2.2.
            #expect(fileContains(fx.vmFiles("secure").serialLog, "inst.repo=https://10.0.2.2:\(port)/fedora/"))
            let untrusted = try await fx.vmInstall(
                fx.vmArguments(name: "untrusted", guest: guest).map { $0 == guest.iso ? url : $0 })
            #expect(untrusted.code == JobExitCode.settings.rawValue, "a certificate nobody trusts must not be accepted")
        }
    }
}
