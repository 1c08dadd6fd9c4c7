/// Where a job's VM goes among the hosts it may use: the placement policy, apart from how the
/// facts are gathered, so that it can be read, tested and timed on its own.
///
/// A host takes the VM when the state directory's VMs there (their shares in the ledger),
/// the host's other VMs and this one fit its budget, this one fits what the host has free
/// (where its budget is not configured), and fewer of the state directory's jobs
/// than its install slots are before or in their install. Among the hosts that take it, the
/// one with the most memory left afterwards wins (spreading VMs as Nova's RAM weigher does);
/// ties go to the host with the fewest installs under way, then to the one given first.
public enum Placement {
    /// A host as placement sees it.
    public struct Room: Sendable, Equatable {
        /// "local" for this machine, else the host's libvirt URI: the ledger's name for it.
        public let key: String
        /// What may run there in all, in MiB; nil: no budget.
        public let budgetMiB: Int?
        /// What the host's VMs that are not the state directory's use.
        public let othersMiB: Int
        /// What the host has free now less its reserve, where the budget is not configured:
        /// memory that something else than VMs took is not there to give either.
        public let freeMiB: Int?
        public let maxInstalls: Int?

        public init(key: String, budgetMiB: Int?, othersMiB: Int = 0, freeMiB: Int? = nil, maxInstalls: Int?) {
            self.key = key
            self.budgetMiB = budgetMiB
            self.othersMiB = othersMiB
            self.freeMiB = freeMiB
            self.maxInstalls = maxInstalls
        }
    }

    /// What the state directory's admitted jobs hold on a host.
    public struct Load: Sendable, Equatable {
        public var sharesMiB = 0
        public var installs = 0
        public var holders: [JobID] = []
        public var installing: [JobID] = []

        public init() {}
    }

    public enum Outcome: Sendable, Equatable {
        /// The chosen host, with what is in use there by the state directory's other jobs,
        /// and the reason for the log.
        case placed(key: String, inUseMiB: Int, reason: String)
        /// No host takes it now; why, and the jobs whose end would make room.
        case wait(reason: String, holders: [JobID])
        /// No host could ever take it, even with none of the state directory's VMs there.
        case never(reason: String)
    }

    /// Chooses a host for a VM of `memoryMiB` among `rooms`, given the state directory's load
    /// on each. Linear in the number of hosts.
    public static func choose(memoryMiB: Int, rooms: [Room], loads: [String: Load]) -> Outcome {
        var best: (room: Room, left: Int, installs: Int)?
        var waits: [String] = []
        var holders: [JobID] = []
        var never: [String] = []
        for room in rooms {
            let load = loads[room.key] ?? Load()
            let used = load.sharesMiB + room.othersMiB
            var left = (room.budgetMiB ?? Int.max / 2) - used - memoryMiB
            if let budget = room.budgetMiB, memoryMiB + room.othersMiB > budget {
                never.append(
                    "\(name(room)): needs \(memoryMiB) MiB, more than its budget of \(budget) MiB"
                        + (room.othersMiB > 0 ? " less \(room.othersMiB) MiB its other VMs use" : ""))
                continue
            }
            if left < 0, let budget = room.budgetMiB {
                waits.append(memoryWait(room, memoryMiB: memoryMiB, budget: budget, load: load))
                holders += load.holders
                continue
            }
            if let free = room.freeMiB {
                if memoryMiB > free {
                    waits.append(
                        "for memory on \(room.key): needs \(memoryMiB) MiB, \(max(free, 0)) MiB free there less its reserve"
                    )
                    holders += load.holders
                    continue
                }
                left = min(left, free - memoryMiB)
            }
            if let slots = room.maxInstalls, load.installs >= slots {
                let users = load.installing.map(\.description).joined(separator: ", ")
                waits.append(
                    "for an install slot\(rooms.count > 1 ? " on \(room.key)" : ""): \(load.installs) of --max-installs \(slots) taken by jobs \(users)"
                )
                holders += load.holders
                continue
            }
            if best == nil || left > best!.left || (left == best!.left && load.installs < best!.installs) {
                best = (room, left, load.installs)
            }
        }
        if let best {
            let inUse = (loads[best.room.key] ?? Load()).sharesMiB
            var reason = "\(name(best.room))"
            if rooms.count > 1 {
                let budget = best.room.budgetMiB.map { " of its budget of \($0) MiB" } ?? ""
                reason +=
                    ": \(best.left) MiB left\(budget) after this VM, the most room, \(best.installs) install\(best.installs == 1 ? "" : "s") under way"
            }
            return .placed(key: best.room.key, inUseMiB: inUse, reason: reason)
        }
        if waits.isEmpty { return .never(reason: never.joined(separator: "; ")) }
        return .wait(reason: waits.joined(separator: "; "), holders: holders)
    }

    /// The local wording stays as it was before hosts: "for memory: needs 64 MiB, 192 MiB of
    /// the budget of 256 MiB in use by jobs 3, 4, 5".
    private static func memoryWait(_ room: Room, memoryMiB: Int, budget: Int, load: Load) -> String {
        let users = load.holders.map(\.description).joined(separator: ", ")
        let others = room.othersMiB > 0 ? " (and \(room.othersMiB) MiB by its other VMs)" : ""
        let place = room.key == localKey ? "" : " on \(room.key)"
        return
            "for memory\(place): needs \(memoryMiB) MiB, \(load.sharesMiB + room.othersMiB) MiB of the budget of \(budget) MiB in use by jobs \(users)\(others)"
    }

    static func name(_ room: Room) -> String { room.key == localKey ? "this machine" : room.key }

    /// The ledger's name for this machine.
    public static let localKey = "local"
}
