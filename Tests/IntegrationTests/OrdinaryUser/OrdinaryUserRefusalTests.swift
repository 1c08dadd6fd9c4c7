import Glibc
import Testing
import VMInstallKit

/// What an ordinary user cannot have is refused before the job exists with one line that
/// says how to get it, never with QEMU's words at the start of the install, and --background
/// refuses alike; and state directories that cannot be made or written are named.
@Suite(.serialized, .enabled(if: OrdinaryUser.canBeMade, "needs root, useradd and runuser to make an ordinary user"))
struct OrdinaryUserRefusalTests {
    @Test func whatNeedsRootIsRefusedUpFrontWithTheUnprivilegedWay() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                let guest = try await user.reach(try await Guest.quick.guest())
                // Root's files and directories, which the user can reach but not write.
                chmod(fx.root, 0o755)
                let rootsImage = "\(fx.root)/roots.img"
                try FileIO.writeAtomically(
                    rootsImage, bytes: [UInt8](repeating: 0, count: 1 << 20),
                    mode: [.ownerReadWrite, .groupRead, .otherRead])
                let secretImage = "\(fx.root)/secret.img"
                try FileIO.writeAtomically(secretImage, bytes: [UInt8](repeating: 0, count: 1 << 20))
                var n = 0
                func refused(
                    _ extra: [String], disk: String? = nil, _ code: JobExitCode, _ words: [String],
                    sourceLocation: SourceLocation = #_sourceLocation
                ) async throws {
                    n += 1
                    var arguments = user.vmArguments(name: "r\(n)", guest: guest) + extra
                    if let disk { arguments[arguments.firstIndex(of: "--disk")! + 1] = disk }
                    try await user.expectRefusedAlike(arguments, code, words, sourceLocation: sourceLocation)
                }

                if try await user.run("/usr/bin/test", ["-r", "/dev/kvm", "-a", "-w", "/dev/kvm"]).code != 0 {
                    try await refused(
                        ["--accel", "kvm"], .host,
                        ["KVM is not usable", "add \(user.name) to the kvm group", "--accel tcg"])
                }

