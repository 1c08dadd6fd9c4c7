import Glibc
import Testing
import VMInstallKit

@Suite(.serialized) struct InotifyTests {
    /// From PREP_INSTALL (1) to FINISHED (6) a watcher must see exactly five IN_CLOSE_WRITE on
    /// the inotify file, one per state change, and the file must never be replaced. Watching
    /// the directory keeps events apart (the record's rename sits between two writes), so none
    /// are merged. The job waits in PREP_INSTALL, reading its cloud-init user-data from a FIFO,
    /// until the watches are in place.
    @Test func oneCloseWritePerStateChange() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let fifo = try HeldFIFO("\(fx.root)/user-data")
            let id = try await fx.startJob(
                name: "watched", guest: guest, extra: ["--cloud-init", "user-data=\(fifo.path)"])
            let paths = fx.store.paths(id)
            let directoryWatch = try InotifyWatch(
                path: paths.directory, mask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE))
            let fileWatch = try InotifyWatch(path: paths.inotify, mask: UInt32(IN_CLOSE_WRITE))
            // Once the job reads the FIFO, PREP_INSTALL is written and closed: what the watches
            // have seen so far is from before; every event from here on is a later state's.
            let writer = try await fifo.waitForReader()
            _ = directoryWatch.read(waitingUpTo: 0)
            _ = fileWatch.read(waitingUpTo: 0)
            #expect(try FileIO.readString(paths.inotify) == "1\n")
            HeldFIFO.release(writer, writing: "#cloud-config\n")

            let record = try await fx.waitForEnd(id)
            #expect(record.state == .finished, "\(record.error ?? "")")
            // Each event was queued when its write was closed, before the job's end was written.
            let events = directoryWatch.read(waitingUpTo: 0).filter { $0.name == "state" }
            #expect(events.count == 5, "\(events)")
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
            let guest = try await Guest.held.guest()
            let watcher = try await fx.watch()
            // The job waits in PREP_INSTALL, reading its cloud-init user-data from a FIFO, until
            // the watch is in place: a busy machine cannot let INSTALL slip past it. It waits in
            // INSTALL until both watchers have seen it. RUNTIME lasts the 10 s of --settle.
            let fifo = try HeldFIFO("\(fx.root)/user-data")
            let id = try await fx.startJob(
                name: "announced", guest: guest,
                extra: ["--vnc", "--settle", "10", "--cloud-init", "user-data=\(fifo.path)"])
            let paths = fx.store.paths(id)
            let watch = try InotifyWatch(path: paths.inotify, mask: UInt32(IN_CLOSE_WRITE))
            #expect(try fx.store.read(id).state.rawValue < JobState.install.rawValue, "INSTALL came before the watch")
            HeldFIFO.release(try await fifo.waitForReader(), writing: "#cloud-config\n")
            let control = JobControl(store: fx.store)
            var seen: [JobState: String?] = [:]
            var release: Task<Void, any Error>?
            let deadline = Deadline.after(seconds: Fixture.patience)
            while !deadline.hasPassed {
                // Events queue in the watch; a task must not block its thread waiting for one.
                var pfd = pollfd(fd: watch.fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 0) > 0 else {
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                _ = watch.read(waitingUpTo: 0)
                // What --status prints, read on the event.
                let status = try control.status(id)
                seen.updateValue(status.vnc, forKey: status.state)
                if status.state == .install, release == nil {
                    release = Task {
                        try await watcher.waitForState(id, .install)
                        try await fx.release("announced")
                    }
                }
                if status.state.isTerminal { break }
            }
            try await release?.value
            for state in [JobState.install, .runtime] {
                let vnc = try #require(
                    seen[state], "state \(state) was not seen on its event: \(seen.keys.map(\.rawValue).sorted())")
                #expect(vnc?.hasPrefix("127.0.0.1::") == true, "no vnc key on the event for \(state)")
            }
            #expect(seen[.finished] != nil)

            _ = try await fx.waitForEnd(id)
            try await watcher.waitForState(id, .finished)
            let lines = try await watcher.stop()
            let install = try #require(lines.first { $0["id"] as? Int == Int(id.value) && $0["state"] as? Int == 2 })
            #expect((install["vnc"] as? String)?.hasPrefix("127.0.0.1::") == true, "\(install)")
            for line in lines where (line["state"] as? Int ?? 0) >= 2 {
                #expect(line["vnc"] is String, "\(line)")
            }
        }
    }
}
