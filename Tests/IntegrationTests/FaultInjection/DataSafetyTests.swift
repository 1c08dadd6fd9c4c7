import Glibc
import Testing
import VMInstallKit

/// Nothing that is not provably the job's is removed; a full or read-only state directory
/// damages nothing.
@Suite struct DataSafetyTests {
    /// A FINISHED job (no VM) that recorded `path` as a disk it created.
    func jobThatCreated(_ path: String, _ fx: Fixture) throws -> JobID {
        close(open(path, O_CREAT | O_WRONLY, 0o600))
        let id = try fx.recordJob(in: .finished, name: "owner\(path.split(separator: "/").last!)")
        try fx.store.update(id) { $0.createdDisks = [CreatedDisk(path: path, identity: FileIdentity.of(path)!)] }
        return id
    }

    @Test func aReplacedDiskIsNotRemoved() async throws {
        try await Fixture.with { fx in
            let path = "\(fx.root)/replaced.img"
            let id = try jobThatCreated(path, fx)
            let old = try #require(FileIdentity.of(path))
            unlink(path)
            close(open(path, O_CREAT | O_WRONLY, 0o600))  // often the very same inode number
            let new = try #require(FileIdentity.of(path))
            #expect(old != new)
            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            #expect(FileIO.exists(path))
        }
    }

    @Test func aSymlinkOrAFileOutsideIsNotRemoved() async throws {
        try await Fixture.with { fx in
            let path = "\(fx.root)/linked.img"
            let outside = "\(fx.root)/precious.img"
            close(open(outside, O_CREAT | O_WRONLY, 0o600))
            let id = try jobThatCreated(path, fx)
            unlink(path)
            #expect(symlink(outside, path) == 0)
            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            #expect(FileIO.exists(path))
            #expect(FileIO.exists(outside))

            // The disk that is still the job's goes.
            let mine = "\(fx.root)/mine.img"
            let other = try jobThatCreated(mine, fx)
            #expect(try await fx.jobs(["--delete", other.description]).code == 0)
            #expect(!FileIO.exists(mine))
        }
    }

    /// A small tmpfs as the state directory: filled up, then made read-only.
    @Test(.enabled(if: geteuid() == 0, "needs root to mount a tmpfs"))
    func aFullOrReadOnlyStateDirectoryDamagesNothing() async throws {
        try await Fixture.with { fx in
            try FileIO.makeDirectory(fx.stateDir)
            try #require(mount("tmpfs", fx.stateDir, "tmpfs", 0, "size=256k,mode=0700") == 0)
            defer { umount2(fx.stateDir, Int32(MNT_DETACH)) }
            let id = try fx.recordJob(in: .install, name: "full")
            // The fixture's cleanup cannot see into the tmpfs once it is unmounted: stop the
            // stand-in runner here (this defer runs before the unmount's).
            let standIn = try #require(try fx.store.read(id).runnerPID)
            defer { kill(standIn, SIGKILL) }
            let before = try FileIO.readString(fx.store.paths(id).record)

            let filler = "\(fx.stateDir)/filler"
            let fd = open(filler, O_CREAT | O_WRONLY, 0o600)
            let block = [UInt8](repeating: 0, count: 4096)
            while write(fd, block, block.count) > 0 {}
            close(fd)

            let full = try await fx.jobs(["--cancel", id.description])
            #expect(full.code == 1)
            #expect(
                full.stderr.contains("No space left on device") || full.stderr.contains("no space"), "\(full.stderr)")
            #expect(try FileIO.readString(fx.store.paths(id).record) == before)
            let status = try await fx.jobs(["--status", id.description])
            #expect(status.code == 0 && status.keys["state"] == "2" && status.keys["pid"] != nil)
            #expect(!(try FileIO.listDirectory(fx.store.paths(id).directory)).contains { $0.contains(".tmp-") })
            // The runner dies while the disk is full: its end cannot be written, and the last
            // good record is still what --status shows.
            kill(standIn, SIGKILL)
            try await fx.waitUntil { !fx.store.runnerIsAlive(id) }
            let orphan = try await fx.jobs(["--status", id.description])
            #expect(orphan.code == 0 && orphan.keys["state"] == "2" && orphan.keys["pid"] == nil, "\(orphan.stderr)")

            unlink(filler)
            // Read-only: a read-only bind mount of the same directory (the tmpfs itself cannot
            // be remounted read-only while the runner holds its lock file open for writing).
            let readOnlyDir = "\(fx.root)/ro"
            try FileIO.makeDirectory(readOnlyDir)
            try #require(mount(fx.stateDir, readOnlyDir, nil, UInt(MS_BIND), nil) == 0)
            defer { umount2(readOnlyDir, Int32(MNT_DETACH)) }
            try #require(mount(nil, readOnlyDir, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) == 0)
            let readOnly = try await fx.run(
                "vm-install-jobs", ["--state-dir", readOnlyDir, "--cancel", id.description])
            #expect(readOnly.code == 1)
            #expect(readOnly.stderr.contains("Read-only file system"), "\(readOnly.stderr)")
            let status2 = try await fx.run("vm-install-jobs", ["--state-dir", readOnlyDir, "--status", id.description])
            #expect(status2.keys["state"] == "2")
            #expect(try FileIO.readString(fx.store.paths(id).record) == before)
            // Space again: the next call records the dead runner's end.
            #expect(try await fx.jobs(["--status", id.description]).keys["state"] == "7")
            let create = try await fx.run(
                "vm-install",
                ["--state-dir", readOnlyDir, "--name", "ro", "--source", "/x.iso", "--disk", "/tmp/x,size=1M"])
            #expect(create.code == JobExitCode.stateDirectory.rawValue, "\(create.stderr)")
            #expect(try await fx.run("vm-install-jobs", ["--state-dir", readOnlyDir, "--list"]).stdout == "\(id)\n")
        }
    }
}

/// Paths and descriptors the caller hands over.
@Suite struct CallerEnvironmentTests {
    /// However --state-dir is spelled, the job's records compare equal and delete finds its VM.
    @Test func stateDirectorySpellingsAreOne() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let spelled = try await fx.run(
                "vm-install", ["--state-dir", "\(fx.stateDir)//./"] + fx.vmArguments(name: "spelled", guest: guest))
            #expect(spelled.code == 0, "\(spelled.stderr)")
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(!FileIO.exists(fx.vmFiles("spelled").directory))
        }
    }

    /// The runner keeps none of the caller's descriptors: a script that reads vm-install's
    /// output through a pipe gets EOF when vm-install exits, not when the job ends.
    @Test func theRunnerDoesNotHoldTheCallersPipe() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let command =
                ([Fixture.buildDirectory + "/vm-install", "--state-dir", fx.stateDir]
                + fx.vmArguments(name: "piped", guest: guest) + ["--background"]).joined(separator: " ")
            // The endless job never ends: a pipe its runner held would never close, and the
            // timeout is only there to end that.
            let result = try await fx.run(
                "/usr/bin/timeout", ["\(Int(Fixture.patience))", "/bin/sh", "-c", "\(command) 9>&1 | cat"])
            #expect(result.code == 0, "timed out: the pipe stayed open (\(result.code))")
            #expect(JobID(parsing: result.stdout.trimmed) != nil)
        }
    }
}
