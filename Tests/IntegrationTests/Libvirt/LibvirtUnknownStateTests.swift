import Glibc
import Testing
import VMInstallKit

/// "Unknown" is never "free": a disk whose VM's hypervisor does not answer is in use.
extension LibvirtInstallTests {
    @Test func aDiskIsInUseWhileItsVMsLibvirtDoesNotAnswer() async throws {
        try await Fixture.withLibvirt(restartsLibvirtd: true) { fx in
            let guest = try await Guest.quick.guest()
            let disk = "\(fx.root)/held.qcow2"
            let name = fx.domainName("held")
            let first = try await fx.vmInstall(
                fx.vmArguments(
                    name: name, guest: guest, disk: "\(disk),size=16M", extra: ["--connect", Fixture.systemURI]))
            try #require(first.code == 0, "\(first.stderr)")
            #expect(try await fx.virsh(["domstate", name]).stdout.contains("running"))

            // A second VM on the same disk, on QEMU itself (it needs no libvirt of its own).
            let second = fx.vmArguments(name: "taker", guest: guest, disk: disk)
            let answered = try await fx.vmInstall(second + ["--background"])
            #expect(answered.code == JobExitCode.settings.rawValue, "\(answered.stderr)")
            #expect(answered.stderr.contains("disk \(disk) is in use by the running VM \(name)"), "\(answered.stderr)")

            let old = try #require(libvirtdPID())
            kill(old, SIGTERM)
            try await fx.waitUntil { self.hasEnded(old) }
            do {
                for background in [false, true] {
                    let r = try await fx.vmInstall(second + (background ? ["--background"] : []))
                    #expect(r.code == JobExitCode.settings.rawValue, "background \(background): \(r.stderr)")
                    #expect(
                        r.stderr.contains("disk \(disk) may be in use by the VM \(name), which cannot be checked"),
                        "\(r.stderr)")
                    #expect(r.stdout.isEmpty, "no job id for a refusal")
                }
                #expect(try fx.store.listIDs().count == 1, "the refusals left no job behind")
            } catch {
                _ = try? await fx.run("/usr/sbin/libvirtd", ["--daemon", "--listen"])
                throw error
            }
            let restarted = try await fx.run("/usr/sbin/libvirtd", ["--daemon", "--listen"])
            try #require(restarted.code == 0, "\(restarted.stderr)")
            try await fx.waitUntil { self.libvirtdPID() != nil && self.libvirtdPID() != old }
            // libvirtd answers again, and finds the VM it left running.
            let id = try #require(try fx.store.listIDs().first)
            try await fx.waitUntil {
                HypervisorDrivers.driver(forJob: id, in: fx.store, log: nil).runState(files: fx.vmFiles(name))
                    == .running
            }
        }
    }
}
