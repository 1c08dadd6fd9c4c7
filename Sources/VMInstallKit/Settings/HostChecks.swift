import Glibc

/// SETTINGS' look at the host before anything is created: memory for the VM, room for its
/// new raw disks, and disks that a running VM of this state directory already uses.
struct HostChecks {
    let store: JobStore

    func check(memoryMiB: Int, budgetMiB: Int?, newRawBytes: [String: UInt64], disks: [String]) throws(VMInstallError) {
        // The budget is what all of the state directory's VMs may use together: a VM larger
        // than all of it could never be admitted (Admission), so it fails here at once.
        if let budgetMiB, memoryMiB > budgetMiB {
            throw VMInstallError(
                .host,
                "not enough free memory: the VM needs \(memoryMiB) MiB, more than the whole memory budget of \(budgetMiB) MiB, so it could never start; use a smaller --memory or a larger --memory-budget"
            )
        }
        for (path, bytes) in newRawBytes {
            let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            var fs = statvfs()
            if statvfs(dir.isEmpty ? "/" : dir, &fs) == 0 {
                let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
                if bytes > free {
                    throw VMInstallError(
                        .host,
                        "not enough free space for raw disk \(path): it needs \(bytes >> 20) MiB, \(dir) has \(free >> 20) MiB free; use a smaller size= or format=qcow2"
                    )
                }
            }
        }
        for (vm, path) in disksOfRunningVMs() where disks.contains(path) {
            throw VMInstallError(.settings, "disk \(path) is in use by the running VM \(vm); give this VM another disk")
        }
    }

    /// (VM name, disk path) for every VM of this state directory that runs, asked of the
    /// driver of the job that made it (its owner file names the job); a VM whose job is gone
    /// (detached) can only be a QEMU process to look for.
    private func disksOfRunningVMs() -> [(String, String)] {
        var result: [(String, String)] = []
        for name in (try? FileIO.listDirectory(store.vmsDirectory)) ?? [] where !name.hasPrefix(".") {
            let files = store.vmPaths(name)
            guard let config = try? VMConfig.decode(try FileIO.readString(files.config)) else { continue }
            let owner = (try? FileIO.readString(files.owner)).flatMap {
                JobID(parsing: String($0.dropFirst(4).prefix { !$0.isNewline }))
            }
            let driver =
                owner.map { HypervisorDrivers.driver(forJob: $0, in: store, log: nil) } ?? HypervisorDrivers.plain
            guard driver.isRunning(files: files) else { continue }
            result += config.disks.map { (name, $0.path) }
        }
        return result
    }
}
