import FoundationEssentials
import Glibc
import Testing
import VMInstallKit

/// --wait, --watch, --log and --json against real jobs.
@Suite(.serialized) struct WatchingTests {
    @Test func waitBlocksUntilTheEndAndSaysHowItEnded() async throws {
        try await Fixture.with { fx in
            // Held in INSTALL until the test has seen --wait block.
            let held = try await Guest.held.guest()
            let id = try await fx.startJob(name: "waited", guest: held)
            let reached = try await fx.jobs(["--wait", id.description, "--until", "INSTALL"])
            #expect(reached.code == 0, "\(reached.stderr)")
            #expect(reached.keys["state"] == "2")
            async let waitingForTheEnd = fx.jobs(["--wait", id.description])
            try await waitUntilWatching("\(fx.stateDir) --wait \(id)")
            try await fx.release("waited")
            let done = try await waitingForTheEnd
            #expect(done.code == 0, "\(done.stderr)")
            #expect(done.keys["state"] == "6")
            #expect(done.keys["exit"] == "0")
            let elsewhere = try await fx.jobs(["--wait", id.description, "--until", "canceled"])
            #expect(elsewhere.code == JobsToolExitCode.waitEndedElsewhere.rawValue)

            let endless = try await Guest.endless.guest()
            let stuck = try await fx.startJob(name: "stuck", guest: endless)
            let timedOut = try await fx.jobs(["--wait", stuck.description, "--until", "FINISHED", "--timeout", "1"])
            #expect(timedOut.code == JobsToolExitCode.waitTimedOut.rawValue)
            #expect(timedOut.stderr.contains("still in state"))

            async let waiting = fx.jobs(["--wait", stuck.description, "--json"])
            try await fx.waitFor(stuck) { $0.state == .install }
            try await waitUntilWatching("\(fx.stateDir) --wait \(stuck)")
            #expect(try await fx.jobs(["--cancel", stuck.description]).code == 0)
            let canceled = try await waiting
            #expect(canceled.code == JobsToolExitCode.waitCanceled.rawValue, "\(canceled.stderr)")
            let report = try JSONSerializationFree.object(canceled.stdout)
            #expect(report["state_name"] as? String == "CANCELED")
            #expect(report["exit"] as? Int == 10)

            #expect(try await fx.jobs(["--wait", "99"]).code == 3)
        }
    }

    @Test func aJobRemovedWhileWaitedForEndsTheWait() async throws {
        try await Fixture.with { fx in
            let id = try fx.recordJob(in: .install)
            async let waiting = fx.jobs(["--wait", id.description])
            try await waitUntilWatching("\(fx.stateDir) --wait")
            let runner = try #require(try fx.store.read(id).runnerPID)
            try fx.store.removeJobDirectory(id)
            let result = try await waiting
            kill(runner, SIGKILL)
            #expect(result.code == JobsToolExitCode.noSuchJob.rawValue)
            #expect(result.stderr.contains("deleted while being waited for"), "\(result.stderr)")
        }
    }

    @Test func watchStreamsOneJSONLinePerStateChange() async throws {
        try await Fixture.with { fx in
            // INSTALL lasts until --watch has printed it; RUNTIME the 10 s of --settle (no event
            // holds it: a watcher descheduled for longer would see FINISHED only).
            let held = try await Guest.held.guest()
            let watcher = try await fx.watch()
            let id = try await fx.startJob(name: "streamed", guest: held, extra: ["--settle", "10"])
            try await watcher.waitForState(id, .install)
            try await fx.release("streamed")
            _ = try await fx.waitForEnd(id)
            try await watcher.waitForState(id, .finished)
            let lines = try await watcher.stop()
            let events = lines.filter { $0["id"] as? Int == Int(id.value) }
            #expect(events.first?["event"] as? String == "created")
            let states = events.compactMap { $0["state"] as? Int }
            #expect(states.last == 6)
            #expect(states == states.sorted(), "\(states)")
            #expect(Set(states).count == states.count, "one line per state: \(states)")
            #expect(states.contains(2) && states.contains(5))
            #expect(events.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true })
        }
    }

