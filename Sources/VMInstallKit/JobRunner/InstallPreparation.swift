import Glibc

/// PREP_INSTALL's second half: what the install VM boots. An install tree's kernel and
/// initrd are made local and booted directly, with the arguments its installer expects
/// (`Installer`); the answer files (--autoinstall's, or the --unattended scripts libosinfo
/// made in SETTINGS) reach the installer as their `AnswerPlan` says.
struct InstallPreparation {
    let log: JobLog
    let spec: VMSpec
    let files: VMPaths
    let uuid: String
    /// The answer server and the installer's syslog, where the install uses them.
    var services: InstallServices?

    func medium(tree: InstallTree?, unattended: AnswerPlan?) async throws(VMInstallError) -> InstallMedium? {
        guard var medium = spec.installMedium else { return nil }
        if let tree {
            return try await boot(tree, unattended: unattended)
        }
        if let arguments = medium.kernelArguments {
            medium.kernelArguments = try services?.expand(arguments) ?? arguments
        }
        // The media boots from its own boot loader, which takes no kernel arguments: answers
        // go on a CD-ROM (SETTINGS chose one for --unattended), or, when --boot-keys types
        // the installer's arguments, are fetched from the answer server.
        var plan = unattended
        if let file = spec.autoinstall {
            plan =
                spec.answerFileIsFetched(bootsOwnLoader: spec.kernel == nil)
                ? try AnswerPlan.autoinstallServed(file) : try AnswerPlan.autoinstallCDROM(file)
        }
        if let plan { medium.extraCDROM = try await deliver(plan, initrd: nil).cdrom }
        return medium
    }

    private func boot(_ tree: InstallTree, unattended: AnswerPlan?) async throws(VMInstallError) -> InstallMedium {
        var (kernel, initrd) = try await tree.localFiles(in: files.directory, log: log)
        var arguments = sourceArguments(tree)
        var extraCDROM: String?
        var plan = unattended
        if let file = spec.autoinstall {
            // SETTINGS refused an installer without a known way.
            guard let autoinstall = try AnswerPlan.autoinstall(file, for: tree.layout.installer) else {
                throw VMInstallError(.internal, "no way to hand \(file) to \(tree.layout.installer.name)")
            }
            plan = autoinstall
        }
        if let plan {
            let delivered = try await deliver(plan, initrd: initrd)
            initrd = delivered.initrd ?? initrd
            extraCDROM = delivered.cdrom
            // The plan's arguments win over ours of the same name (libosinfo's inst.repo=).
            let names = Set(plan.kernelArguments.map(Self.argumentName))
            arguments =
                arguments.filter { !names.contains(Self.argumentName($0)) }
                + plan.kernelArguments.map { guestView(of: tree, in: $0) }
        }
        arguments += services?.logArguments(for: tree.layout.installer) ?? []
        if spec.vnc == nil { arguments.append(Installer.serialConsoleArgument) }
        if let extra = spec.kernelArguments { arguments.append(try services?.expand(extra) ?? extra) }
        var medium = InstallMedium(
            iso: tree.access == .iso ? tree.location : nil, kernel: kernel, initrd: initrd,
            kernelArguments: arguments.isEmpty ? nil : arguments.joined(separator: " "))
        medium.extraCDROM = extraCDROM
        return medium
    }

    private func deliver(_ plan: AnswerPlan, initrd: String?) async throws(VMInstallError) -> AnswerPlan.Delivered {
        try await plan.deliver(
            initrd: initrd, vm: files, name: spec.name, uuid: uuid, log: log, server: services?.answers)
    }

    /// The tree's source arguments; a tree on this host's loopback is named as the guest
    /// on QEMU's user network reaches it (10.0.2.2), and the log says so.
    private func sourceArguments(_ tree: InstallTree) -> [String] {
        guard let reachable = reachableLocation(of: tree) else { return tree.sourceArguments }
        log.write(
            "the install tree \(tree.location) is on this host's loopback, which means nothing inside the guest: the installer is told \(reachable), which QEMU's user network forwards there"
        )
        return tree.layout.installer.sourceArguments(location: reachable, access: .url)
    }

    /// A loopback tree's URL as the guest on QEMU's user network reaches it; nil otherwise.
    private func reachableLocation(of tree: InstallTree) -> String? {
        guard tree.access == .url, services?.reach?.guest == GuestReach.userNetworkHost else { return nil }
        return GuestReach.userNetworkURL(for: tree.location)
    }

    /// An argument of an answer plan (libosinfo's inst.repo=URL) with a loopback tree's URL
    /// as the guest reaches it.
    private func guestView(of tree: InstallTree, in argument: String) -> String {
        guard let reachable = reachableLocation(of: tree) else { return argument }
        let bare = { (url: String) in url.hasSuffix("/") ? String(url.dropLast()) : url }
        return argument.replacingOccurrences(bare(tree.location), with: bare(reachable))
    }

    /// "inst.repo" of "inst.repo=cdrom".
    private static func argumentName(_ argument: String) -> Substring {
        argument.prefix { $0 != "=" }
    }
}
