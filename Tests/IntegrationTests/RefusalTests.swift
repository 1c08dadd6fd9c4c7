import Glibc
import Testing
import VMInstallKit

/// Every refusal: one line on stderr, the documented exit code, and nothing changed.
@Suite struct RefusalTests {
    @Test(arguments: [
        ["--status", "../x"], ["--status", "-1"], ["--status", ""], ["--status", "0"], ["--cancel", "1a"],
        ["--delete", "07"], ["--detach", "+1"], [], ["--list", "--status", "1"], ["--status"], ["--bogus"],
    ])
    func jobsUsageErrors(_ arguments: [String]) async throws {
        try await Fixture.with { fx in
            let result = try await fx.jobs(arguments)
            #expect(result.code == 2, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(!result.stderr.isEmpty)
        }
    }

    @Test func helpAndVersionSucceed() async throws {
        try await Fixture.with { fx in
            let help = try await fx.run("vm-install", ["--help"])
            for group in ["VIRTUAL MACHINE:", "INSTALL SOURCE:", "DISKS AND NETWORK:", "CONSOLE:", "JOB:", "Examples:"]
            {
                #expect(help.stdout.contains(group), "\(group)")
            }
            for tool in ["vm-install", "vm-install-jobs"] {
                for shell in ["bash", "zsh", "fish"] {
                    let completion = try await fx.run(tool, ["--generate-completion-script", shell])
                    #expect(completion.code == 0 && completion.stdout.contains(tool), "\(tool) \(shell)")
                }
            }
            for tool in ["vm-install", "vm-install-jobs"] {
                for flag in ["--help", "--version"] {
                    let result = try await fx.run(tool, [flag])
                    #expect(result.code == 0, "\(tool) \(flag): \(result.stderr)")
                    #expect(!result.stdout.isEmpty)
                }
            }
        }
    }

    /// `--status ID` and `--list` skip the full parser; every spelling must answer alike.
    @Test func hotPathAnswersLikeTheFullParser() async throws {
        try await Fixture.with { fx in
            let id = try fx.recordJob(in: .failed).description
            let dir = fx.stateDir
            let groups: [[[String]]] = [
                [
                    ["--state-dir", dir, "--status", id], ["--status", id, "--state-dir", dir],
                    ["--state-dir=\(dir)", "--status=\(id)"],
                ],
                [
                    ["--state-dir", dir, "--status", "99"], ["--status", "99", "--state-dir", dir],
                    ["--state-dir=\(dir)", "--status=99"],
                ],
                [["--state-dir", dir, "--list"], ["--list", "--state-dir", dir], ["--state-dir=\(dir)", "--list"]],
            ]
            for group in groups {
                let first = try await fx.run("vm-install-jobs", group[0])
                for spelling in group.dropFirst() {
                    let other = try await fx.run("vm-install-jobs", spelling)
                    #expect(other.code == first.code, "\(spelling)")
                    #expect(other.stdout == first.stdout, "\(spelling)")
                    #expect(other.stderr == first.stderr, "\(spelling)")
                }
            }
        }
    }

    @Test func unknownJobAndEmptyList() async throws {
        try await Fixture.with { fx in
            #expect(try await fx.jobs(["--list"]).stdout == "")
            for action in ["--status", "--cancel", "--delete", "--detach"] {
                let result = try await fx.jobs([action, "99"])
                #expect(result.code == 3, "\(action)")
                #expect(result.stderr.contains("no job 99"))
                #expect(result.stderr.split(separator: "\n").count == 1)
            }
        }
    }