    /// On a terminal (a pty from script(1)) --watch draws a table, and Ctrl-C ends it cleanly.
    @Test func watchDrawsATableOnATerminal() async throws {
        try await Fixture.with { fx in
            _ = try fx.recordJob(in: .failed)
            // Ctrl-C once the table is on the terminal: the shell waits for the test's word on
            // a FIFO, and the test reads the terminal's output as script(1) records it.
            let go = try HeldFIFO("\(fx.root)/go")
            let typescript = "\(fx.root)/typescript"
            let watcher = "\(Fixture.buildDirectory)/vm-install-jobs --state-dir \(fx.stateDir) --watch"
            let command = "\(watcher) & p=$!; read go < \(go.path); kill -INT $p; wait $p; echo watcher-exit=$?"
            async let run = fx.run(
                "/usr/bin/timeout", ["\(Int(3 * Fixture.patience))", "/usr/bin/script", "-qfec", command, typescript])
            try await fx.waitUntil { fileContains(typescript, "1   rec   7 FAILED") }
            HeldFIFO.release(try await go.waitForReader(), writing: "go\n")
            let result = try await run
            #expect(result.stdout.contains("watcher-exit=0"), "\(result.stdout)")
            #expect(result.stdout.contains("ID  NAME  STATE"))
            #expect(result.stdout.contains("1   rec   7 FAILED"))
            #expect(result.stdout.contains("\u{1B}[2J"))
            #expect(result.stdout.contains("\u{1B}[?25h"), "the cursor is shown again on exit")
        }
    }

    @Test func logFollowEndsWithTheJob() async throws {
        try await Fixture.with { fx in
            // Held in INSTALL until the log is being followed.
            let held = try await Guest.held.guest()
            let id = try await fx.startJob(name: "logged", guest: held)
            async let following = fx.jobs(["--log", id.description, "--follow"])
            try await waitUntilWatching("\(fx.stateDir) --log \(id) --follow")
            try await fx.release("logged")
            let log = try await following
            #expect(log.code == 0)
            #expect(log.stdout.contains("state 2 (INSTALL)"))
            #expect(log.stdout.contains("job \(id) finished"))
            #expect(try await fx.jobs(["--log", id.description]).stdout == log.stdout)
        }
    }

    @Test func jsonCarriesTheManualKeysAndMore() async throws {
        try await Fixture.with { fx in
            let quick = try await Guest.quick.guest()
            let id = try await fx.startJob(name: "described", guest: quick)
            _ = try await fx.waitForEnd(id)
            let plain = try await fx.jobs(["--status", id.description]).keys
            let json = try JSONSerializationFree.object(
                try await fx.jobs(["--status", id.description, "--json"]).stdout)
            for key in ["exit", "id", "inotify", "log", "state", "uuid"] {
                #expect("\(json[key] ?? "missing")" == plain[key], "\(key)")
            }
            #expect(json["name"] as? String == "described")
            #expect(json["state_name"] as? String == "FINISHED")
            let disks = try #require(json["disks"] as? [[String: Any]])
            #expect(disks.count == 1)
            #expect(disks.first?["created_by_job"] as? Bool == true)
            let list = try JSONSerializationFree.object(try await fx.jobs(["--list", "--json"]).stdout)
            #expect((list["jobs"] as? [Any])?.count == 1)
        }
    }
}

/// A small JSON reader for tests (FoundationEssentials has no JSONSerialization).
enum JSONSerializationFree {
    static func object(_ text: String) throws -> [String: Any] {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        return try #require(value.any as? [String: Any], "not a JSON object: \(text)")
    }
}

enum JSONValue: Decodable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    var any: Any {
        switch self {
        case .object(let o): return o.mapValues(\.any)
        case .array(let a): return a.map(\.any)
        case .string(let s): return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? Int(n) as Any : n
        case .bool(let b): return b
        case .null: return NSNullFree()
        }
    }
}

struct NSNullFree: CustomStringConvertible {
    var description: String { "null" }
}