                let tap = "vmit\(getpid() % 10_000)"
                try await refused(
                    ["--nic", "tap=\(tap)"], .host,
                    ["there is no tap device \(tap)", "ip tuntap add dev \(tap) mode tap user \(user.name)"])
                try await withTap(tap, fx, owner: nil) {
                    try await refused(
                        ["--nic", "tap=\(tap)"], .host,
                        ["not \(user.name)'s", "ip tuntap add dev \(tap) mode tap user \(user.name)"])
                }
                // A tap made for the user is the unprivileged way; QEMU also needs /dev/net/tun.
                try await withTap(tap, fx, owner: user.name) {
                    if try await user.run("/usr/bin/test", ["-r", "/dev/net/tun", "-a", "-w", "/dev/net/tun"]).code == 0
                    {
                        let id = try await user.startJob(name: "tapped", guest: guest, extra: ["--nic", "tap=\(tap)"])
                        let waited = try await user.jobs([
                            "--wait", id.description, "--timeout", "\(Int(Fixture.patience))",
                        ])
                        #expect(waited.code == 0, "\(waited.stdout)")
                        #expect(
                            try await user.jobs(["--delete", id.description]).code == 0, "the VM lets go of the tap")
                    } else {
                        try await refused(
                            ["--nic", "tap=\(tap)"], .host, ["cannot open /dev/net/tun", "chmod 0666 /dev/net/tun"])
                    }
                }

                // Where qemu-bridge-helper is not setuid root, or /etc/qemu/bridge.conf does not
                // allow the bridge, the line names the helper; where both are in order, the bridge
                // itself is missing.
                let bridge = "vmib\(getpid() % 10_000)"
                n += 1
                let bridged = try await user.expectRefusedAlike(
                    user.vmArguments(name: "r\(n)", guest: guest) + ["--nic", "bridge=\(bridge)"], .host,
                    ["--nic bridge=\(bridge)"])
                #expect(
                    bridged.stderr.contains("qemu-bridge-helper")
                        || bridged.stderr.contains("there is no bridge \(bridge)"), "\(bridged.stderr)")

                try await refused(
                    [], disk: rootsImage, .settings,
                    ["disk \(rootsImage) is not writable by \(user.name)", "backing=\(rootsImage)"])
                try await refused(
                    [], disk: secretImage, .settings, ["disk \(secretImage) is not readable by \(user.name)"])
                try await refused(
                    [], disk: "\(fx.root)/new.qcow2,size=16M", .settings,
                    ["cannot be created", "cannot write to \(fx.root)", user.home])
                try await refused(
                    [], disk: "\(user.home)/overlay.qcow2,backing=\(secretImage)", .settings,
                    ["backing file \(secretImage) is not readable"])
                let hidden = "\(fx.root)/hidden"
                try FileIO.makeDirectory(hidden, mode: 0o700)
                try await refused(
                    [], disk: "\(hidden)/x.qcow2,size=16M", .settings,
                    ["disk \(hidden)/x.qcow2 is out of \(user.name)'s reach"])
                #expect(!FileIO.exists("\(fx.root)/new.qcow2") && !FileIO.exists("\(user.home)/overlay.qcow2"))
            }
        }
    }

    @Test func stateDirectoriesThatCannotBeMadeOrWrittenAreNamed() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                // A path someone gives is made when its parent exists (by a job: a refusal
                // before the job makes nothing)...
                let given = "\(user.home)/given"
                user.uses(stateDirectory: given)
                try await user.expectRefusedAlike(
                    [
                        "--state-dir", given, "--name", "x", "--source", "\(user.home)/missing.iso", "--disk",
                        "\(user.home)/x.qcow2,size=1M",
                    ], .settings, ["the install source \(user.home)/missing.iso is missing or unreadable"],
                    stateDirectory: given)
                #expect(!FileIO.exists(given))
                let guest = try await user.reach(try await Guest.quick.guest())
                let made = try await user.vmInstall(["--state-dir", given] + user.vmArguments(name: "x", guest: guest))
                #expect(made.code == 0, "\(made.stderr)")
                expectPrivate(given, of: user)
                #expect(FileIO.isDirectory("\(given)/jobs/1"))

                // ...and only then: its missing parents are not made for it.
                let deep = "\(user.home)/a/b/state"
                for (environment, options, origin) in [
                    ([:], ["--state-dir", deep], "(--state-dir)"),
                    (["VM_INSTALL_STATE_DIR": deep], [], "(from $VM_INSTALL_STATE_DIR)"),
                ] {
                    let install = try await user.expectRefusedAlike(
                        options + ["--name", "x", "--source", "/x.iso", "--disk", "\(user.home)/x.qcow2,size=1M"],
                        .stateDirectory, [], environment: environment, stateDirectory: deep)
                    #expect(
                        install.stderr
                            == "vm-install: cannot create the state directory \(deep) \(origin): its parent directory \(user.home)/a/b does not exist; create it first, or choose another state directory\n"
                    )
                    let watch = try await user.jobs(options + ["--watch"], environment: environment)
                    #expect(watch.code == JobsToolExitCode.requestFailed.rawValue)
                    #expect(
                        watch.stderr.split(separator: "\n").count == 1
                            && watch.stderr.contains("its parent directory \(user.home)/a/b does not exist"),
                        "\(watch.stderr)")
                }
                #expect(!FileIO.exists("\(user.home)/a"))

                // The XDG default makes its parents, but not where the user may not.
                let forbidden = "/var/lib/vmi-nope-\(getpid())"
                try await user.expectRefusedAlike(
                    ["--name", "x", "--source", "/x.iso", "--disk", "\(user.home)/x.qcow2,size=1M"], .stateDirectory,
                    [
                        "cannot create \(forbidden), a parent of the state directory \(forbidden)/state/vm-install: Permission denied"
                    ], environment: ["XDG_STATE_HOME": "\(forbidden)/state"],
                    stateDirectory: "\(forbidden)/state/vm-install")
                #expect(!FileIO.exists(forbidden))

                // A state directory that is not the user's to write takes no job, nor one whose
                // parent is not.
                chmod(fx.root, 0o755)
                let roots = "\(fx.root)/roots-state"
                try FileIO.makeDirectory(roots, mode: 0o755)
                try await user.expectRefusedAlike(
                    ["--state-dir", roots] + user.vmArguments(name: "y", guest: guest), .stateDirectory,
                    ["cannot record a new job in \(roots)/jobs", "Permission denied"], stateDirectory: roots)
                try await user.expectRefusedAlike(
                    ["--state-dir", "\(roots)/new"] + user.vmArguments(name: "y", guest: guest), .stateDirectory,
                    ["cannot create the state directory \(roots)/new", "Permission denied"],
                    stateDirectory: "\(roots)/new")
                #expect(try FileIO.listDirectory(roots).isEmpty && !FileIO.exists("\(user.home)/y.qcow2"))

                // Nor the user's own state directory where its jobs or VMs directory is root's.
                for (sub, words) in [
                    ("jobs", "cannot record a new job in \(fx.root)/own-jobs/jobs"),
                    ("vms", "cannot make a VM's directory in \(fx.root)/own-vms/vms"),
                ] {
                    let own = "\(fx.root)/own-\(sub)"
                    try FileIO.makeDirectory(own, mode: 0o700)
                    chown(own, user.uid, gid_t(user.uid))
                    try FileIO.makeDirectory("\(own)/\(sub)", mode: 0o755)
                    user.uses(stateDirectory: own)
                    try await user.expectRefusedAlike(
                        ["--state-dir", own] + user.vmArguments(name: "y", guest: guest), .stateDirectory,
                        [words, "Permission denied"], stateDirectory: own)
                    #expect(try FileIO.listDirectory("\(own)/\(sub)").isEmpty)
                }
                #expect(!FileIO.exists("\(user.home)/y.qcow2"))
            }
        }
    }
}

/// A tap device made by root for the length of `body` (for `owner`, or for nobody).
func withTap(_ name: String, _ fx: Fixture, owner: String?, _ body: () async throws -> Void) async throws {
    let add = try await fx.run(
        "/usr/sbin/ip", ["tuntap", "add", "dev", name, "mode", "tap"] + (owner.map { ["user", $0] } ?? []))
    try #require(add.code == 0, "\(add.stderr)")
    do {
        try await body()
    } catch {
        _ = try? await fx.run("/usr/sbin/ip", ["tuntap", "del", "dev", name, "mode", "tap"])
        throw error
    }
    _ = try await fx.run("/usr/sbin/ip", ["tuntap", "del", "dev", name, "mode", "tap"])
}
