import Glibc
import Testing
import VMInstallKit

/// Faults the QEMU driver does not have, and a remote URI; in the same serialized suite as
/// the other libvirt tests, since a libvirtd restart touches them all.
extension LibvirtInstallTests {
    /// libvirtd's pid, from its pid file.
    func libvirtdPID() -> pid_t? {
        (try? FileIO.readString("/run/libvirtd.pid")).flatMap { pid_t($0.trimmed) }
    }

    /// Gone, or a zombie waiting for PID 1 (never kill(pid, 0): PID 1 reaps late here).
    func hasEnded(_ pid: pid_t) -> Bool {
        guard let stat = try? FileIO.readString("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
            return true
        }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// The install is held until the job has reconnected to the restarted libvirtd.
    @Test func anInstallGoesOnThroughALibvirtdRestart() async throws {
        try await Fixture.withLibvirt(restartsLibvirtd: true) { fx in
            let guest = try await Guest.held.guest()
            let name = fx.domainName("restart")
            let r = try await fx.vmInstall(
                fx.libvirtArguments(
                    name: "restart", guest: guest,
                    extra: ["--background", "--install-timeout", String(Int(2 * Fixture.patience))]))
            let id = try #require(JobID(parsing: r.stdout.trimmed), "\(r.stderr)")
            try await fx.waitFor(id) { $0.state == .install }
            try await fx.waitForSerial(fx.vmFiles(name), Guest.startMark, "the held installer did not start")
            let old = try #require(libvirtdPID())
            kill(old, SIGTERM)
            // It is not our child: gone is when its /proc entry is.
            try await fx.waitUntil { self.hasEnded(old) }
            let restarted = try await fx.run("/usr/sbin/libvirtd", ["--daemon", "--listen"])
            try #require(restarted.code == 0, "\(restarted.stderr)")
            try await fx.waitUntil { self.libvirtdPID() != nil && self.libvirtdPID() != old }
            try await fx.waitUntil { fileContains(fx.store.paths(id).log, "reconnected to libvirt") }
            try await fx.releaseDomain(name)
            let end = try await fx.waitForEnd(id)
            #expect(end.state == .finished, "\(end.error ?? "")")
            let log = try FileIO.readString(fx.store.paths(id).log)
            #expect(log.contains("lost the connection to libvirt at \(Fixture.systemURI); reconnecting"), "\(log)")
            #expect(log.contains("reconnected to libvirt"), "\(log)")
            #expect(try await fx.virsh(["domstate", name]).stdout.contains("running"))
            #expect(await fx.serialShows(name, Guest.runtimeMark))
        }
    }

    /// qemu+tcp:// to this host's libvirtd on loopback is a remote URI: the ISO goes up into
    /// the pool, the disk is a pool volume, and both go with the job.
    /// The install is held while the test reads the install domain's definition.
    @Test func aRemoteURIUploadsTheMediaAndUsesPoolVolumes() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.held.guest()
            let name = fx.domainName("remote")
            let args = [
                "--name", name, "--source", guest.iso, "--disk", "pool=default,size=16M", "--memory", "64", "--accel",
                "tcg",
                "--settle", "0.5", "--install-timeout", String(Int(2 * Fixture.patience)), "--connect", Fixture.tcpURI,
                "--vnc", "--background",
            ]
            let local = try await fx.vmInstall(
                args.filter { $0 != "--background" }.map {
                    $0 == "pool=default,size=16M" ? "\(fx.root)/x.qcow2,size=16M" : $0
                })
            #expect(local.code == JobExitCode.settings.rawValue, "a client path means nothing on a remote host")
            #expect(
                local.stderr.contains("a path on this machine means nothing to libvirt at \(Fixture.tcpURI)"),
                "\(local.stderr)")
            let r = try await fx.vmInstall(args)
            let id = try #require(JobID(parsing: r.stdout.trimmed), "\(r.stderr)")
            try await fx.waitFor(id) { $0.state == .install }
            let status = try await fx.jobs(["--status", id.description])
            let vnc = try #require(status.keys["vnc"], "\(status.stdout)")
            #expect(vnc.hasPrefix("127.0.0.1::"), "\(status.stdout)")
            let port = vnc.split(separator: ":").last.map(String.init) ?? ""
            let log = try FileIO.readString(fx.store.paths(id).log)
            #expect(
                log.contains(
                    "the VNC console listens on 127.0.0.1 of 127.0.0.1: reach it with ssh -N -L \(port):127.0.0.1:\(port) 127.0.0.1"
                ), "\(log)")
            let installXML = try await fx.virsh(["dumpxml", name], uri: Fixture.tcpURI).stdout
            // The ISO's volume is named by its content (shared by every job that sends it there).
            let start = try #require(installXML.firstRange(of: "/var/lib/libvirt/images/vmi-media-"), "\(installXML)")
            let isoVolume = String(installXML[installXML.index(start.lowerBound, offsetBy: 24)...].prefix { $0 != "'" })
            #expect(!installXML.contains(guest.iso), "the client's path is not in the domain")
            try await fx.releaseDomain(name, uri: Fixture.tcpURI, job: id)
            let end = try await fx.waitForEnd(id)
            #expect(end.state == .finished, "\(end.error ?? "")")
            let volumes = try await fx.virsh(["vol-list", "default"], uri: Fixture.tcpURI).stdout
            #expect(volumes.contains("\(name).qcow2"), "\(volumes)")
            #expect(!volumes.contains(isoVolume), "the install's upload is gone once it ended")
            #expect(end.createdVolumes.map(\.name) == ["\(name).qcow2"])

            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            let after = try await fx.virsh(["vol-list", "default"], uri: Fixture.tcpURI).stdout
            #expect(!after.contains("\(name).qcow2"), "\(after)")
            #expect(try await fx.virsh(["dominfo", name], uri: Fixture.tcpURI).code != 0)
        }
    }
}

