import Glibc
import Testing
import VMInstallKit

/// Another user can neither read nor change someone else's jobs. Uses a real unprivileged
/// user that the test creates and removes.
@Suite(.enabled(if: geteuid() == 0 && access("/usr/sbin/useradd", X_OK) == 0, "needs root and useradd"))
struct OtherUserTests {
    @Test func anotherUserCannotReadOrChangeJobs() async throws {
        try await Fixture.with { fx in
            let user = "vmi-other-\(getpid() % 100_000)"
            // Other suites add and remove users at the same time: useradd retries a locked passwd.
            let add = try await OrdinaryUser.retryingOnLockedFiles {
                try await fx.run(
                    "/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
            }
            try #require(add.code == 0, "\(add.stderr)")
            defer { _ = system("/usr/sbin/userdel \(user) 2>/dev/null") }
            // The fixture's directory is private; let the other user reach the state directory
            // itself, so that what is tested is the state directory's own protection.
            chmod(fx.root, 0o755)

            let id = try fx.recordJob(in: .finished, name: "private")
            let before = try FileIO.readString(fx.store.paths(id).record)
            var st = stat()
            #expect(stat(fx.stateDir, &st) == 0 && st.st_mode & 0o777 == 0o700)
            #expect(stat(fx.store.paths(id).record, &st) == 0 && st.st_mode & 0o077 == 0)

            let tool = "\(Fixture.buildDirectory)/vm-install-jobs"
            for action in [
                ["--status", id.description], ["--list"], ["--cancel", id.description],
                ["--delete", id.description], ["--detach", id.description], ["--log", id.description],
            ] {
                let r = try await fx.run(
                    "/usr/sbin/runuser", ["-u", user, "--", tool, "--state-dir", fx.stateDir] + action)
                #expect(
                    r.code == JobsToolExitCode.requestFailed.rawValue || r.code == JobsToolExitCode.damagedJob.rawValue,
                    "\(action): \(r.code) \(r.stderr)")
                #expect(r.stderr.lowercased().contains("permission denied"), "\(action): \(r.stderr)")
                #expect(r.stdout.isEmpty)
            }
            let create = try await fx.run(
                "/usr/sbin/runuser",
                [
                    "-u", user, "--", "\(Fixture.buildDirectory)/vm-install",
                    "--state-dir", fx.stateDir, "--name", "intruder", "--source", "/x.iso", "--disk", "/tmp/x,size=1M",
                ])
            #expect(create.code == JobExitCode.stateDirectory.rawValue, "\(create.stderr)")
            #expect(try FileIO.readString(fx.store.paths(id).record) == before)
            #expect(try await fx.jobs(["--list"]).stdout == "\(id)\n")
        }
    }
}
