import Glibc

/// SETTINGS' look at the host before anything is created: memory for the VM, room for its
/// new raw disks, and disks that a running VM of this state directory already uses.
struct HostChecks {
    let store: JobStore

    /// `memoryMiB` nil: not known yet (the OS's defaults come with the media's recognition).
    func check(memoryMiB: Int?, budgetMiB: Int?, newRawBytes: [String: UInt64], disks: [String]) throws(VMInstallError)
    {
        // The budget is what all of the state directory's VMs may use together: a VM larger
        // than all of it could never be admitted (Admission), so it fails here at once.
        if let budgetMiB, let memoryMiB, memoryMiB > budgetMiB {
            throw VMInstallError(
                .host,
                "not enough free memory: the VM needs \(memoryMiB) MiB, more than the whole memory budget of \(budgetMiB) MiB, so it could never start; use a smaller --memory or a larger --memory-budget"
            )
        }
        for (path, bytes) in newRawBytes.sorted(by: { $0.key < $1.key }) {
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
        guard !disks.isEmpty else { return }
        for vm in runningVMs() {
            for path in vm.disks where disks.contains(path) {
                if case .unknown(let why) = vm.state {
                    throw VMInstallError(
                        .settings,
                        "disk \(path) may be in use by the VM \(vm.name), which cannot be checked (\(why)); give this VM another disk, or try again once it answers"
                    )
                }
                throw VMInstallError(
                    .settings, "disk \(path) is in use by the running VM \(vm.name); give this VM another disk")
            }
        }
    }

    /// Every VM of this state directory that runs or may run, with its disks, as the driver
    /// of the job that made it answers (its owner file names the job); a VM whose job is gone
    /// (detached) can only be a QEMU process to look for. A VM whose hypervisor does not
    /// answer counts: unknown is never free.
    private func runningVMs() -> [(name: String, disks: [String], state: VMRunState)] {
        var result: [(name: String, disks: [String], state: VMRunState)] = []
        for name in (try? FileIO.listDirectory(store.vmsDirectory)) ?? [] where !name.hasPrefix(".") {
            let files = store.vmPaths(name)
            guard let config = try? VMConfig.decode(try FileIO.readString(files.config)) else { continue }
            let owner = (try? FileIO.readString(files.owner)).flatMap {
                JobID(parsing: String($0.dropFirst(4).prefix { !$0.isNewline }))
            }
            let driver =
                owner.map { HypervisorDrivers.driver(forJob: $0, in: store, log: nil) } ?? HypervisorDrivers.plain
            let state = driver.runState(files: files)
            guard state.mayBeRunning else { continue }
            result.append((name, config.disks.map(\.path), state))
        }
        return result
    }
}
