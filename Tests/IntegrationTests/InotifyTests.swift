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
            let directoryWatch = try InotifyWatch(path: paths.directory, mask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE))
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
}
