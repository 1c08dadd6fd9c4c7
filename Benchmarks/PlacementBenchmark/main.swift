// vm-install-placement-benchmark: what placement and admission cost as hosts and the queue
// grow. Placement.choose over 1, 10 and 100 hosts (simulated rooms and loads); one admission
// decision of the job first in line and of the last job with 10, 100 and 1,000 jobs in line
// (real jobs in a throwaway state directory, their runner locks held by this process, so
// every one of them is alive and waiting), and the ledger's size.
//
//   swift build -c release && .build/release/vm-install-placement-benchmark
import Glibc
@_spi(Benchmarks) import VMInstallKit

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func fmt(_ seconds: Double) -> String {
    seconds < 1e-3
        ? "\(Int((seconds * 1e6).rounded())) µs"
        : "\(Int((seconds * 1e4).rounded()) / 10).\(Int((seconds * 1e4).rounded()) % 10) ms"
}

print("Placement.choose (simulated hosts, each with a budget, other VMs, loads and 4 install slots):")
for hosts in [1, 10, 100] {
    let rooms = (0..<hosts).map {
        Placement.Room(key: "qemu+tcp://h\($0)/system", budgetMiB: 65536 + $0, othersMiB: 512, maxInstalls: 4)
    }
    var loads: [String: Placement.Load] = [:]
    for room in rooms {
        var load = Placement.Load()
        load.sharesMiB = 4096
        load.installs = 2
        loads[room.key] = load
    }
    var samples: [Double] = []
    for _ in 0..<2000 {
        let t = now()
        _ = Placement.choose(memoryMiB: 1024, rooms: rooms, loads: loads)
        samples.append(now() - t)
    }
    print("  \(hosts) host\(hosts == 1 ? "" : "s"): median \(fmt(median(samples)))")
}

print("One admission decision (this machine's budget, every job alive and waiting):")
for queued in [10, 100, 1000] {
    var template = Array("/tmp/vmi-placement-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { fatalError("mkdtemp") }
    let root = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let store = JobStore(root: "\(root)/state")
    var spec = VMSpec(name: "q", source: "/x.iso", disks: [DiskSpec(path: "/x")])
    spec.memoryMiB = 64
    spec.memoryBudgetMiB = 1  // nothing fits: every decision ends in waiting
    var locks: [FileLock] = []
    var ids: [JobID] = []
    for i in 0..<queued {
        spec.name = "q\(i)"
        let (id, lock) = try store.create(spec, runnerPID: nil)
        ids.append(id)
        locks.append(lock)
    }
    for (label, id) in [("first in line", ids[0]), ("last in line", ids[ids.count - 1])] {
        var samples: [Double] = []
        for _ in 0..<(queued >= 1000 ? 50 : 200) {
            let t = now()
            _ = try AdmissionTiming.decideOnce(id, spec: spec, memoryMiB: 64, store: store)
            samples.append(now() - t)
        }
        print("  \(queued) in line, \(label): median \(fmt(median(samples)))")
    }
    var st = stat()
    stat("\(store.root)/admission", &st)
    print("  \(queued) in line: ledger \(st.st_size) bytes")
    for lock in locks { lock.release() }
    try? FileIO.removeTree(root)
}