    @Test(arguments: [
        ["--source", "/x.iso", "--disk", "/tmp/d,size=1G"],
        ["--name", "a/b", "--source", "/x.iso", "--disk", "/tmp/d,size=1G"],
        ["--name", "ok", "--source", "/x.iso"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=abc"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,bus=floppy"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1ß"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--memory", "0"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--accel", "xen"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--settle", "-1"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--stall-timeout", "-1"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--stall-timeout", "nan"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--stall-timeout", "inf"],
        ["--name", "ok", "--source", "/x.iso", "--disk", "/tmp/d,size=1G", "--stall-timeout", "soon"],
    ])
    func installUsageErrorsCreateNothing(_ arguments: [String]) async throws {
        try await Fixture.with { fx in
            let result = try await fx.vmInstall(arguments + ["--background"])
            #expect(result.code == 2, "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(!FileIO.exists(fx.stateDir))
        }
    }

    /// Settings that the command line and this machine's files can tell are refused before
    /// the job exists, in the foreground as with --background: exit 3, one line, no job.
    @Test func settingsRefusalsComeBeforeTheJob() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let existing = "\(fx.root)/existing.raw"
            close(open(existing, O_CREAT | O_WRONLY, 0o600))
            let base = ["--memory", "64", "--accel", "tcg"]
            func vm(_ name: String, source: [String] = ["--source", guest.iso], disks: [String]) -> [String] {
                ["--name", name] + source + disks.flatMap { ["--disk", $0] } + base
            }
            let cases: [(name: String, arguments: [String], reason: String)] = [
                (
                    "nosource",
                    vm("nosource", source: ["--source", "\(fx.root)/missing.iso"], disks: ["\(fx.root)/a,size=1M"]),
                    "missing or unreadable"
                ),
                // Nothing to recognise (a kernel, no media), so no OS's default size.
                (
                    "nosize", vm("nosize", source: ["--kernel", guest.iso], disks: ["\(fx.root)/new.qcow2"]),
                    "give size="
                ),
                ("sized", vm("sized", disks: ["\(existing),size=1G"]), "cannot apply"),
                (
                    "twice", vm("twice", disks: ["\(fx.root)/t.qcow2,size=1M", "\(fx.root)/t.qcow2,size=1M"]),
                    "given twice"
                ),
            ]
            for c in cases {
                let arguments = c.arguments
                let foreground = try await fx.vmInstall(arguments)
                #expect(foreground.code == 3, "\(c.name): \(foreground.stderr)")
                #expect(foreground.stderr.contains(c.reason), "\(c.name): \(foreground.stderr)")
                #expect(foreground.stderr.split(separator: "\n").count == 1, "\(c.name): \(foreground.stderr)")
                let background = try await fx.vmInstall(arguments + ["--background"])
                #expect(background.code == foreground.code, "\(c.name): \(background.stderr)")
                #expect(background.stderr == foreground.stderr, "\(c.name)")
                #expect(background.stdout.isEmpty, "\(c.name): no job id")
            }
            #expect(FileIO.exists(existing))
            #expect(!FileIO.exists("\(fx.root)/t.qcow2"))
            #expect(try fx.store.listIDs().isEmpty)
        }
    }

    @Test func aNameInUseIsRefusedAndTheOtherVMIsUntouched() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let first = try await fx.vmInstall(fx.vmArguments(name: "same", guest: guest))
            #expect(first.code == 0, "\(first.stderr)")
            for extra in [[], ["--background"]] {
                let second = try await fx.vmInstall(
                    fx.vmArguments(name: "same", guest: guest, disk: "\(fx.root)/other.qcow2,size=16M") + extra)
                #expect(second.code == 3)
                #expect(second.stderr.contains("already exists"))
                #expect(!FileIO.exists("\(fx.root)/other.qcow2"))
            }
            #expect(try fx.store.listIDs().count == 1)
            // A job that lost the name to it (a race past the first check) recorded the VM's
            // directory before its rename failed: deleting that job must not touch the VM.
            let loser = try fx.recordJob(in: .failed, name: "same")
            try fx.store.update(loser) { $0.vmDirectory = fx.vmFiles("same").directory }
            #expect(try await fx.jobs(["--delete", loser.description]).code == 0)
            #expect(QEMUDriver().isRunning(files: fx.vmFiles("same")))
            #expect(FileIO.exists(fx.vmFiles("same").config))
        }
    }

    /// Every request against every state, on jobs recorded directly in the store (no VM):
    /// allowed requests succeed, refused ones exit 4 and leave the record byte for byte.
    @Test func everyRequestAgainstEveryState() async throws {
        try await Fixture.with { fx in
            for request in JobRequest.allCases {
                for state in JobState.allCases {
                    let id = try fx.recordJob(in: state)
                    let before = try FileIO.readString(fx.store.paths(id).record)
                    let result = try await fx.jobs(["--\(request.rawValue)", id.description])
                    if request.isAllowed(in: state) {
                        #expect(result.code == 0, "\(request) in \(state): \(result.stderr)")
                        switch request {
                        case .status: #expect(result.keys["state"] == String(state.rawValue))
                        case .cancel:
                            // The stand-in runner dies of the SIGTERM without recording; the
                            // cancel it was asked for is what the job then reads as.
                            try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) }
                            #expect(try await fx.jobs(["--status", id.description]).keys["state"] == "8")
                        case .delete, .detach: #expect(!FileIO.exists(fx.store.paths(id).directory))
                        }
                    } else {
                        #expect(result.code == 4, "\(request) in \(state)")
                        #expect(result.stderr.contains("state \(state.rawValue) (\(state.name))"))
                        #expect(try FileIO.readString(fx.store.paths(id).record) == before)
                    }
                }
            }
        }
    }
}
