import Glibc
import Testing
import VMInstallKit

@Suite(.serialized) struct InotifyTests {
    /// From INSTALL (2) to FINISHED (6) a watcher must see exactly four IN_CLOSE_WRITE on the
    /// inotify file, and the file must never be replaced. Watching the directory keeps events
    /// apart (the record's rename sits between two writes), so none are merged.
    @Test func oneCloseWritePerStateChange() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.slower.guest()
            let id = try await fx.startJob(name: "watched", guest: guest)
            let paths = fx.store.paths(id)
            let directoryWatch = try InotifyWatch(
                path: paths.directory, mask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE))
            let fileWatch = try InotifyWatch(path: paths.inotify, mask: UInt32(IN_CLOSE_WRITE))
            // The install lasts about 5 s: once the file says INSTALL and its write is closed,
            // the next event is the next state's.
            try await fx.waitFor(id) { _ in (try? FileIO.readString(paths.inotify)) == "2\n" }
            try await Task.sleep(for: .milliseconds(300))
            _ = directoryWatch.read(waitingUpTo: 0)
            #expect(try FileIO.readString(paths.inotify) == "2\n", "the install was over before the watch began")

            let record = try await fx.waitForEnd(id)
            #expect(record.state == .finished)
            let events = directoryWatch.read(waitingUpTo: 200).filter { $0.name == "state" }
            #expect(events.count == 4, "\(events)")
            #expect(events.allSatisfy { $0.mask & UInt32(IN_CLOSE_WRITE) != 0 })
            #expect(try FileIO.readString(paths.inotify) == "6\n")
            #expect(!fileWatch.read(waitingUpTo: 0).isEmpty)
        }
    }

    /// The VM's VNC address is in the record when INSTALL and RUNTIME are announced: a
    /// watcher that reads the status on the very event finds the vnc key, and --watch prints
    /// it with the state's line.
    @Test func vncIsThereWhenInstallAndRuntimeAreAnnounced() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.slow.guest()
            async let watcher = fx.run(
                "/usr/bin/timeout",
                ["-s", "INT", "40", "\(Fixture.buildDirectory)/vm-install-jobs", "--state-dir", fx.stateDir, "--watch"])
            let watcherPID = try await waitUntilWatching("\(fx.stateDir) --watch")
            // The job waits in PREP_INSTALL, reading its cloud-init user-data from a FIFO, until
            // the watch is in place: a busy machine cannot let INSTALL slip past it.
            let fifo = "\(fx.root)/user-data"
            try #require(mkfifo(fifo, 0o600) == 0)
            let id = try await fx.startJob(
                name: "announced", guest: guest, extra: ["--vnc", "--settle", "3", "--cloud-init", "user-data=\(fifo)"])
            let paths = fx.store.paths(id)
            let watch = try InotifyWatch(path: paths.inotify, mask: UInt32(IN_CLOSE_WRITE))
            #expect(try fx.store.read(id).state.rawValue < JobState.install.rawValue, "INSTALL came before the watch")
            Task.detached {
                let fd = open(fifo, O_WRONLY | O_CLOEXEC)
                _ = "#cloud-config\n".withCString { write(fd, $0, strlen($0)) }
                close(fd)
            }
            let control = JobControl(store: fx.store)
            var seen: [JobState: String?] = [:]
            let deadline = Deadline.after(seconds: 60)
            while !deadline.hasPassed {
                var pfd = pollfd(fd: watch.fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 1000) > 0 else { continue }
                _ = watch.read(waitingUpTo: 0)
                // What --status prints, read on the event.
                let status = try control.status(id)
                seen.updateValue(status.vnc, forKey: status.state)
                if status.state.isTerminal { break }
            }
            for state in [JobState.install, .runtime] {
                let vnc = try #require(
                    seen[state], "state \(state) was not seen on its event: \(seen.keys.map(\.rawValue).sorted())")
                #expect(vnc?.hasPrefix("127.0.0.1::") == true, "no vnc key on the event for \(state)")
            }
            #expect(seen[.finished] != nil)

            _ = try await fx.waitForEnd(id)
            try await Task.sleep(for: .milliseconds(300))
            kill(watcherPID, SIGINT)
            let lines = try await watcher.stdout.split(separator: "\n").map {
                try JSONSerializationFree.object(String($0))
            }
            let install = try #require(lines.first { $0["id"] as? Int == Int(id.value) && $0["state"] as? Int == 2 })
            #expect((install["vnc"] as? String)?.hasPrefix("127.0.0.1::") == true, "\(install)")
            for line in lines where (line["state"] as? Int ?? 0) >= 2 {
                #expect(line["vnc"] is String, "\(line)")
            }
        }
    }
}
