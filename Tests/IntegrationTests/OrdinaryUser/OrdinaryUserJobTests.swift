import Glibc
import Testing
import VMInstallKit

/// Every flow, as a real unprivileged user on a fresh account (no ~/.local/state), through
/// the built executables and without --state-dir: the state lives where XDG puts it.
@Suite(.serialized, .enabled(if: OrdinaryUser.canBeMade, "needs root, useradd and runuser to make an ordinary user"))
struct OrdinaryUserJobTests {
    @Test func aFreshAccountInstallsInTheBackgroundAndFollowsTheJob() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                let guest = try await user.reach(try await Guest.held.guest())
                try #require(!FileIO.exists("\(user.home)/.local/state"), "the account is not fresh")
                let hadLocal = FileIO.exists("\(user.home)/.local")

                // Read-only requests create nothing.
                let empty = try await user.jobs(["--list"])
                #expect(empty.code == 0 && empty.stdout.isEmpty, "\(empty.stderr)")
                #expect(!FileIO.exists("\(user.home)/.local/state"))

                let id = try await user.startJob(name: "first", guest: guest, accel: "auto")
                var made = [".local/state", ".local/state/vm-install"]
                if !hadLocal { made.insert(".local", at: 0) }
                for dir in made { expectPrivate("\(user.home)/\(dir)", of: user) }

                // Held in INSTALL until --watch follows the job.
                let watcher = try await user.watch(id)
                try await fx.release(user.store.vmPaths("first"))
                let waited = try await user.jobs(["--wait", id.description, "--timeout", "\(Int(Fixture.patience))"])
                #expect(waited.code == 0, "\(waited.stderr)")
                #expect(waited.keys["state"] == "6")

                let status = try await user.jobs(["--status", id.description])
                #expect(status.code == 0, "\(status.stderr)")
                #expect(status.keys["exit"] == "0")
                #expect(status.keys["inotify"] == "\(user.defaultStateDir)/jobs/\(id)/state")
                #expect(status.keys["uuid"]?.count == 36)
                #expect(try await user.jobs(["--list"]).stdout == "\(id)\n")

                let log = try await user.jobs(["--log", id.description])
                #expect(log.code == 0)
                #expect(log.stdout.contains("job \(id) finished"))
                // --accel auto: KVM where this user may open /dev/kvm, else TCG with one line saying so.
                if try await user.run("/usr/bin/test", ["-r", "/dev/kvm", "-a", "-w", "/dev/kvm"]).code == 0 {
                    #expect(log.stdout.contains("accelerator kvm"), "\(log.stdout)")
                } else {
                    let lines = log.stdout.split(separator: "\n").filter { $0.contains("KVM is not usable") }
                    #expect(lines.count == 1, "\(log.stdout)")
                    #expect(lines.first?.contains("runs under TCG") == true)
                    #expect(log.stdout.contains("accelerator tcg"))
                }

                // The installed VM runs, as the user.
                let files = user.store.vmPaths("first")
                let qemu = try #require(Int32(try FileIO.readString(files.pidFile).trimmed))
                #expect(processUID(qemu) == user.uid)
                #expect(await showsSoon(files.serialLog, Guest.runtimeMark))

                try await watcher.waitForState(id, .finished)
                let events = try await watcher.stop()
                let states = events.filter { $0["id"] as? Int == Int(id.value) }.compactMap { $0["state"] as? Int }
                #expect(states.last == 6, "\(events)")
                #expect(states == states.sorted() && Set(states).count == states.count, "\(states)")

                let deleted = try await user.jobs(["--delete", id.description])
                #expect(deleted.code == 0, "\(deleted.stderr)")
                #expect(!FileIO.exists("\(user.home)/first.qcow2"))
                #expect(!FileIO.exists(files.directory))
                #expect(!isAlive(qemu))
                #expect(try await user.jobs(["--list"]).stdout.isEmpty)
            }
        }
    }

    @Test func anOrdinaryUserCancelsDuringInstallAndDetachesAFinishedJob() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                let endless = try await user.reach(try await Guest.endless.guest())
                let id = try await user.startJob(name: "endless", guest: endless)
                try await fx.waitFor(id, in: user.store) { $0.state == .install }
                let files = user.store.vmPaths("endless")
                #expect(await showsSoon(files.installPIDFile, ""))
                let qemu = try #require(Int32(try FileIO.readString(files.installPIDFile).trimmed))
                #expect(processUID(qemu) == user.uid)

                let cancel = try await user.jobs(["--cancel", id.description])
                #expect(cancel.code == 0, "\(cancel.stderr)")
                let record = try await fx.waitForEnd(id, in: user.store)
                #expect(record.state == .canceled)
                #expect(record.exit == JobExitCode.canceled.rawValue)
                try await fx.waitUntil { !isAlive(qemu) }
                let status = try await user.jobs(["--status", id.description]).keys
                #expect(status["state"] == "8" && status["exit"] == "10")

                let quick = try await user.reach(try await Guest.quick.guest())
                let kept = try await user.startJob(name: "kept", guest: quick)
                #expect(
                    try await user.jobs(["--wait", kept.description, "--timeout", "\(Int(Fixture.patience))"]).code == 0
                )
                let detach = try await user.jobs(["--detach", kept.description])
                #expect(detach.code == 0, "\(detach.stderr)")
                #expect(try await user.jobs(["--list"]).stdout == "\(id)\n")
                #expect(QEMUDriver().isRunning(files: user.store.vmPaths("kept")))
                #expect(FileIO.exists("\(user.home)/kept.qcow2"))
            }
        }
    }

    /// In the foreground, with XDG_STATE_HOME naming a directory whose parents do not exist.
    @Test func aForegroundInstallMakesTheXDGStateHome() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                let guest = try await user.reach(try await Guest.quick.guest())
                let xdg = ["XDG_STATE_HOME": "\(user.home)/xdg/state"]
                user.uses(stateDirectory: "\(user.home)/xdg/state/vm-install")
                let result = try await user.vmInstall(user.vmArguments(name: "fg", guest: guest), environment: xdg)
                #expect(result.code == 0, "\(result.stderr)")
                #expect(result.stderr.contains("state 6 (FINISHED)"))
                for dir in ["xdg", "xdg/state", "xdg/state/vm-install"] {
                    expectPrivate("\(user.home)/\(dir)", of: user)
                }
                #expect(try await user.jobs(["--status", "1"], environment: xdg).keys["state"] == "6")
                #expect(!FileIO.exists("\(user.home)/.local/state"))
            }
        }
    }
}

/// A directory the user owns and only the user may enter: mode 0700.
func expectPrivate(_ dir: String, of user: OrdinaryUser, sourceLocation: SourceLocation = #_sourceLocation) {
    var st = stat()
    #expect(stat(dir, &st) == 0, "\(dir) is missing", sourceLocation: sourceLocation)
    #expect(
        st.st_mode & 0o7777 == 0o700, "\(dir) has mode \(String(st.st_mode & 0o7777, radix: 8))",
        sourceLocation: sourceLocation)
    #expect(st.st_uid == user.uid, "\(dir) belongs to uid \(st.st_uid)", sourceLocation: sourceLocation)
}

/// True once the file holds `text` (any content, for ""), within some seconds.
func showsSoon(_ path: String, _ text: String, seconds: Double = Fixture.patience) async -> Bool {
    let deadline = Deadline.after(seconds: seconds)
    while !deadline.hasPassed {
        if let content = try? FileIO.readString(path), text.isEmpty ? !content.isEmpty : content.contains(text) {
            return true
        }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return false
}