extension LibvirtInstallTests {
    /// A guest reboot ends the install like a power-off (on_reboot=destroy); a domain destroyed
    /// from outside fails it.
    @Test func aRebootEndsTheInstallAndADestroyFailsIt() async throws {
        try await Fixture.withLibvirt { fx in
            let rebooting = try await Guest.rebooting.guest()
            let r = try await fx.vmInstall(fx.libvirtArguments(name: "reboot", guest: rebooting))
            #expect(r.code == 0, "\(r.stderr)")
            #expect(await fx.serialShows(fx.domainName("reboot"), Guest.runtimeMark))

            let endless = try await Guest.endless.guest()
            let name = fx.domainName("destroyed")
            let b = try await fx.vmInstall(
                fx.libvirtArguments(name: "destroyed", guest: endless, extra: ["--background"]))
            let id = try #require(JobID(parsing: b.stdout.trimmed), "\(b.stderr)")
            try await fx.waitFor(id) { $0.state == .install }
            #expect(try await fx.virsh(["destroy", name]).code == 0)
            let end = try await fx.waitForEnd(id)
            #expect(end.state == .failed)
            #expect(end.exit == JobExitCode.installFailed.rawValue)
            #expect(end.error?.contains("without the guest powering off") == true, "\(end.error ?? "")")
        }
    }

    /// libvirtd gone for longer than $VM_INSTALL_RECONNECT_TIMEOUT: the job fails with one line.
    @Test func aHypervisorThatStaysAwayFailsTheJob() async throws {
        try await Fixture.withLibvirt(restartsLibvirtd: true) { fx in
            let guest = try await Guest.endless.guest()
            let command =
                [
                    "env", "VM_INSTALL_RECONNECT_TIMEOUT=4", "\(Fixture.buildDirectory)/vm-install", "--state-dir",
                    fx.stateDir,
                ]
                + fx.libvirtArguments(name: "away", guest: guest, extra: ["--background"])
            let r = try await fx.run("/usr/bin/env", Array(command.dropFirst()))
            let id = try #require(JobID(parsing: r.stdout.trimmed), "\(r.stderr)")
            try await fx.waitFor(id) { $0.state == .install }
            try await fx.waitUntil { fileContains(fx.vmFiles(fx.domainName("away")).serialLog, "START") }
            let old = try #require(libvirtdPID())
            kill(old, SIGTERM)
            try await fx.waitUntil { self.hasEnded(old) }
            let end: JobRecord
            do {
                end = try await fx.waitFor(id) { $0.state.isTerminal }
            } catch {
                _ = try? await fx.run("/usr/sbin/libvirtd", ["--daemon", "--listen"])
                throw error
            }
            let restarted = try await fx.run("/usr/sbin/libvirtd", ["--daemon", "--listen"])
            try #require(restarted.code == 0, "\(restarted.stderr)")
            try await fx.waitUntil {
                (try? FileIO.readString("/run/libvirtd.pid")) != nil && self.libvirtdPID() != old
            }
            try await fx.waitUntil { tcpConnects(port: 16509) }
            #expect(end.state == .failed)
            #expect(
                end.error
                    == "the connection to libvirt at \(Fixture.systemURI) was lost and could not be made again within 4 s",
                "\(end.error ?? "")")
            // libvirt is back: --delete removes the domain the failed job left.
            _ = try await fx.waitForEnd(id)
            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            #expect(try await fx.virsh(["dominfo", fx.domainName("away")]).code != 0)
        }
    }
}

extension LibvirtInstallTests {
    /// A volume that was there before (--disk pool=default,name=VOL) is used as it is and is
    /// never removed; its qcow2 format comes from libvirt.
    @Test func anExistingVolumeIsUsedAndKept() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.quick.guest()
            let volume = "\(fx.domainName("kept")).qcow2"
            #expect(try await fx.virsh(["vol-create-as", "default", volume, "16M", "--format", "qcow2"]).code == 0)
            defer { Task { _ = try? await fx.virsh(["vol-delete", "--pool", "default", volume]) } }
            let taken = try await fx.vmInstall(
                fx.libvirtArguments(name: "kept", guest: guest).map {
                    $0.hasSuffix(".qcow2,size=16M") ? "pool=default,size=16M" : $0
                })
            #expect(taken.code == JobExitCode.settings.rawValue, "a default volume name that is taken is refused")
            #expect(taken.stderr.contains("already has a volume \(volume); give name=\(volume)"), "\(taken.stderr)")
            let r = try await fx.vmInstall(
                fx.libvirtArguments(name: "kept", guest: guest).map {
                    $0.hasSuffix(".qcow2,size=16M") ? "pool=default,name=\(volume)" : $0
                })
            #expect(r.code == 0, "\(r.stderr)")
            #expect(await fx.serialShows(fx.domainName("kept"), Guest.runtimeMark))
            let xml = try await fx.virsh(["dumpxml", fx.domainName("kept")]).stdout
            #expect(xml.contains("type='qcow2'") && xml.contains("/var/lib/libvirt/images/\(volume)"), "\(xml)")
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(
                try await fx.virsh(["vol-info", "--pool", "default", volume]).code == 0,
                "the volume that was there stays")
        }
    }
}
