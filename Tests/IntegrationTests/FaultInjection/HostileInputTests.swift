import Glibc
import Testing
import VMInstallKit

/// Broken job files and random command lines: a clear error or a correct result, for that
/// job alone, and never a crash.
@Suite struct HostileInputTests {
    @Test func brokenJobsAreReportedAloneAndTheRestWorks() async throws {
        try await Fixture.with { fx in
            let good = try fx.recordJob(in: .failed, name: "good")
            var broken: [(JobID, String)] = []
            func make(_ name: String, _ damage: (JobPaths) throws -> Void) throws {
                let id = try fx.recordJob(in: .failed, name: name)
                try damage(fx.store.paths(id))
                broken.append((id, name))
            }
            try make("truncated") { p in
                let text = try FileIO.readString(p.record)
                try FileIO.writeAtomically(p.record, String(text.prefix(text.count / 2)))
            }
            try make("garbage") { p in try FileIO.writeAtomically(p.record, "\u{1}\u{2}binary\u{0}junk") }
            try make("unknown") { p in
                try FileIO.writeAtomically(p.record, "sneaky=1\n" + (try FileIO.readString(p.record)))
            }
            try make("noinotify") { p in unlink(p.inotify) }
            try make("farfuture") { p in
                let lines = try FileIO.readString(p.record).split(separator: "\n").map {
                    $0.hasPrefix("created=") ? "created=67768036191676799" : String($0)
                }
                try FileIO.writeAtomically(p.record, lines.joined(separator: "\n") + "\n")
            }
            let handMade = try #require(JobID(parsing: "77"))
            try FileIO.makeDirectory(fx.store.paths(handMade).directory)
            broken.append((handMade, "handmade"))

            for (id, name) in broken {
                let status = try await fx.jobs(["--status", id.description])
                #expect(status.code == JobsToolExitCode.damagedJob.rawValue, "\(name): \(status.stderr)")
                #expect(status.stderr.contains("job \(id) is damaged"), "\(name): \(status.stderr)")
                #expect(status.stderr.split(separator: "\n").count == 1)
            }
            let list = try await fx.jobs(["--list"])
            #expect(list.code == 0)
            #expect(list.stdout.split(separator: "\n").count == broken.count + 1)
            for (id, name) in broken {
                // An unreadable record cannot say what the job created, so delete refuses it;
                // a job that only lost its inotify file can still be deleted properly.
                let delete = try await fx.jobs(["--delete", id.description])
                let expected = name == "noinotify" ? 0 : JobsToolExitCode.damagedJob.rawValue
                #expect(delete.code == expected, "\(name): \(delete.stderr)")
            }
            #expect(try await fx.jobs(["--status", good.description]).keys["state"] == "7")
            let json = try await fx.jobs(["--list", "--json"])
            #expect(json.code == 0 && json.stdout.contains("\"name\" : \"good\""))
        }
    }

    /// Random command lines from a hostile vocabulary: every one gets a documented exit code
    /// and, when it fails, a message; none kills the tool with a signal.
    @Test func fuzzedCommandLines() async throws {
        try await Fixture.with { fx in
            var rng = SystemRandomNumberGenerator()
            let values = [
                "", "0", "-1", "1", "7", "99999999999999999999", "../x", "a/b", "a\nb", "\u{7f}", "a,b", "=",
                ",,", "x,size=", "/tmp/vmi-fuzz,size=1G", "/tmp/vmi-fuzz,format=raw",
                String(repeating: "x", count: 5000),
                "FINISHED", "bogus", "3.5", "nan", "inf", "--", "-", "tcg", "é",
            ]
            let jobsFlags = [
                "--list", "--status", "--cancel", "--delete", "--detach", "--wait", "--log", "--json",
                "--timeout", "--until", "--follow", "--screenshot", "--bogus", "-x",
            ]
            let installFlags = [
                "--name", "--source", "--disk", "--memory", "--vcpus", "--vnc", "--accel",
                "--install-timeout", "--stall-timeout", "--settle", "--background", "--bogus", "--run-job",
            ]
            func argv(_ flags: [String]) -> [String] {
                (0..<Int.random(in: 0...5, using: &rng)).flatMap { _ -> [String] in
                    let flag = flags.randomElement(using: &rng)!
                    return Bool.random(using: &rng) ? [flag, values.randomElement(using: &rng)!] : [flag]
                }
            }
            for _ in 0..<150 {
                let args = argv(jobsFlags)
                let r = try await fx.run("vm-install-jobs", ["--state-dir", fx.stateDir] + args)
                #expect((0...10).contains(r.code), "vm-install-jobs \(args): \(r.code)")
                if r.code != 0 { #expect(!r.stderr.isEmpty, "\(args)") }
            }
            for _ in 0..<150 {
                var args = argv(installFlags)
                // Never a real install: any source given does not exist.
                args = args.enumerated().map { i, a in i > 0 && args[i - 1] == "--source" ? "/nonexistent/\(a)" : a }
                let r = try await fx.run("vm-install", ["--state-dir", "\(fx.root)/install-state"] + args)
                #expect([0, 1, 2, 3, 9].contains(r.code), "vm-install \(args): \(r.code) \(r.stderr)")
                if r.code != 0 { #expect(!r.stderr.isEmpty, "\(args)") }
            }
            #expect(!FileIO.exists("/tmp/vmi-fuzz"))
        }
    }

    /// A comma in a disk path is QEMU's option separator; doubled, it stays part of the name.
    @Test func aDiskPathCannotInjectQEMUOptions() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let spec = "\(fx.root)/a,,file=evil.qcow2,,format=raw,size=16M"
            let result = try await fx.vmInstall(fx.vmArguments(name: "commas", guest: guest, disk: spec))
            #expect(result.code == 0, "\(result.stderr)")
            #expect(FileIO.exists("\(fx.root)/a,file=evil.qcow2,format=raw"))
            #expect(!FileIO.exists("/evil.qcow2") && !FileIO.exists("\(fx.root)/evil.qcow2"))
            #expect(await fx.serialShows("commas", Guest.runtimeMark))
        }
    }
}
