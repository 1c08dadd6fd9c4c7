import Glibc
import Testing
import VMInstallKit

/// Every refusal that the command line and this machine's files can tell is given before the
/// job exists, with --background exactly as in the foreground: the same one line, the same
/// exit status, no job id, no job, nothing created.
@Suite struct PreflightTests {
    struct Case: CustomStringConvertible {
        let name: String
        let arguments: [String]
        let code: JobExitCode
        let words: String
        /// The arguments name their own --state-dir.
        var ownStateDirectory = false
        var description: String { name }
    }

    /// A directory laid out as an install tree: the files it names, with `extra` files.
    func tree(_ root: String, files: [String: String]) throws -> String {
        for (path, text) in files {
            let full = "\(root)/\(path)"
            var dir = ""
            for part in full.split(separator: "/").dropLast() {
                dir += "/\(part)"
                _ = try? FileIO.makeDirectory(dir, mode: 0o755)
            }
            try FileIO.writeAtomically(full, text)
        }
        return root
    }

    func cases(_ fx: Fixture, guest: Guest) throws -> [Case] {
        let r = fx.root
        let existing = "\(r)/existing.qcow2"
        try FileIO.writeAtomically(existing, bytes: [UInt8](repeating: 0, count: 4096))
        let empty = try tree("\(r)/empty-tree", files: ["README": "nothing to boot\n"])
        let unknown = try tree(
            "\(r)/unknown-tree",
            files: [
                ".treeinfo": "[general]\nfamily = Nobody Knows\nversion = 1\n[images-x86_64]\nkernel = k\ninitrd = i\n",
                "k": "kernel", "i": "initrd",
            ])
        let casper = try tree("\(r)/casper-tree", files: ["casper/vmlinuz": "kernel", "casper/initrd": "initrd"])
        let answers = "\(r)/answers.cfg"
        try FileIO.writeAtomically(answers, "# an answer file\n")
        func vm(_ name: String, _ source: [String]? = nil, disks: [String]? = nil, _ extra: [String] = []) -> [String] {
            ["--name", name] + (source ?? ["--source", guest.iso])
                + (disks ?? ["\(r)/\(name).qcow2,size=16M"]).flatMap { ["--disk", $0] }
                + ["--memory", "64", "--accel", "tcg"] + extra
        }
        return [
            Case(
                name: "kernel", arguments: vm("kernel", ["--kernel", "\(r)/no-kernel"]), code: .settings,
                words: "--kernel \(r)/no-kernel is missing or unreadable"),
            Case(
                name: "initrd", arguments: vm("initrd", ["--kernel", guest.iso, "--initrd", "\(r)/no-initrd"]),
                code: .settings, words: "--initrd \(r)/no-initrd is missing or unreadable"),
            Case(
                name: "source", arguments: vm("source", ["--source", "\(r)/no.iso"]), code: .settings,
                words: "the install source \(r)/no.iso is missing or unreadable"),
            Case(
                name: "empty-tree", arguments: vm("empty", ["--source", empty]), code: .settings,
                words: "no installer kernel found in \(empty)"),
            Case(
                name: "tree-and-kernel", arguments: vm("treek", ["--source", casper, "--kernel", guest.iso]),
                code: .settings, words: "is an install tree, whose own kernel boots"),
            Case(
                name: "autoinstall-unknown-installer",
                arguments: vm("unk", ["--source", unknown], ["--autoinstall", answers]), code: .settings,
                words: "whose installer vm-install cannot hand a file to"),
            Case(
                name: "autoinstall-and-cloud-init",
                arguments: vm(
                    "seeds", ["--source", casper], ["--autoinstall", answers, "--cloud-init", "user-data=\(answers)"]),
                code: .settings, words: "both make a NoCloud seed"),
            Case(
                name: "os-type", arguments: vm("os", nil, ["--os-type", "nosuchos"]), code: .settings,
                words: "--os-type nosuchos is neither in osinfo-db"),
            Case(
                name: "unattended-family",
                arguments: vm("fam", nil, ["--os-type", "debian", "--unattended", "admin-password-file=\(answers)"]),
                code: .settings, words: "the debian family has no install script"),
            Case(
                name: "unattended-missing-id",
                arguments: vm(
                    "missing", nil, ["--os-type", "debian99", "--unattended", "admin-password-file=\(answers)"]),
                code: .settings, words: "has no debian99, so no install script for it"),
            Case(
                name: "detect-nothing", arguments: vm("detect", ["--kernel", guest.iso], ["--os-type", "detect"]),
                code: .settings, words: "--os-type detect: there are no install media to recognise"),
            Case(
                name: "password-file",
                arguments: vm("pw", nil, ["--os-type", "fedora37", "--unattended", "admin-password-file=\(r)/no.pw"]),
                code: .settings, words: "admin-password-file=\(r)/no.pw: the file is missing or unreadable"),
            Case(
                name: "import-missing", arguments: vm("imp", [], disks: ["\(r)/none.qcow2"], ["--import"]),
                code: .settings, words: "--import boots the first disk, but \(r)/none.qcow2 does not exist"),
            Case(
                name: "exists-with-size", arguments: vm("exists", disks: ["\(existing),size=1G"]), code: .settings,
                words: "disk \(existing) exists, so size= and backing= cannot apply"),
            Case(
                name: "cdrom-missing",
                arguments: vm("cd", disks: ["\(r)/cd.qcow2,size=16M", "\(r)/no-cd.iso,device=cdrom"]),
                code: .settings, words: "CD-ROM image \(r)/no-cd.iso does not exist"),
            Case(
                name: "backing-missing", arguments: vm("back", disks: ["\(r)/o.qcow2,backing=\(r)/no-base.qcow2"]),
                code: .settings, words: "its backing file \(r)/no-base.qcow2 does not exist"),
            Case(
                name: "no-size", arguments: vm("nosize", ["--kernel", guest.iso], disks: ["\(r)/nosize.qcow2"]),
                code: .settings, words: "give size= to create it"),
            Case(
                name: "no-directory", arguments: vm("nodir", disks: ["\(r)/no/such/dir/d.qcow2,size=16M"]),
                code: .settings, words: "the directory \(r)/no/such/dir does not exist"),
            Case(
                name: "twice", arguments: vm("twice", disks: ["\(r)/t.qcow2,size=1M", "\(r)/t.qcow2,size=1M"]),
                code: .settings, words: "disk \(r)/t.qcow2 is given twice"),
            Case(
                name: "cloud-init-file", arguments: vm("ci", nil, ["--cloud-init", "user-data=\(r)/no-user-data"]),
                code: .settings, words: "\(r)/no-user-data (--cloud-init or --autoinstall) is missing or unreadable"),
            Case(
                name: "autoinstall-file", arguments: vm("ai", nil, ["--autoinstall", "\(r)/no-answers"]),
                code: .settings, words: "\(r)/no-answers (--cloud-init or --autoinstall) is missing or unreadable"),
            Case(
                name: "boot-disk-readonly", arguments: vm("ro", disks: ["\(existing),readonly"]), code: .settings,
                words: "the first disk is the boot disk and must be writable"),
            Case(
                name: "memory-over-budget", arguments: vm("big", nil, ["--memory", "512", "--memory-budget", "256"]),
                code: .host, words: "more than the whole memory budget of 256 MiB"),
            Case(
                name: "raw-disk-too-large", arguments: vm("raw", disks: ["\(r)/huge.raw,size=1000000G,format=raw"]),
                code: .host, words: "not enough free space for raw disk \(r)/huge.raw"),
            Case(
                name: "libvirt-hostfwd",
                arguments: vm("fwd", nil, ["--connect", "qemu:///system", "--nic", "user,hostfwd=tcp::2222-:22"]),
                code: .settings, words: "--nic user,hostfwd=… is QEMU's own"),
            Case(
                name: "remote-local-disk", arguments: vm("remote", nil, ["--connect", "qemu+tcp://127.0.0.1/system"]),
                code: .settings, words: "a path on this machine means nothing to libvirt at qemu+tcp://127.0.0.1/system"
            ),
            Case(
                name: "state-directory",
                arguments: ["--state-dir", "\(r)/no/such/state"] + vm("state"), code: .stateDirectory,
                words: "its parent directory \(r)/no/such does not exist", ownStateDirectory: true),
            Case(
                name: "serve-missing", arguments: vm("serve", nil, ["--serve", "\(r)/no-dir"]), code: .settings,
                words: "--serve \(r)/no-dir is not a directory"),
            Case(
                name: "serve-unreachable", arguments: vm("serve", nil, ["--serve", r, "--nic", "none"]),
                code: .settings, words: "--serve needs a guest that reaches this host: the VM has no network card"),
            Case(
                name: "boot-keys-extra-args",
                arguments: vm("keys", nil, ["--boot-keys", "x<enter>", "--extra-args", "console=ttyS0"]),
                code: .settings, words: "type them with --boot-keys"),
        ]
    }

