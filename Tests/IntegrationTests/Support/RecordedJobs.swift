import Glibc
import Testing
import VMInstallKit

extension Fixture {
    /// A job in `state`, made through the store's own legal moves. An unfinished one gets a
    /// stand-in runner (a `sleep` holding the runner lock), since a job without a live runner
    /// reads as FAILED.
    func recordJob(in state: JobState, name: String = "rec") throws -> JobID {
        let (id, lock) = try store.create(
            VMSpec(name: name, source: "/x.iso", disks: [DiskSpec(path: "/x")]), runnerPID: nil)
        defer { lock.release() }
        var standIn: Int32?
        if !state.isTerminal {
            standIn = try RunnerLauncher.launch(
                executable: "/bin/sleep", arguments: ["infinity"], logPath: store.paths(id).log, runnerLock: lock)
        }
        let path: [JobState] =
            state.isTerminal
            ? (state == .finished
                ? [.prepInstall, .install, .postInstall, .runtimeConf, .runtime, .finished] : [state])
            : Array(JobState.allCases.dropFirst().prefix(state.rawValue))
        try store.update(id) { r in r.runnerPID = standIn }
        for next in path {
            try store.update(id) { r in
                r.state = next
                if next.isTerminal { r.exit = 0 }
            }
        }
        return id
    }
}

/// A process that is alive but holds no lock of ours: what a reused pid looks like.
func startUnrelatedProcess() throws -> pid_t {
    var pid: pid_t = 0
    var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("infinity"), nil]
    defer { for arg in argv { free(arg) } }
    guard posix_spawn(&pid, "/bin/sleep", nil, nil, &argv, environ) == 0 else {
        throw VMInstallError(.internal, "cannot start sleep")
    }
    return pid
}

func isAlive(_ pid: pid_t) -> Bool {
    guard let stat = try? FileIO.readString("/proc/\(pid)/stat") else { return false }
    return !stat.contains(") Z ")
}
