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
            try await allowingBridge(bridge) {
                let result = try await fx.vmInstall(
                    fx.vmArguments(name: "bridged", guest: guest) + ["--nic", "bridge=\(bridge)"])
                #expect(result.code == 0, "\(result.stderr)")
                // QEMU's tap for the VM is a port of the bridge while the VM runs.
                let ports = (try? FileIO.listDirectory("/sys/class/net/\(bridge)/brif")) ?? []
                #expect(ports.count == 1, "\(ports)")
                #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            }
        }
    }

    /// Runs `body` with qemu-bridge-helper allowed to use `bridge`: writes
    /// /etc/qemu/bridge.conf (where there is none, as the tests' conditions check) and
    /// removes it after.
    func allowingBridge(_ bridge: String, _ body: () async throws -> Void) async throws {
        let madeDirectory = (try? FileIO.makeDirectory("/etc/qemu", mode: 0o755)) == true
        try FileIO.writeAtomically(
            "/etc/qemu/bridge.conf", "allow \(bridge)\n", mode: [.ownerReadWrite, .groupRead, .otherRead])
        defer {
            unlink("/etc/qemu/bridge.conf")
            if madeDirectory { rmdir("/etc/qemu") }
        }
        try await body()
    }

    /// On a bridge, the job's answer server listens on the host's address on that bridge and
    /// `{{http}}` names that address. Nothing may go to an address outside 127.0.0.0/8 on this
    /// machine, so all of it happens in a network namespace the test makes: a bridge there
    /// with the documentation address 192.0.2.1, and vm-install, its runner, QEMU and
    /// qemu-bridge-helper run in it (`ip netns exec`), as does the client that fetches from
    /// the server. A held install: the served file is fetched from the bridge's address while
    /// the install runs, and the server's log has the request. Then the tiny kernel of a
    /// local tree prints the command line it got: `{{http}}` in --extra-args became the
    /// bridge's address and the server's port, and the installer's log goes there too.
    @Test(.enabled(if: !FileIO.exists("/etc/qemu/bridge.conf"), "leaves an existing /etc/qemu/bridge.conf alone"))
    func theAnswerServerListensOnTheBridge() async throws {
        try await Fixture.with { fx in
            let held = try await Guest.held.guest()
            let quick = try await Guest.quick.guest()
            let namespace = "vmi-ns\(getpid())"
            let bridge = "vmibr\(getpid() % 10000)"
            let address = "192.0.2.1"
            let made = try await fx.run("/usr/sbin/ip", ["netns", "add", namespace])
            try #require(made.code == 0, "\(made.stderr)")
            defer { _ = system("/usr/sbin/ip netns del \(namespace)") }
            func inNamespace(_ command: [String]) async throws -> ToolResult {
                try await fx.run("/usr/sbin/ip", ["netns", "exec", namespace] + command)
            }
            for command in [
                ["ip", "link", "set", "lo", "up"], ["ip", "link", "add", bridge, "type", "bridge"],
                ["ip", "addr", "add", "\(address)/24", "dev", bridge], ["ip", "link", "set", bridge, "up"],
            ] {
                let r = try await inNamespace(["/usr/sbin/\(command[0])"] + command.dropFirst())
                try #require(r.code == 0, "\(command): \(r.stderr)")
            }
            let served = "\(fx.root)/served"
            _ = try FileIO.makeDirectory(served)
            try FileIO.writeAtomically("\(served)/preseed.cfg", "d-i debian-installer/locale string en_US\n")
            let vmInstall = ["\(Fixture.buildDirectory)/vm-install", "--state-dir", fx.stateDir]

            try await allowingBridge(bridge) {
                let started = try await inNamespace(
                    vmInstall
                        + fx.vmArguments(
                            name: "bridged", guest: held,
                            extra: ["--nic", "bridge=\(bridge)", "--serve", served, "--background"]))
                try #require(started.code == 0, "\(started.stderr)")
                let id = try #require(JobID(parsing: started.stdout.trimmed))
                let log = fx.store.paths(id).log
                let port = try await InstallServicesTests().port(in: log, after: "answer server: http://\(address):")
                #expect(
                    fileContains(
                        log,
                        "answer server: http://\(address):\(port)/ for the install VM (listening on \(address):\(port)), serving \(served)"
                    ), "\((try? FileIO.readString(log)) ?? "")")
                let fetched = try await inNamespace([
                    "/usr/bin/curl", "-s", "--max-time", "10", "http://\(address):\(port)/preseed.cfg",
                ])
                #expect(fetched.stdout == "d-i debian-installer/locale string en_US\n", "\(fetched.stderr)")
                try await fx.release("bridged")
                let record = try await fx.waitForEnd(id)
                #expect(record.state == .finished, "\(record.error ?? "")")
                #expect(
                    fileContains(log, "answer server: GET /preseed.cfg 200 "), "\((try? FileIO.readString(log)) ?? "")")

                let tree = "\(fx.root)/fedora-tree"
                try InstallTreeTests().makeTree(
                    tree, kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img", guest: quick)
                let booted = try await inNamespace(
                    vmInstall
                        + fx.vmArguments(name: "treebridged", guest: quick).map { $0 == quick.iso ? tree : $0 }
                        + ["--nic", "bridge=\(bridge)", "--extra-args=vmi.ks=http://{{http}}/ks.cfg"])
                #expect(booted.code == 0, "\(booted.stderr)")
                let http = try #require(
                    booted.stderr.firstRange(of: "answer server: http://\(address):").map {
                        booted.stderr[$0.upperBound...].prefix(while: \.isNumber)
                    }, "\(booted.stderr)")
                let syslog = try #require(
                    booted.stderr.firstRange(of: "installer syslog: \(address):").map {
                        booted.stderr[$0.upperBound...].prefix(while: \.isNumber)
                    }, "\(booted.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("treebridged").serialLog)
                        == "inst.syslog=\(address):\(syslog) console=ttyS0,115200n8 vmi.ks=http://\(address):\(http)/ks.cfg"
                )
            }
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
