import Glibc
import Testing
import VMInstallKit

/// vm-install --connect: the same jobs, carried out by a real libvirtd.
@Suite(.serialized) struct LibvirtInstallTests {
    /// `vnc://127.0.0.1:0` (virsh domdisplay) as our `127.0.0.1::5900`.
    func statusForm(_ display: String) -> String? {
        guard display.hasPrefix("vnc://"), let colon = display.lastIndex(of: ":") else { return nil }
        let host = display[display.index(display.startIndex, offsetBy: 6)..<colon]
        guard let n = Int(String(display[display.index(after: colon)...]).trimmed) else { return nil }
        return "\(host)::\(5900 + n)"
    }

    @Test func anInstallBecomesAPersistentRunningDomain() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.quick.guest()
            let name = fx.domainName("web")
            let r = try await fx.vmInstall(fx.libvirtArguments(name: "web", guest: guest, extra: ["--vnc"]))
            #expect(r.code == 0, "\(r.stderr)")
            #expect(await fx.serialShows(name, Guest.runtimeMark))

            let list = try await fx.virsh(["list", "--name"])
            #expect(list.stdout.split(separator: "\n").contains(Substring(name)), "\(list.stdout)")
            let info = try await fx.virsh(["dominfo", name])
            #expect(info.stdout.contains("Persistent:     yes"), "\(info.stdout)")
            let xml = try await fx.virsh(["dumpxml", name])
            #expect(xml.stdout.contains("<vmi:id>1</vmi:id>"), "\(xml.stdout)")
            #expect(xml.stdout.contains("<description>vm-install job 1"), "\(xml.stdout)")
            #expect(!xml.stdout.contains(guest.iso), "the final definition has no install medium")

            let status = try await fx.jobs(["--status", "1"])
            let display = try await fx.virsh(["domdisplay", name])
            #expect(
                status.keys["vnc"] != nil && status.keys["vnc"] == statusForm(display.stdout.trimmed),
                "\(status.stdout) / \(display.stdout)")

            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(try await fx.virsh(["dominfo", name]).code != 0, "the domain is undefined")
            #expect(!FileIO.exists("\(fx.root)/\(name).qcow2"), "the disk the job created is gone")
        }
    }

    /// The OS in the libosinfo metadata virt-install writes, beside ours, in the install's
    /// definition and the one that stays: virt-manager and Cockpit show it.
    @Test func theDomainNamesItsOSAsVirtInstallDoes() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.quick.guest()
            let name = fx.domainName("f37")
            let r = try await fx.vmInstall(
                fx.libvirtArguments(name: "f37", guest: guest, extra: ["--os-type", "fedora37"]))
            #expect(r.code == 0, "\(r.stderr)")
            #expect(fileContains(fx.vmFiles(name).config, "os-id=fedora37"))
            for flags in [[], ["--inactive"]] {
                let xml = try await fx.virsh(["dumpxml", name] + flags)
                #expect(
                    xml.stdout.contains(
                        "<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">"),
                    "\(xml.stdout)")
                #expect(xml.stdout.contains("<libosinfo:os id=\"http://fedoraproject.org/fedora/37\"/>"), "\(flags)")
                #expect(xml.stdout.contains("<vmi:id>1</vmi:id>"), "\(flags)")
            }
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(try await fx.virsh(["dominfo", name]).code != 0)
        }
    }

    @Test func aNameLibvirtHasAlreadyIsRefused() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.quick.guest()
            let name = fx.domainName("taken")
            let xml =
                "<domain type='qemu'><name>\(name)</name><memory unit='MiB'>16</memory><os><type>hvm</type></os><description>\(fx.stateDir)</description></domain>"
            try FileIO.writeAtomically("\(fx.root)/taken.xml", xml)
            #expect(try await fx.virsh(["define", "\(fx.root)/taken.xml"]).code == 0)
            let r = try await fx.vmInstall(fx.libvirtArguments(name: "taken", guest: guest))
            #expect(r.code == JobExitCode.settings.rawValue, "\(r.stderr)")
            #expect(r.stderr.contains("already has a domain named \(name)"), "\(r.stderr)")
            #expect(try await fx.virsh(["dominfo", name]).code == 0, "the domain that was there is left alone")
            _ = try await fx.virsh(["undefine", name])
        }
    }

    @Test func cancelInInstallUndefinesTheDomain() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.endless.guest()
            let name = fx.domainName("endless")
            let r = try await fx.vmInstall(fx.libvirtArguments(name: "endless", guest: guest, extra: ["--background"]))
            try #require(r.code == 0, "\(r.stderr)")
            let id = try #require(JobID(parsing: r.stdout.trimmed))
            try await fx.waitFor(id) { $0.state == .install }
            #expect(try await fx.virsh(["domstate", name]).stdout.contains("running"))
            #expect(try await fx.jobs(["--cancel", "1"]).code == 0)
            let end = try await fx.waitForEnd(id)
            #expect(end.state == .canceled)
            #expect(try await fx.virsh(["dominfo", name]).code != 0, "canceled: destroyed and undefined")
        }
    }

    @Test func detachLeavesTheDomainDefinedAndRunning() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.quick.guest()
            let name = fx.domainName("kept")
            #expect(try await fx.vmInstall(fx.libvirtArguments(name: "kept", guest: guest)).code == 0)
            #expect(try await fx.jobs(["--detach", "1"]).code == 0)
            let info = try await fx.virsh(["dominfo", name])
            #expect(info.stdout.contains("State:          running"), "\(info.stdout)")
            #expect(info.stdout.contains("Persistent:     yes"))
            #expect(try await fx.jobs(["--status", "1"]).code == 3, "the job is gone")
        }
    }

    @Test func aRunnerKilledInInstallLeavesNoDomainRunning() async throws {
        try await Fixture.withLibvirt { fx in
            let guest = try await Guest.endless.guest()
            let name = fx.domainName("orphan")
            let r = try await fx.vmInstall(fx.libvirtArguments(name: "orphan", guest: guest, extra: ["--background"]))
            let id = try #require(JobID(parsing: r.stdout.trimmed))
            let record = try await fx.waitFor(id) { $0.state == .install && $0.runnerPID != nil }
            kill(record.runnerPID!, SIGKILL)
            try await fx.waitUntil { !fx.store.runnerIsAlive(id) }
            let status = try await fx.jobs(["--status", "1"])
            #expect(status.keys["state"] == "7", "\(status.stdout)")
            #expect(status.keys["exit"] == "11")
            #expect(
                try await fx.virsh(["domstate", name]).stdout.contains("shut off"),
                "the next request stopped the domain")
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(try await fx.virsh(["dominfo", name]).code != 0)
        }
    }
}
