import Glibc
import Testing
import VMInstallKit

/// Many requests at once: nothing lost, one winner, no half-written job ever seen.
@Suite struct ConcurrencyTests {
    @Test func fiftyJobsStartedAtOnceGetFiftyIDs() async throws {
        try await Fixture.with { fx in
            let results = try await withThrowingTaskGroup(of: ToolResult.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        try await fx.vmInstall([
                            // A tree on a port nobody listens on: each job fails in SETTINGS
                            // (fetching a tree is the job's), after vm-install has given its id.
                            "--name", "many\(i)", "--source", "http://127.0.0.1:1/tree/",
                            "--disk", "\(fx.root)/d\(i).qcow2,size=1M", "--background",
                        ])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.code == 0 })
            let ids = Set(results.compactMap { JobID(parsing: $0.stdout.trimmed) })
            #expect(ids.count == 50)
            let listed = try await fx.jobs(["--list"]).stdout.split(separator: "\n").compactMap {
                JobID(parsing: String($0))
            }
            #expect(Set(listed) == ids)
            for id in ids {
                let record = try await fx.waitForEnd(id)
                #expect(record.state == .failed && record.exit == JobExitCode.settings.rawValue)
            }
        }
    }

    @Test func racingRequestsHaveOneWinner() async throws {
        try await Fixture.with { fx in
            for round in 0..<20 {
                let id = try fx.recordJob(in: .finished, name: "d\(round)")
                async let a = fx.jobs(["--delete", id.description])
                async let b = fx.jobs(["--delete", id.description])
                let codes = try await [a.code, b.code].sorted()
                #expect(codes == [0, 3], "two deletes: \(codes)")
            }
            for round in 0..<20 {
                let id = try fx.recordJob(in: .finished, name: "c\(round)")
                async let cancel = fx.jobs(["--cancel", id.description])
                async let delete = fx.jobs(["--delete", id.description])
                let (c, d) = try await (cancel.code, delete.code)
                #expect(d == 0 && (c == 4 || c == 3), "cancel \(c), delete \(d)")
            }
            for round in 0..<10 {
                let id = try fx.recordJob(in: .install, name: "u\(round)")
                async let cancel = fx.jobs(["--cancel", id.description])
                async let delete = fx.jobs(["--delete", id.description])
                let (c, d) = try await (cancel.code, delete.code)
                #expect(c == 0 && (d == 0 || d == 4), "cancel \(c), delete \(d)")
                try await fx.waitUntil { !fx.store.runnerIsAlive(id) }
                let after = try await fx.jobs(["--status", id.description])
                #expect(after.code == 3 || after.keys["state"] == "8", "\(after.stdout)\(after.stderr)")
            }
        }
    }

    /// Readers looping --status and --list while a job's record is rewritten hundreds of
    /// times never see it missing or half-written.
    @Test func readersNeverSeeAHalfWrittenJob() async throws {
        try await Fixture.with { fx in
            let id = try fx.recordJob(in: .install, name: "busy")
            let writer = Task {
                for i in 0..<400 { try fx.store.update(id) { $0.vnc = "127.0.0.1::\(5900 + i % 50)" } }
            }
            var failures: [String] = []
            for _ in 0..<60 {
                let status = try await fx.jobs(["--status", id.description])
                if status.code != 0 || status.keys["state"] != "2" || status.keys["inotify"] == nil {
                    failures.append("\(status.code) \(status.stdout) \(status.stderr)")
                }
                let list = try await fx.jobs(["--list"])
                if list.stdout != "\(id)\n" { failures.append("list: \(list.stdout)") }
            }
            try await writer.value
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    /// Two jobs asking for one VM name, or one new disk path, at the same moment.
    @Test func oneNameOrDiskTwoJobsOneProceeds() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            async let a = fx.vmInstall(fx.vmArguments(name: "same", guest: guest, disk: "\(fx.root)/a.qcow2,size=16M"))
            async let b = fx.vmInstall(fx.vmArguments(name: "same", guest: guest, disk: "\(fx.root)/b.qcow2,size=16M"))
            let names = try await [a.code, b.code].sorted()
            #expect(names == [0, JobExitCode.settings.rawValue])
            #expect(FileIO.exists("\(fx.root)/a.qcow2") != FileIO.exists("\(fx.root)/b.qcow2"))

            async let c = fx.vmInstall(
                fx.vmArguments(name: "one", guest: guest, disk: "\(fx.root)/shared.qcow2,size=16M"))
            async let d = fx.vmInstall(
                fx.vmArguments(name: "two", guest: guest, disk: "\(fx.root)/shared.qcow2,size=16M"))
            let disks = try await [c.code, d.code].sorted()
            #expect(disks[0] == 0 && disks[1] != 0, "\(disks)")
            let running = ["one", "two"].filter { QEMUDriver().isRunning(files: fx.vmFiles($0)) }
            #expect(running.count == 1)
        }
    }
}
