import Glibc
import Testing
import VMInstallKit

/// `vm-install-jobs --watch` running while a test goes on, its JSON lines going to a file the
/// test reads as they come: a test waits for the line it needs instead of guessing how long
/// the watcher takes to print it. Stopped with SIGINT (Ctrl-C); `timeout` ends it if a test
/// fails before that.
final class BackgroundWatch: Sendable {
    let output: String
    /// The watcher itself (not the `timeout` or `runuser` around it).
    let pid: pid_t
    private let run: Task<ToolResult, any Error>

    private init(output: String, pid: pid_t, run: Task<ToolResult, any Error>) {
        self.output = output
        self.pid = pid
        self.run = run
    }

    /// Runs `command` with its standard output in a file of the fixture and returns once the
    /// watcher, the process whose command line contains `marker`, is watching.
    static func start(_ fx: Fixture, _ command: [String], marker: String, uid: uid_t? = nil) async throws
        -> BackgroundWatch
    {
        let output = "\(fx.root)/watch-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        let run = Task {
            try await fx.run(
                "/bin/sh",
                [
                    "-c", #"out=$1; shift; exec "$@" >"$out""#, "sh", output, "/usr/bin/timeout", "-s", "INT",
                    "\(Int(3 * Fixture.patience))",
                ]
                    + command)
        }
        // A watcher that never watches is ended by its timeout.
        return BackgroundWatch(output: output, pid: try await waitUntilWatching(marker, uid: uid), run: run)
    }

    /// The lines printed so far, each a JSON object; a line still being written is left out.
    func lines() throws -> [[String: Any]] {
        let text = (try? FileIO.readString(output, limit: 16 << 20)) ?? ""
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
            try JSONSerializationFree.object(String($0))
        }
    }

    /// Waits until the watcher has printed a line that `match` accepts.
    func waitForLine(_ what: String, _ match: ([String: Any]) -> Bool) async throws {
        let deadline = Deadline.after(seconds: Fixture.patience)
        while true {
            let printed = try lines()
            if printed.contains(where: match) { return }
            try #require(!deadline.hasPassed, "--watch printed no \(what): \(printed)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The line for job `id` in state `state` (any event).
    func waitForState(_ id: JobID, _ state: JobState) async throws {
        try await waitForLine("line for job \(id) in state \(state.rawValue)") {
            $0["id"] as? Int == Int(id.value) && $0["state"] as? Int == Int(state.rawValue)
        }
    }

    /// What the watcher printed so far, as text.
    func text() -> String { (try? FileIO.readString(output, limit: 16 << 20)) ?? "" }

    /// Waits for the watcher to end on its own (the `timeout` around it ends it if it never
    /// does); its exit status and its standard error.
    func ended() async throws -> ToolResult { try await run.value }

    /// Ctrl-C, then what it printed.
    func stop() async throws -> [[String: Any]] {
        kill(pid, SIGINT)
        _ = try await run.value
        return try lines()
    }
}

extension Fixture {
    /// `vm-install-jobs --watch` on the fixture's state directory, with `arguments` (a job id).
    func watch(_ arguments: [String] = []) async throws -> BackgroundWatch {
        try await BackgroundWatch.start(
            self, ["\(Self.buildDirectory)/vm-install-jobs", "--state-dir", stateDir, "--watch"] + arguments,
            marker: "\(stateDir) --watch")
    }
}
