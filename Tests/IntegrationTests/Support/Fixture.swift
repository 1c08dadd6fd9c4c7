import Glibc
import Subprocess
import SystemPackage
import Testing
import VMInstallKit

/// What a tool run printed and how it exited.
struct ToolResult {
    let code: Int32
    let stdout: String
    let stderr: String

    /// `key=value` lines as a dictionary (for --status).
    var keys: [String: String] {
        var out: [String: String] = [:]
        for line in stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { out[parts[0]] = parts[1] }
        }
        return out
    }
}

/// A throwaway state directory with the real executables, and cleanup that always runs:
/// every QEMU process and job runner started under it is stopped by its pid, then the
/// directory is removed.
final class Fixture: Sendable {
    let root: String
    let stateDir: String
    let store: JobStore

    static let buildDirectory: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[0..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(exe[..<exe.lastIndex(of: "/")!])
    }()

    static let repositoryRoot: String = {
        // This file is Tests/IntegrationTests/Support/Fixture.swift in the repository.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// How long a safety net waits for what a test waits on, so that a test whose event never
    /// comes fails instead of hanging. Generous: the whole suite on two busy cores runs dozens
    /// of VMs at once, and no test passes sooner or later for it.
    static let patience: Double = 600

    init() throws {
        var template = Array("/tmp/vmi-test-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw VMInstallError(.internal, "mkdtemp failed") }
        root = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        stateDir = "\(root)/state"
        store = JobStore(root: stateDir)
    }

    /// Runs `body` with a fresh fixture and always cleans up, also when it throws.
    static func with(_ body: (Fixture) async throws -> Void) async throws {
        let fixture = try Fixture()
        do {
            try await body(fixture)
        } catch {
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
    }

    func vmInstall(_ arguments: [String]) async throws -> ToolResult {
        try await run("vm-install", ["--state-dir", stateDir] + arguments)
    }

    func jobs(_ arguments: [String]) async throws -> ToolResult {
        try await run("vm-install-jobs", ["--state-dir", stateDir] + arguments)
    }

    func run(_ tool: String, _ arguments: [String]) async throws -> ToolResult {
        let result = try await Subprocess.run(
            .path(FilePath(tool.hasPrefix("/") ? tool : "\(Self.buildDirectory)/\(tool)")),
            arguments: Arguments(arguments),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        var code: Int32 = -1
        if case .exited(let c) = result.terminationStatus { code = Int32(c) }
        return ToolResult(code: code, stdout: result.standardOutput, stderr: result.standardError)
    }

    /// The standard arguments for a tiny test VM.
    func vmArguments(name: String, guest: Guest, disk: String? = nil, extra: [String] = []) -> [String] {
        [
            "--name", name, "--source", guest.iso, "--disk", disk ?? "\(root)/\(name).qcow2,size=16M",
            "--memory", "64", "--accel", "tcg", "--settle", "0.5", "--install-timeout", "\(Int(2 * Self.patience))",
        ] + extra
    }

    /// Starts a background job and returns its id.
    func startJob(name: String, guest: Guest, disk: String? = nil, extra: [String] = []) async throws -> JobID {
        let result = try await vmInstall(
            vmArguments(name: name, guest: guest, disk: disk, extra: extra + ["--background"]))
        try #require(result.code == 0, "vm-install failed: \(result.stderr)")
        return try #require(JobID(parsing: result.stdout.trimmed))
    }

    /// Polls the record (in the fixture's state directory, or in `store`) until `done`
    /// holds or the time is up.
    @discardableResult
    func waitFor(_ id: JobID, in store: JobStore? = nil, seconds: Double = patience, _ done: (JobRecord) -> Bool)
        async throws
        -> JobRecord
    {
        let store = store ?? self.store
        let deadline = Deadline.after(seconds: seconds)
        while true {
            let record = try store.read(id)
            if done(record) { return record }
            try #require(!deadline.hasPassed, "job \(id) stuck in state \(record.state)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Polls any condition until it holds or the time is up.
    func waitUntil(seconds: Double = patience, _ done: () -> Bool) async throws {
        let deadline = Deadline.after(seconds: seconds)
        while !done() {
            try #require(!deadline.hasPassed, "condition not met in \(seconds) s")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func waitForEnd(_ id: JobID, in store: JobStore? = nil) async throws -> JobRecord {
        let store = store ?? self.store
        let record = try await waitFor(id, in: store) { $0.state.isTerminal }
        // The runner writes the end last and then exits; wait for it to let go of its lock.
        _ = try await waitFor(id, in: store) { _ in !store.runnerIsAlive(id) }
        return record
    }

    func vmFiles(_ name: String) -> VMPaths { store.vmPaths(name) }

    /// True once the VM's serial console shows `text`. A job can be FINISHED a moment before
    /// its guest has printed, when the machine is busy; give it some seconds.
    func serialShows(_ name: String, _ text: String, seconds: Double = patience) async -> Bool {
        let deadline = Deadline.after(seconds: seconds)
        while !deadline.hasPassed {
            if fileContains(vmFiles(name).serialLog, text) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Settles the jobs (which may wait seconds for a runner or a QEMU) on a thread of its own.
    func cleanUp() async {
        _ = try? await OffPool.run { [store, root] in
            Self.settle(store)
            try? FileIO.removeTree(root)
        }
    }

    /// Stops every job runner and QEMU process of a state directory by its pid, waiting for
    /// a QEMU that a runner was still launching.
    static func settle(_ store: JobStore) {
        let control = JobControl(store: store)
        for id in (try? store.listIDs()) ?? [] {
            if let record = try? store.read(id), let pid = record.runnerPID, store.runnerIsAlive(id) {
                kill(pid, SIGKILL)
            }
            // Waits for a QEMU the runner was still launching, and stops it.
            let deadline = Deadline.after(seconds: 10)
            while store.runnerIsAlive(id), !deadline.hasPassed { usleep(20_000) }
            _ = try? control.settleOrphan(id)
        }
        for name in (try? FileIO.listDirectory(store.vmsDirectory)) ?? [] {
            try? QEMUDriver().stopAll(files: store.vmPaths(name), deadline: .after(seconds: 5))
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
