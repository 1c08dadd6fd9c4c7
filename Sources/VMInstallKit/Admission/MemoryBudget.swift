import Glibc

/// How much memory a state directory's VMs may use together.
public enum MemoryBudget {
    /// `$VM_INSTALL_MEMORY_BUDGET` in MiB, if set.
    public static func fromEnvironment() throws(VMInstallError) -> Int? {
        guard let raw = getenv("VM_INSTALL_MEMORY_BUDGET").map({ String(cString: $0) }), !raw.isEmpty else {
            return nil
        }
        guard let mib = Int(raw), mib >= 1 else {
            throw VMInstallError(.usage, "VM_INSTALL_MEMORY_BUDGET=\(raw): give MiB, 1 or more")
        }
        return mib
    }

    /// The host's memory less a reserve for the host itself (5 %, at least 512 MiB): what all
    /// of the state directory's VMs may use together. Not the memory available now: the VMs
    /// already running have taken theirs from that, and the ledger counts them already.
    /// nil where /proc/meminfo cannot be read.
    public static func hostDefault() -> Int? {
        guard let total = meminfo("MemTotal") else { return nil }
        return max(Int(total) - reserve(totalMiB: Int(total)), 0)
    }

    static func reserve(totalMiB: Int) -> Int { max(512, totalMiB / 20) }

    /// A /proc/meminfo field in MiB.
    static func meminfo(_ field: String) -> UInt64? {
        guard let text = try? FileIO.readString("/proc/meminfo"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("\(field):") }),
            let kib = UInt64(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}
