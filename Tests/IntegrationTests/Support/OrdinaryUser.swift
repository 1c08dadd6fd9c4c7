import Glibc
import Synchronization
import Testing
import VMInstallKit

/// A real unprivileged account that a test makes (useradd, with a fresh home) and that the
/// built tools run as, with the environment a login gives (HOME, USER, LOGNAME, PATH, and
/// no XDG_STATE_HOME unless a test sets it). Cleanup always runs: the jobs' runners and QEMU
/// processes of its state directories are stopped by pid, any process left with its uid is
/// killed by pid (the uid is new, so every such process is the test's), and the account goes
/// with its home.
final class OrdinaryUser: Sendable {
    let fixture: Fixture
    let name: String
    let uid: uid_t
    let home: String
    private let stateDirectories = Mutex<[String]>([])

    static let canBeMade =
        geteuid() == 0 && access("/usr/sbin/useradd", X_OK) == 0 && access("/usr/sbin/runuser", X_OK) == 0

    /// The XDG default: where the tools keep state for this user when nothing else is said.
    var defaultStateDir: String { "\(home)/.local/state/vm-install" }
    var store: JobStore { JobStore(root: defaultStateDir) }

    private init(fixture: Fixture, name: String, uid: uid_t, home: String) {
        self.fixture = fixture
        self.name = name
        self.uid = uid
        self.home = home
        stateDirectories.withLock { $0.append(defaultStateDir) }
    }

    /// Runs `body` with a fresh account and always removes it, also when `body` throws.
    static func with(_ fx: Fixture, _ body: (OrdinaryUser) async throws -> Void) async throws {
        let user = try await make(fx)
        do {
            try await user.checkTheToolsRun()
            try await body(user)
        } catch {
            await user.remove()
            throw error
        }
        await user.remove()
    }

