import Glibc
import Testing
import VMInstallKit

/// Real installs with real QEMU (TCG), driven through the built executables.
@Suite(.serialized) struct LifecycleTests {
    @Test func backgroundJobRunsToFinishedAndBootsTheInstalledDisk() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let id = try await fx.startJob(name: "full", guest: guest, extra: ["--vnc"])
            #expect(try await fx.jobs(["--list"]).stdout == "\(id)\n")

            let record = try await fx.waitForEnd(id)
            #expect(record.state == .finished, "log: \((try? FileIO.readString(fx.store.paths(id).log)) ?? "")")

            let status = try await fx.jobs(["--status", id.description])
            #expect(status.code == 0)
            let keys = status.keys
            #expect(Set(keys.keys) == ["exit", "id", "inotify", "log", "state", "uuid", "vnc"])
            #expect(keys["state"] == "6")
            #expect(keys["exit"] == "0")
            #expect(keys["id"] == id.description)
            #expect(keys["inotify"] == fx.store.paths(id).inotify)
            #expect(keys["uuid"]?.count == 36)

            // Proof of the runtime boot: the installed boot sector ran and said so.
            let files = fx.vmFiles("full")
            #expect(fileContains(files.serialLog, "VM-INSTALL INSTALLER DONE"))
            #expect(await fx.serialShows("full", Guest.runtimeMark))
            #expect(QEMUDriver().isRunning(files: files))
            #expect(fileContains(files.config, "uuid=\(keys["uuid"] ?? "?")"))

            // A real VNC server answers at the address the status gives.
            let vnc = try #require(keys["vnc"])
            #expect(vnc.hasPrefix("127.0.0.1::"))
            let port = try #require(UInt16(vnc.dropFirst("127.0.0.1::".count)))
            let greeting = try await OffPool.run { vncGreeting(port: port) }
            #expect(greeting?.hasPrefix("RFB 003.") == true)
        }
    }

    @Test func foregroundRunExitsWithTheJobsExitCode() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let result = try await fx.vmInstall(fx.vmArguments(name: "fg", guest: guest))
            #expect(result.code == 0, "\(result.stderr)")
            #expect(result.stderr.contains("state 6 (FINISHED)"))
            #expect(await fx.serialShows("fg", Guest.runtimeMark))
            #expect(try await fx.jobs(["--status", "1"]).keys["state"] == "6")
        }
    }

    @Test func cancelDuringInstallStopsTheVM() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let id = try await fx.startJob(name: "endless", guest: guest)
            try await fx.waitFor(id) { $0.state == .install }
            let files = fx.vmFiles("endless")
            try await fx.waitFor(id) { _ in fileContains(files.serialLog, "INSTALLER START") }
            let running = try await fx.jobs(["--status", id.description]).keys
            #expect(running["pid"] != nil)
            #expect(running["exit"] == nil)
            #expect(running["state"] == "2")
            let qemuPID = try #require(Int32(try FileIO.readString(files.installPIDFile).trimmed))

            let cancel = try await fx.jobs(["--cancel", id.description])
            #expect(cancel.code == 0, "\(cancel.stderr)")
            let record = try await fx.waitForEnd(id)
            #expect(record.state == .canceled)
            #expect(record.exit == JobExitCode.canceled.rawValue)
            #expect(!QEMUDriver().isRunning(files: files))
            let stat = (try? FileIO.readString("/proc/\(qemuPID)/stat")) ?? ""
            #expect(stat.isEmpty || stat.contains(") Z "), "QEMU \(qemuPID) still runs")

            let status = try await fx.jobs(["--status", id.description]).keys
            #expect(status["state"] == "8")
            #expect(status["exit"] == "10")
            #expect(status["pid"] == nil)
            // Canceling twice is refused: the job has ended.
            #expect(try await fx.jobs(["--cancel", id.description]).code == 4)
        }
    }

    @Test func deleteRemovesWhatTheJobMadeAndDetachKeepsTheVM() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            // A disk that exists before the job: used, never removed.
            let existing = "\(fx.root)/existing.raw"
            let fd = open(existing, O_CREAT | O_WRONLY, 0o600)
            #expect(ftruncate(fd, 1 << 20) == 0)
            close(fd)

            let a = try await fx.startJob(name: "a", guest: guest, extra: ["--disk", "\(existing),format=raw"])
            let b = try await fx.startJob(name: "b", guest: guest)
            #expect(try await fx.waitForEnd(a).state == .finished)
            #expect(try await fx.waitForEnd(b).state == .finished)
            let created = "\(fx.root)/a.qcow2"
            #expect(FileIO.exists(created))

            let delete = try await fx.jobs(["--delete", a.description])
            #expect(delete.code == 0, "\(delete.stderr)")
            #expect(!FileIO.exists(created))
            #expect(FileIO.exists(existing))
            #expect(!FileIO.exists(fx.vmFiles("a").directory))
            #expect(!QEMUDriver().isRunning(files: fx.vmFiles("a")))

            let detach = try await fx.jobs(["--detach", b.description])
            #expect(detach.code == 0, "\(detach.stderr)")
            #expect(QEMUDriver().isRunning(files: fx.vmFiles("b")))
            #expect(FileIO.exists(fx.vmFiles("b").config))
            #expect(FileIO.exists("\(fx.root)/b.qcow2"))

            #expect(try await fx.jobs(["--list"]).stdout == "")
            #expect(try await fx.jobs(["--status", a.description]).code == 3)
            #expect(try await fx.jobs(["--delete", b.description]).code == 3)
        }
    }
}
