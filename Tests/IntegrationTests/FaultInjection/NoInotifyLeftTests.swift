import Glibc
import Testing
import VMInstallKit

/// A user whose inotify instances are all taken (fs.inotify.max_user_instances; a large
/// batch's waiting runners can take them): `--wait`, `--watch` and `--log --follow` still
/// follow a job to its end, by looking every 0.25 s. The instances are taken by a process of
/// the user's own, made for the test, and given back when it ends.
@Suite(.enabled(if: geteuid() == 0 && access("/usr/sbin/useradd", X_OK) == 0, "needs root and useradd"))
struct NoInotifyLeftTests {
    /// Takes every inotify instance it can, writes how many to `argv[1]`, and holds them
    /// until the FIFO `argv[2]` is written.
    static let taker = """
        import ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        held = []
        while True:
            fd = libc.inotify_init1(0o2000000)
            if fd < 0:
                break
            held.append(fd)
        open(sys.argv[1], "w").write("%d %d\\n" % (len(held), ctypes.get_errno()))
        open(sys.argv[2]).read()
        """

    /// The process of `uid` whose command line has `marker`, once it sleeps in poll(2)
    /// holding no inotify descriptor: a tool that looks instead of watching.
    func waitUntilPolling(_ marker: String, uid: uid_t) async throws -> pid_t {
        let deadline = Deadline.after(seconds: Fixture.patience)
        while !deadline.hasPassed {
            for entry in (try? FileIO.listDirectory("/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
                guard processUID(pid_t(entry)!) == uid, let cmdline = try? FileIO.read("/proc/\(entry)/cmdline"),
                    String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker),
                    let syscall = try? FileIO.readString("/proc/\(entry)/syscall"),
                    ["7", "271"].contains(syscall.split(separator: " ").first ?? "")  // poll, ppoll
                else { continue }
                let fds = (try? FileIO.listDirectory("/proc/\(entry)/fd")) ?? []
                let watching = fds.contains { fd in
                    var target = [CChar](repeating: 0, count: 256)
                    let n = readlink("/proc/\(entry)/fd/\(fd)", &target, 255)
                    return n > 0
                        && String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).contains(
                            "inotify")
                }
                #expect(!watching, "\(marker) got an inotify instance")
                return pid_t(entry)!
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw VMInstallError(.internal, "no process with '\(marker)' sleeps in poll")
    }

    @Test func theToolsLookWhenNoInstanceIsLeft() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                let guest = try await user.reach(try await Guest.held.guest())
                let id = try await user.startJob(name: "held", guest: guest)
                try await fx.waitFor(id, in: user.store) { $0.state == .install }

                let report = "\(user.home)/taken"
                let release = "\(user.home)/release"
                try #require(mkfifo(release, 0o600) == 0 && chown(release, user.uid, gid_t.max) == 0)
                let taker = Task { try await user.run("/usr/bin/python3", ["-c", Self.taker, report, release]) }
                // (Should the test stop early, the user's processes end with the user.)
                try await fx.waitUntil { FileIO.exists(report) }
                let taken = try FileIO.readString(report).trimmed.split(separator: " ")
                #expect(Int(taken.first ?? "") ?? 0 > 0 && taken.last == "\(EMFILE)", "\(taken)")

                let waited = Task {
                    try await user.jobs(["--wait", id.description, "--timeout", "\(Int(Fixture.patience))"])
                }
                let followed = Task { try await user.jobs(["--log", id.description, "--follow"]) }
                let watched = Task { try await user.jobs(["--watch", id.description]) }
                for marker in ["--wait \(id)", "--log \(id) --follow", "--watch \(id)"] {
                    _ = try await waitUntilPolling("vm-install-jobs \(marker)", uid: user.uid)
                }
                try await fx.release(user.store.vmPaths("held"))

                let wait = try await waited.value
                #expect(wait.code == 0, "\(wait.stderr)")
                #expect(wait.stdout.contains("state=6"), "\(wait.stdout)")
                let log = try await followed.value
                #expect(log.code == 0, "\(log.stderr)")
                #expect(log.stdout.contains("state 6 (FINISHED)"), "\(log.stdout)")
                #expect(try await user.jobs(["--delete", id.description]).code == 0)
                let watch = try await watched.value
                #expect(watch.code == 0, "\(watch.stderr)")
                #expect(
                    watch.stdout.contains("\"FINISHED\"") && watch.stdout.contains("\"removed\""), "\(watch.stdout)")

                let fd = open(release, O_WRONLY)
                if fd >= 0 { close(fd) }
                #expect(try await taker.value.code == 0)
            }
        }
    }
}
