// Benchmark (not a test): how fast vm-install-jobs --watch reports a state change, and what
// a waiting --wait costs in CPU while nothing changes.
//
//   swift run -c release vm-install-watch-benchmark [jobs]
//
// Jobs are recorded directly in a throwaway state directory, each with a stand-in runner
// (`sleep`) holding its runner lock; no VM is started. State changes are made through
// JobStore.update, exactly as the job runner makes them.
import Glibc
import VMInstallKit

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func fail(_ message: String) -> Never {
    let text = "vm-install-watch-benchmark: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

/// A child with stdout on a pipe we read; returns (pid, read end).
func spawn(_ argv: [String], stdoutPipe: Bool) -> (pid_t, Int32) {
    var fds: [Int32] = [-1, -1]
    if stdoutPipe {
        guard pipe(&fds) == 0 else { fail("pipe") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if stdoutPipe { posix_spawn_file_actions_adddup2(&actions, fds[1], 1) }
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    var pid: pid_t = 0
    guard posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else { fail("cannot start \(argv[0])") }
    posix_spawn_file_actions_destroy(&actions)
    for arg in cArgs { free(arg) }
    if stdoutPipe { close(fds[1]) }
    return (pid, fds[0])
}

/// Reads one line (blocking, 10 s at most).
final class LineReader {
    let fd: Int32
    var buffer: [UInt8] = []
    init(_ fd: Int32) { self.fd = fd }

    func line() -> String {
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) > 0 else { fail("the watcher said nothing for 10 s") }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { fail("the watcher ended") }
            buffer += chunk[0..<n]
        }
    }
}

func cpuTicks(_ pid: pid_t) -> Int {
    guard let text = try? FileIO.readString("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return -1 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)  // utime + stime
}

let jobCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 20 : 20
var exePath = [CChar](repeating: 0, count: 4096)
let exeLength = readlink("/proc/self/exe", &exePath, exePath.count - 1)
let exe = String(decoding: exePath[0..<max(exeLength, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
let tool = String(exe[..<exe.lastIndex(of: "/")!]) + "/vm-install-jobs"
guard access(tool, X_OK) == 0 else { fail("\(tool) is not built; run swift build first") }

var template = Array("/tmp/vmi-watch-bench-XXXXXX".utf8CString)
guard mkdtemp(&template) != nil else { fail("mkdtemp") }
let root = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
let store = JobStore(root: "\(root)/state")
var children: [pid_t] = []
defer {
    for pid in children {
        kill(pid, SIGKILL)
        var s: Int32 = 0
        waitpid(pid, &s, 0)
    }
    try? FileIO.removeTree(root)
}

// Jobs with stand-in runners.
var ids: [JobID] = []
for i in 0..<jobCount {
    let spec = VMSpec(name: "bench\(i)", source: "/x.iso", disks: [DiskSpec(path: "/x")])
    let (id, lock) = try store.create(spec, runnerPID: nil)
    let sleeper = try RunnerLauncher.launch(
        executable: "/bin/sleep", arguments: ["600"], logPath: store.paths(id).log, runnerLock: lock)
    lock.release()
    children.append(sleeper)
    try store.update(id) { $0.runnerPID = sleeper }
    ids.append(id)
}

// Latency: state change -> the watcher's JSON line.
let (watcher, out) = spawn([tool, "--state-dir", store.root, "--watch"], stdoutPipe: true)
children.append(watcher)
let reader = LineReader(out)
for _ in ids { _ = reader.line() }  // one "present" line per job
var samples: [Double] = []
for id in ids {
    for state in [JobState.prepInstall, .install, .postInstall, .runtimeConf, .runtime, .finished] {
        let t0 = now()
        try store.update(id) { r in
            r.state = state
            if state == .finished { r.exit = 0 }
        }
        let line = reader.line()
        samples.append(Double(now() - t0) / 1e6)
        guard line.contains("\"state\":\(state.rawValue)") else { fail("unexpected line: \(line)") }
    }
}
let sorted = samples.sorted()
func pct(_ values: [Double], _ p: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * p))] }

// CPU of a waiting --wait: one job that does not change for 5 s.
let (idleID, idleLock) = try store.create(
    VMSpec(name: "idle", source: "/x.iso", disks: [DiskSpec(path: "/x")]), runnerPID: nil)
let idleRunner = try RunnerLauncher.launch(
    executable: "/bin/sleep", arguments: ["600"], logPath: store.paths(idleID).log, runnerLock: idleLock)
idleLock.release()
children.append(idleRunner)
try store.update(idleID) { $0.runnerPID = idleRunner }
let (waiter, _) = spawn([tool, "--state-dir", store.root, "--wait", idleID.description], stdoutPipe: true)
usleep(300_000)
let before = cpuTicks(waiter)
usleep(5_000_000)
let after = cpuTicks(waiter)
let t0 = now()
try store.update(idleID) { r in
    r.state = .finished
    r.exit = 0
}
var status: Int32 = 0
waitpid(waiter, &status, 0)
let waitExit = Double(now() - t0) / 1e6
let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

func ms(_ v: Double) -> String { String(Double(Int(v * 100)) / 100) + " ms" }
print("watch latency, state change -> JSON line (\(samples.count) changes, \(jobCount) jobs watched):")
print(
    "  median \(ms(pct(sorted, 0.5)))   p90 \(ms(pct(sorted, 0.9)))   max \(ms(sorted.last!))   (goal: median < 20 ms)")
print(
    "--wait CPU while nothing changed for 5 s: \(after - before) clock ticks (\(Double(after - before) / ticksPerSecond) s)"
)
print("--wait exit after the job finished: \(ms(waitExit))")
