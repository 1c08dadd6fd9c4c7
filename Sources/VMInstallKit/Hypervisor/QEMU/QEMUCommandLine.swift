/// The qemu-system-x86_64 arguments for a VM. Values that land inside QEMU's comma-separated
/// option lists have their commas doubled, so a path or name can never add an option.
enum QEMUCommandLine {
    static func common(_ vm: VMConfig, _ instance: QEMUInstance, serialLog: String) -> [String] {
        var args = [
            "-name", "guest=\(quote(vm.name)),process=vm-install:\(quote(vm.name))",
            "-uuid", vm.uuid,
            "-machine", "\(vm.machine.rawValue),accel=\(vm.accel)",
            "-m", "\(vm.memoryMiB)",
            "-smp", "\(vm.vcpus)",
            "-nodefaults", "-no-user-config",
            "-daemonize", "-pidfile", instance.pidFile,
            // Paused until the runner lets it run: a guest that powers off at once must not
            // take its QMP socket away before anyone listened, and the job announces the VM's
            // state with its VNC address before the guest does anything.
            "-S",
            "-qmp", "unix:\(quote(instance.qmpSocket)),server=on,wait=off",
            "-qmp", "unix:\(quote(instance.monitorSocket)),server=on,wait=off",
            "-chardev", "file,id=serial0,path=\(quote(serialLog)),append=on",
            "-serial", "chardev:serial0",
        ]
        // QEMU's default CPU model, also under KVM: "-cpu host" and "max" abort in QEMU 7.2 on
        // some nested-KVM hosts (kvm_buf_set_msrs), and the default boots everywhere.
        if let vnc = vm.vnc {
            var option = vnc.display.map { "\(vnc.listen):\($0)" } ?? "\(vnc.listen):0,to=99"
            // The password itself goes over QMP, never on a command line others can read.
            if case .given = vnc.password { option += ",password=on" }
            // A display device, or the console would show QEMU's "no graphic display" placeholder.
            args += ["-vnc", option, "-device", "VGA"]
        } else {
            args += ["-display", "none"]
        }
        return args
    }

    static func disks(_ vm: VMConfig, firstBootIndex: Int) -> [String] {
        var args: [String] = []
        var sataPorts = 0
        if vm.disks.contains(where: { $0.bus == .sata }) { args += ["-device", "ahci,id=sata0"] }
        if vm.disks.contains(where: { $0.bus == .scsi }) { args += ["-device", "virtio-scsi-pci,id=scsi0"] }
        for (index, disk) in vm.disks.enumerated() {
            var drive = "if=none,id=disk\(index),file=\(quote(disk.path)),format=\(disk.format.rawValue)"
            if disk.cdrom { drive += ",media=cdrom" }
            if disk.readonly { drive += ",readonly=on" }
            var device: String
            switch disk.bus {
            case .virtio: device = "virtio-blk-pci"
            case .ide:
                device =
                    (disk.cdrom ? "ide-cd" : "ide-hd")
                    + ideBus(vm, port: vm.disks[..<index].filter { $0.bus == .ide }.count)
            case .sata:
                device = (disk.cdrom ? "ide-cd" : "ide-hd") + ",bus=sata0.\(sataPorts)"
                sataPorts += 1
            case .scsi: device = (disk.cdrom ? "scsi-cd" : "scsi-hd") + ",bus=scsi0.0"
            }
            device += ",drive=disk\(index)"
            if index == 0 { device += ",bootindex=\(firstBootIndex)" }
            args += ["-drive", drive, "-device", device]
        }
        return args
    }

    /// q35's built-in AHCI has six buses (ide.0 to ide.5) of one unit each, which QEMU does
    /// not fill by itself past the first: each IDE device gets its own. The i440FX's two
    /// buses of two units fill themselves.
    static func ideBus(_ vm: VMConfig, port: Int) -> String {
        vm.machine == .q35 ? ",bus=ide.\(port)" : ""
    }

    static func nics(_ vm: VMConfig) -> [String] {
        var args: [String] = []
        for (index, nic) in vm.nics.enumerated() {
            var netdev: String
            switch nic.mode {
            case .user: netdev = "user,id=net\(index)" + nic.hostForwards.map { ",hostfwd=\($0)" }.joined()
            case .bridge(let br): netdev = "bridge,id=net\(index),br=\(br)"
            case .tap(let tap): netdev = "tap,id=net\(index),ifname=\(tap),script=no,downscript=no"
            }
            args += [
                "-netdev", netdev, "-device",
                "\(nic.model ?? "virtio-net-pci"),netdev=net\(index),mac=\(nic.mac ?? "")",
            ]
        }
        return args
    }

    static func install(_ vm: VMConfig, medium: InstallMedium, files: VMPaths) -> [String] {
        var args =
            common(vm, .install(files), serialLog: files.serialLog)
            + disks(vm, firstBootIndex: 2) + nics(vm)
        var idePort = vm.disks.filter { $0.bus == .ide }.count
        if let iso = medium.iso {
            args += [
                "-drive", "if=none,id=cdrom0,media=cdrom,readonly=on,format=raw,file=\(quote(iso))",
                "-device", "ide-cd,drive=cdrom0,bootindex=1" + ideBus(vm, port: idePort),
            ]
            idePort += 1
        }
        if let extra = medium.extraCDROM {
            args += [
                "-drive", "if=none,id=cdrom1,media=cdrom,readonly=on,format=raw,file=\(quote(extra))",
                "-device", "ide-cd,drive=cdrom1" + ideBus(vm, port: idePort),
            ]
        }
        // Whole values of their own options, not option lists: no quoting applies.
        if let kernel = medium.kernel { args += ["-kernel", kernel] }
        if let initrd = medium.initrd { args += ["-initrd", initrd] }
        if let arguments = medium.kernelArguments { args += ["-append", arguments] }
        // A guest reboot ends the install VM, so the installer never starts twice.
        return args + ["-no-reboot"]
    }

    static func runtime(_ vm: VMConfig, files: VMPaths) -> [String] {
        common(vm, .runtime(files), serialLog: files.serialLog)
            + disks(vm, firstBootIndex: 1) + nics(vm)
    }

    /// QEMU's own quoting inside option lists: a comma is written twice.
    static func quote(_ value: String) -> String {
        value.replacingOccurrences(",", with: ",,")
    }
}