    private static func make(_ fx: Fixture) async throws -> OrdinaryUser {
        let name = "vmi-u\(getpid() % 100_000)-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        let add = try await retryingOnLockedFiles {
            try await fx.run("/usr/sbin/useradd", ["--create-home", "--shell", "/bin/sh", "--user-group", name])
        }
        try #require(add.code == 0, "useradd \(name): \(add.stderr)")
        guard let entry = getpwnam(name) else {
            _ = try? await fx.run("/usr/sbin/userdel", ["--remove", name])
            throw VMInstallError(.internal, "useradd made no account \(name)")
        }
        return OrdinaryUser(
            fixture: fx, name: name, uid: entry.pointee.pw_uid, home: String(cString: entry.pointee.pw_dir))
    }

    /// useradd and userdel fail at once when another one holds /etc/passwd or /etc/group
    /// (exit 1 or 10); tests running side by side take turns.
    static func retryingOnLockedFiles(_ command: () async throws -> ToolResult) async throws -> ToolResult {
        var result = try await command()
        let deadline = Deadline.after(seconds: Fixture.patience)
        while result.code == 1 || result.code == 10, !deadline.hasPassed {
            try await Task.sleep(for: .milliseconds(100))
            result = try await command()
        }
        return result
    }

    /// The build directory must be reachable by anyone, as an installed tool would be.
    private func checkTheToolsRun() async throws {
        var blocked: [String] = []
        var path = Fixture.buildDirectory
        while path.count > 1 {
            var st = stat()
            if stat(path, &st) == 0, st.st_mode & 0o001 == 0 { blocked.append(path) }
            path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        }
        try #require(blocked.isEmpty, "an ordinary user cannot reach the built tools: \(blocked) lack o+x")
        let version = try await run("vm-install", ["--version"])
        try #require(version.code == 0, "vm-install does not run as \(name): \(version.stderr)")
    }

    /// Makes a test guest readable for this user: the directories of this process's guest
    /// build (this process made them) get o+x, the ISO o+r.
    func reach(_ guest: Guest) async throws -> Guest {
        var dir = guest.iso
        repeat {
            dir = String(dir[..<dir.lastIndex(of: "/")!])
            chmod(dir, 0o755)
        } while dir != Guest.root && dir.hasPrefix(Guest.root)
        chmod(guest.iso, 0o644)
        let readable = try await run("/usr/bin/test", ["-r", guest.iso])
        try #require(readable.code == 0, "\(name) cannot read \(guest.iso)")
        return guest
    }

    /// A state directory besides the default that cleanup must settle.
    func uses(stateDirectory: String) {
        stateDirectories.withLock { $0.append(stateDirectory) }
    }

    /// Runs a tool of the build directory (or an absolute path) as this user, from its home.
    func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> ToolResult {
        let command = commandLine(tool, arguments, environment: environment)
        return try await fixture.run(command[0], Array(command.dropFirst()))
    }

    /// The command line that runs a tool as this user (runuser, env).
    func commandLine(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) -> [String] {
        let executable = tool.hasPrefix("/") ? tool : "\(Fixture.buildDirectory)/\(tool)"
        var variables = [
            "HOME": home, "USER": name, "LOGNAME": name, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
        ]
        variables.merge(environment) { $1 }
        let env = variables.keys.sorted().map { "\($0)=\(variables[$0]!)" }
        return ["/usr/sbin/runuser", "-u", name, "--", "/usr/bin/env", "-i", "-C", home] + env + [executable]
            + arguments
    }

    /// `vm-install-jobs --watch ID` as this user, in the background.
    func watch(_ id: JobID) async throws -> BackgroundWatch {
        try await BackgroundWatch.start(
            fixture, commandLine("vm-install-jobs", ["--watch", id.description]),
            marker: "vm-install-jobs --watch \(id)", uid: uid)
    }

    func vmInstall(_ arguments: [String], environment: [String: String] = [:]) async throws -> ToolResult {
        try await run("vm-install", arguments, environment: environment)
    }

    func jobs(_ arguments: [String], environment: [String: String] = [:]) async throws -> ToolResult {
        try await run("vm-install-jobs", arguments, environment: environment)
    }

    /// A tiny test VM with its disk in the user's home.
    func vmArguments(name vm: String, guest: Guest, accel: String = "tcg") -> [String] {
        [
            "--name", vm, "--source", guest.iso, "--disk", "\(home)/\(vm).qcow2,size=16M",
            "--memory", "64", "--accel", accel, "--settle", "0.5", "--install-timeout", "\(Int(2 * Fixture.patience))",
        ]
    }

    /// Starts a background job as this user in its default state directory; its id.
    func startJob(name vm: String, guest: Guest, accel: String = "tcg", extra: [String] = []) async throws -> JobID {
        let result = try await vmInstall(vmArguments(name: vm, guest: guest, accel: accel) + extra + ["--background"])
        try #require(result.code == 0, "vm-install --background as \(name): \(result.stderr)")
        return try #require(JobID(parsing: result.stdout.trimmed))
    }

    /// Live processes of this user's uid.
    var processes: [pid_t] {
        ((try? FileIO.listDirectory("/proc")) ?? []).compactMap { pid_t($0) }.filter {
            processUID($0) == uid && isAlive($0)
        }
    }

    private func remove() async {
        for dir in stateDirectories.withLock({ $0 }) {
            _ = try? await OffPool.run { Fixture.settle(JobStore(root: dir)) }
        }
        let deadline = Deadline.after(seconds: Fixture.patience)
        while !processes.isEmpty, !deadline.hasPassed {
            for pid in processes { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Zombies of the uid may wait for a late reaper; userdel counts only live processes.
        let deleted = try? await Self.retryingOnLockedFiles {
            try await self.fixture.run("/usr/sbin/userdel", ["--remove", self.name])
        }
        if deleted?.code != 0 {
            Issue.record("userdel \(name): \(deleted?.stderr ?? "did not run")")
        }
    }
}
