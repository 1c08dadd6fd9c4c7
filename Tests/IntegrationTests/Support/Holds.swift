import Glibc
import Testing
import VMInstallKit

// A test that must see a job at some point holds it there and lets it go on when it is done,
// so that no test passes only because the machine was fast or slow enough: a FIFO holds a
// job in PREP_INSTALL, and `Guest.held` holds it in INSTALL until a key is pressed.

/// A FIFO that a job reads as a file it was given (cloud-init user-data, read in PREP_INSTALL):
/// the job waits there until the test writes it and closes it.
struct HeldFIFO {
    let path: String

    init(_ path: String) throws {
        guard mkfifo(path, 0o600) == 0 else { throw VMInstallError(.internal, "mkfifo \(path) failed") }
        self.path = path
    }

    /// Waits until the job has opened the FIFO for reading, so everything it did before is
    /// done, and returns the write end. The job then reads until that is closed: it stays
    /// where it is until `release(_:writing:)`.
    func waitForReader(seconds: Double = Fixture.patience) async throws -> Int32 {
        let deadline = Deadline.after(seconds: seconds)
        while true {
            // Without a reader, a non-blocking open for writing fails with ENXIO.
            let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { return fd }
            try #require(errno == ENXIO, "cannot open \(path): \(String(cString: strerror(errno)))")
            try #require(!deadline.hasPassed, "nothing opened \(path) for reading in \(seconds) s")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Gives the reader `text` and its end: the job goes on.
    static func release(_ fd: Int32, writing text: String) {
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

extension Fixture {
    /// Lets the install of a `Guest.held` VM go on: waits until its installer has started
    /// (a key pressed earlier would not count), presses Enter on the VM's keyboard through
    /// the install VM's requests socket (the runner holds the other QMP socket), and waits
    /// until the installer says it got the key.
    func release(_ name: String) async throws { try await release(vmFiles(name)) }

    func release(_ files: VMPaths) async throws {
        try await waitForSerial(files, Guest.startMark, "the held installer did not start")
        let socket = files.installMonitorSocket
        try await OffPool.run { try QMPKeyboard.press(socket: socket) }
        try await waitForSerial(files, Guest.goMark, "the held installer did not get its key")
    }

    /// Waits until the VM's serial console shows `text`.
    func waitForSerial(_ files: VMPaths, _ text: String, _ failure: String) async throws {
        let deadline = Deadline.after(seconds: Self.patience)
        while !fileContains(files.serialLog, text) {
            try #require(!deadline.hasPassed, "\(failure): \(files.serialLog) has no '\(text)'")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The job of the VM `name` (the first one, in id order), once it exists.
    func job(named name: String, in store: JobStore? = nil, seconds: Double = patience) async throws -> JobID {
        let store = store ?? self.store
        let deadline = Deadline.after(seconds: seconds)
        while true {
            for id in (try? store.listIDs()) ?? [] where (try? store.read(id))?.name == name { return id }
            try #require(!deadline.hasPassed, "no job for VM \(name)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