    @Test func theForegroundAndTheBackgroundRefuseAlikeBeforeTheJob() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let all = try cases(fx, guest: guest)
            let before = Set(try FileIO.listDirectory(fx.root))
            for c in all {
                func run(_ arguments: [String]) async throws -> ToolResult {
                    c.ownStateDirectory ? try await fx.run("vm-install", arguments) : try await fx.vmInstall(arguments)
                }
                let foreground = try await run(c.arguments)
                let background = try await run(c.arguments + ["--background"])
                #expect(foreground.code == c.code.rawValue, "\(c): \(foreground.stderr)")
                #expect(
                    foreground.stderr.hasPrefix("vm-install: ") && foreground.stderr.contains(c.words),
                    "\(c): \(foreground.stderr)")
                #expect(foreground.stderr.split(separator: "\n").count == 1, "\(c): \(foreground.stderr)")
                #expect(background.code == foreground.code, "\(c): \(background.stderr)")
                // The free space of a filesystem moves between two runs; the rest must not.
                func stable(_ text: String) -> String {
                    text.replacing(/has \d+ MiB free/, with: "has N MiB free")
                }
                #expect(stable(background.stderr) == stable(foreground.stderr), "\(c)")
                #expect(background.stdout.isEmpty && foreground.stdout.isEmpty, "\(c): no job id")
            }
            #expect(try fx.store.listIDs().isEmpty, "no job for any refusal")
            #expect(!FileIO.exists(fx.store.vmsDirectory), "no VM directory for any refusal")
            #expect(Set(try FileIO.listDirectory(fx.root)).subtracting(before).subtracting(["state"]).isEmpty)
        }
    }

    /// A VM whose name or disk another VM of the state directory has: refused before the job.
    @Test func aTakenNameAndADiskInUseAreRefusedAlike() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let first = try await fx.vmInstall(fx.vmArguments(name: "owner", guest: guest))
            try #require(first.code == 0, "\(first.stderr)")
            let disk = "\(fx.root)/owner.qcow2"
            for (arguments, words) in [
                (
                    fx.vmArguments(name: "owner", guest: guest, disk: "\(fx.root)/other.qcow2,size=16M"),
                    "a VM named owner already exists"
                ),
                (
                    fx.vmArguments(name: "taker", guest: guest, disk: disk),
                    "disk \(disk) is in use by the running VM owner"
                ),
            ] {
                let foreground = try await fx.vmInstall(arguments)
                let background = try await fx.vmInstall(arguments + ["--background"])
                #expect(
                    foreground.code == JobExitCode.settings.rawValue && foreground.stderr.contains(words),
                    "\(foreground.stderr)")
                #expect(background.code == foreground.code && background.stderr == foreground.stderr)
                #expect(background.stdout.isEmpty)
            }
            #expect(try fx.store.listIDs().count == 1)
            #expect(!FileIO.exists("\(fx.root)/other.qcow2"))
        }
    }
}
