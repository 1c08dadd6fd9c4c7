import Glibc
import Testing
import VMInstallKit

/// The job's answer server and syslog receiver, with the tiny guest that idles for ever: the
/// server serves --serve's files only, GET and HEAD only, logs each request; the receiver
/// puts the installer's lines into the job's log, and the stall report quotes the last one;
/// both are gone once the job has ended.
@Suite struct InstallServicesTests {
    /// The port the job's log names after `prefix`, once it does.
    func port(in log: String, after prefix: String) async throws -> Int {
        var found: Int?
        let deadline = Deadline.after(seconds: Fixture.patience)
        while found == nil {
            let text = (try? FileIO.readString(log)) ?? ""
            if let range = text.firstRange(of: prefix) { found = Int(text[range.upperBound...].prefix { $0.isNumber }) }
            try #require(found != nil || !deadline.hasPassed, "\(prefix) not in the log: \(text)")
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        return found!
    }

    func curl(_ fx: Fixture, _ arguments: [String]) async throws -> ToolResult {
        try await fx.run("/usr/bin/curl", ["-s", "--max-time", "10", "--path-as-is"] + arguments)
    }

    func sendSyslog(_ text: String, port: Int) {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let bytes = Array(text.utf8)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(s, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    func connects(to port: Int) -> Bool {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// The servers' requests, with no stall check to race: the job is canceled at the end.
    @Test func theServersServeLogAndStopWithTheJob() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let served = "\(fx.root)/served"
            _ = try FileIO.makeDirectory(served)
            _ = try FileIO.makeDirectory("\(served)/sub")
            try FileIO.writeAtomically("\(served)/sub/hello.txt", "hello\n")
            try FileIO.writeAtomically("\(fx.root)/secret.txt", "secret\n")
            symlink("\(fx.root)/secret.txt", "\(served)/out.txt")
            let id = try await fx.startJob(
                name: "served", guest: guest,
                extra: [
                    "--serve", served, "--boot-keys", "log {{syslogIP}}:{{syslogPort}} x<enter>", "--boot-wait", "0",
                    "--stall-timeout", "0",
                ])
            let log = fx.store.paths(id).log
            let http = try await port(in: log, after: "answer server: http://10.0.2.2:")
            let syslog = try await port(in: log, after: "installer syslog: 10.0.2.2:")

            let hello = try await curl(fx, ["http://127.0.0.1:\(http)/sub/hello.txt"])
            #expect(hello.stdout == "hello\n")
            for (path, status) in [("/../secret.txt", "404"), ("/out.txt", "404"), ("/sub", "404"), ("/nope", "404")] {
                let r = try await curl(
                    fx, ["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(http)\(path)"])
                #expect(r.stdout == status, "\(path): \(r.stdout)")
            }
            let post = try await curl(
                fx, ["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "http://127.0.0.1:\(http)/sub/hello.txt"])
            #expect(post.stdout == "405")
            let head = try await curl(fx, ["-I", "http://127.0.0.1:\(http)/sub/hello.txt"])
            #expect(head.stdout.contains("Content-Length: 6"), "\(head.stdout)")
            sendSyslog("<13>Jan  1 00:00:00 vmi-test[7]: Retrieving the preseed", port: syslog)
            try await fx.waitUntil { fileContains(log, "installer: vmi-test[7]: Retrieving the preseed") }
            // The servers start before the install VM: the keys are typed once it runs.
            try await fx.waitUntil { fileContains(log, "boot keys: typing ") }

            #expect(try await fx.jobs(["--cancel", id.description]).code == 0)
            let record = try await fx.waitForEnd(id)
            #expect(record.state == .canceled, "\(record.error ?? "")")
            let text = try FileIO.readString(log)
            #expect(text.contains("answer server: GET /sub/hello.txt 200 6 bytes"), "\(text)")
            #expect(text.contains("answer server: GET /../secret.txt 404"), "\(text)")
            #expect(text.contains("answer server: POST /sub/hello.txt 405"), "\(text)")
            #expect(text.contains("answer server: HEAD /sub/hello.txt 200 0 bytes"), "\(text)")
            #expect(text.contains("boot keys: typing ") && text.contains(" characters, <enter> ("), "\(text)")
            #expect(!text.contains("log 10.0.2.2"), "the typed text is not logged")
            #expect(!connects(to: http), "the answer server stopped with the job")
            sendSyslog("<13>Jan  1 00:00:00 late: after the end", port: syslog)
            #expect(!(try FileIO.readString(log)).contains("late: after the end"), "the receiver stopped")
        }
    }

    /// `vm-install-jobs --log ID --follow` shows a line the installer sends as it comes,
    /// marked as the installer's, and ends with the job. The line is sent the way d-i's
    /// busybox syslogd sends it (UDP, RFC 3164) once the receiver's port is in the log; the
    /// install is held until the follower has shown it. The boot keys only name {{syslog}},
    /// so that the receiver runs: they wait for a text the guest never prints and are never
    /// typed (a key would release the held installer).
    @Test func logFollowShowsTheInstallersLines() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.held.guest()
            let id = try await fx.startJob(
                name: "followed", guest: guest,
                extra: ["--boot-keys", "{{syslog}}", "--boot-wait", "0", "--boot-wait-for", "NOT ON THE CONSOLE"])
            let log = fx.store.paths(id).log
            let syslog = try await port(in: log, after: "installer syslog: 10.0.2.2:")
            let follower = try await BackgroundWatch.start(
                fx,
                [
                    "\(Fixture.buildDirectory)/vm-install-jobs", "--state-dir", fx.stateDir, "--log", id.description,
                    "--follow",
                ],
                marker: "\(fx.stateDir) --log \(id) --follow")

            sendSyslog("<13>Dec  7 01:02:03 main-menu[123]: INFO: Menu item 'x' selected", port: syslog)
            let message = "installer: main-menu[123]: INFO: Menu item 'x' selected"
            try await fx.waitUntil { follower.text().contains(message) }
            let shown = follower.text().split(separator: "\n").filter { $0.contains("installer: ") }
            let stamped = try Regex(#"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z "#)
            #expect(shown.count == 1, "\(shown)")
            #expect(shown.first?.prefixMatch(of: stamped) != nil, "\(shown)")
            #expect(
                shown.first.map { $0.split(separator: " ", maxSplits: 1).last == Substring(message) } == true,
                "\(shown)")

            try await fx.release("followed")
            let record = try await fx.waitForEnd(id)
            #expect(record.state == .finished, "\(record.error ?? "")")
            let followed = try await follower.ended()
            #expect(followed.code == 0, "\(followed.stderr)")
            let text = follower.text()
            #expect(text.contains("job \(id) finished"), "\(text)")
            #expect(try await fx.jobs(["--log", id.description]).stdout == text)
        }
    }

    /// A stall report quotes the installer's last line. The line is sent as soon as the
    /// receiver's port is known; nothing else races the limit.
    @Test func aStallQuotesTheInstallersLastLine() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let id = try await fx.startJob(
                name: "stalled", guest: guest,
                extra: [
                    "--boot-keys", "log {{syslogIP}}:{{syslogPort}}<enter>", "--boot-wait", "0", "--stall-timeout",
                    "30",
                    "--install-timeout", String(Int(2 * Fixture.patience)),
                ])
            let log = fx.store.paths(id).log
            let syslog = try await port(in: log, after: "installer syslog: 10.0.2.2:")
            sendSyslog("<13>Jan  1 00:00:00 vmi-test[7]: Retrieving the preseed", port: syslog)
            let record = try await fx.waitForEnd(id)
            #expect(record.exit == JobExitCode.installStalled.rawValue, "\(record.error ?? "")")
            #expect(
                record.error?.contains("the installer's last log line: vmi-test[7]: Retrieving the preseed") == true,
                "\(record.error ?? "")")
            #expect(try FileIO.readString(log).contains("installer: vmi-test[7]: Retrieving the preseed"))
        }
    }
}
