import Glibc
import Testing
import VMInstallKit

/// The placement policy on its own: most room left first, then fewest installs, then order.
@Suite struct PlacementPolicyTests {
    let a = "qemu+tcp://a/system"
    let b = "qemu+tcp://b/system"
    let c = "qemu+tcp://c/system"

    func load(_ mib: Int, installs: Int = 0, jobs: [UInt64] = []) -> Placement.Load {
        var load = Placement.Load()
        load.sharesMiB = mib
        load.installs = installs
        load.holders = jobs.compactMap { JobID($0) }
        load.installing = Array(load.holders.prefix(installs))
        return load
    }

    @Test func theHostWithTheMostRoomLeftWins() {
        let rooms = [
            Placement.Room(key: a, budgetMiB: 256, maxInstalls: nil),
            Placement.Room(key: b, budgetMiB: 512, maxInstalls: nil),
            Placement.Room(key: c, budgetMiB: 256, othersMiB: 64, maxInstalls: nil),
        ]
        guard case .placed(let key, let inUse, let reason) = Placement.choose(memoryMiB: 64, rooms: rooms, loads: [:])
        else {
            Issue.record("not placed")
            return
        }
        #expect(key == b && inUse == 0)
        #expect(reason.contains("448 MiB left of its budget of 512 MiB"), "\(reason)")
        // b full enough: a has more left than c (whose other VMs use 64 MiB).
        guard case .placed(let second, _, _) = Placement.choose(memoryMiB: 64, rooms: rooms, loads: [b: load(384)])
        else {
            Issue.record("not placed")
            return
        }
        #expect(second == a)
    }

    @Test func tiesGoToFewestInstallsThenToTheOrderGiven() {
        let rooms = [a, b, c].map { Placement.Room(key: $0, budgetMiB: 256, maxInstalls: nil) }
        let tied = Placement.choose(
            memoryMiB: 64, rooms: rooms, loads: [a: load(64, installs: 1), b: load(64, installs: 0)])
        #expect(tied == .placed(key: c, inUseMiB: 0, reason: tied.reason))
        let twoWay = Placement.choose(
            memoryMiB: 64, rooms: rooms, loads: [a: load(64, installs: 1), b: load(64), c: load(64, installs: 1)])
        guard case .placed(let key, _, _) = twoWay else {
            Issue.record("not placed")
            return
        }
        #expect(key == b)
        guard case .placed(let first, _, _) = Placement.choose(memoryMiB: 64, rooms: rooms, loads: [:]) else {
            Issue.record("not placed")
            return
        }
        #expect(first == a)
    }

    @Test func installSlotsAndBudgetsMakeItWait() {
        let rooms = [
            Placement.Room(key: a, budgetMiB: 128, maxInstalls: nil),
            Placement.Room(key: b, budgetMiB: 1024, maxInstalls: 1),
        ]
        let outcome = Placement.choose(
            memoryMiB: 64, rooms: rooms, loads: [a: load(128, jobs: [1, 2]), b: load(64, installs: 1, jobs: [3])])
        guard case .wait(let reason, let holders) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(
            reason.contains("for memory on \(a): needs 64 MiB, 128 MiB of the budget of 128 MiB in use by jobs 1, 2"))
        #expect(reason.contains("for an install slot on \(b): 1 of --max-installs 1 taken by jobs 3"), "\(reason)")
        #expect(Set(holders.map(\.value)) == [1, 2, 3])
    }

    /// A host with a large budget but little memory free now (something else took it) takes
    /// no VM larger than what is free, and ranks by the smaller of the two.
    @Test func whatAHostHasFreeLimitsItsRoom() {
        let rooms = [
            Placement.Room(key: a, budgetMiB: 8192, freeMiB: 100, maxInstalls: nil),
            Placement.Room(key: b, budgetMiB: 1024, freeMiB: 4096, maxInstalls: nil),
        ]
        guard case .placed(let key, _, let reason) = Placement.choose(memoryMiB: 64, rooms: rooms, loads: [:]) else {
            Issue.record("not placed")
            return
        }
        #expect(key == b, "\(reason)")
        #expect(reason.contains("960 MiB left"), "\(reason)")
        let full = Placement.choose(memoryMiB: 256, rooms: [rooms[0]], loads: [a: load(64, jobs: [4])])
        #expect(
            full
                == .wait(
                    reason: "for memory on \(a): needs 256 MiB, 100 MiB free there less its reserve",
                    holders: [JobID(4)!]))
    }

    @Test func aVMNoHostCanEverTakeIsSaidSo() {
        let rooms = [
            Placement.Room(key: a, budgetMiB: 256, maxInstalls: nil),
            Placement.Room(key: b, budgetMiB: 512, othersMiB: 400, maxInstalls: nil),
        ]
        let outcome = Placement.choose(memoryMiB: 300, rooms: rooms, loads: [:])
        guard case .never(let reason) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(reason.contains("\(a): needs 300 MiB, more than its budget of 256 MiB"))
        #expect(reason.contains("less 400 MiB its other VMs use"))
    }

    @Test func thisMachineKeepsItsWording() {
        let rooms = [Placement.Room(key: Placement.localKey, budgetMiB: 100, maxInstalls: nil)]
        let outcome = Placement.choose(memoryMiB: 64, rooms: rooms, loads: [Placement.localKey: load(64, jobs: [7])])
        #expect(
            outcome
                == .wait(
                    reason: "for memory: needs 64 MiB, 64 MiB of the budget of 100 MiB in use by jobs 7",
                    holders: [JobID(7)!]))
    }

    @Test func theHostsFile() throws {
        var template = Array("/tmp/vmi-hosts-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        close(fd)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        try FileIO.writeAtomically(
            path,
            "# lab hosts\nlab \(a) memory-budget=256\nlab  \(b)\tmax-installs=2 # the big one\n\nother \(c)\n")
        let file = try HostsFile.load(path, required: true)
        #expect(
            try file.group("lab") == [
                PlacementHost(uri: a, memoryBudgetMiB: 256), PlacementHost(uri: b, maxInstalls: 2),
            ])
        #expect(file.host(c) == PlacementHost(uri: c))
        #expect(file.host("qemu:///system") == PlacementHost(uri: "qemu:///system"))
        #expect(throws: VMInstallError.self) { try file.group("nosuch") }
        try FileIO.writeAtomically(path, "lab \(a) memory-budget=lots\n")
        #expect(throws: VMInstallError.self) { try HostsFile.load(path, required: true) }
        #expect(try HostsFile.load("/nonexistent/hosts", required: false).entries.isEmpty)
        #expect(throws: VMInstallError.self) { try HostsFile.load("/nonexistent/hosts", required: true) }
    }

    /// Placement is linear in the hosts: a decision over 100 hosts looks at each once.
    @Test func aHundredHosts() {
        let rooms = (0..<100).map {
            Placement.Room(key: "qemu+tcp://h\($0)/system", budgetMiB: 1024 + $0, maxInstalls: 4)
        }
        guard case .placed(let key, _, _) = Placement.choose(memoryMiB: 64, rooms: rooms, loads: [:]) else {
            Issue.record("not placed")
            return
        }
        #expect(key == "qemu+tcp://h99/system")
    }
}

extension Placement.Outcome {
    var reason: String {
        switch self {
        case .placed(_, _, let r), .wait(let r, _), .never(let r): r
        }
    }
}
