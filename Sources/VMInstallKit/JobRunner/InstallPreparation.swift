import Glibc

/// PREP_INSTALL's second half: what the install VM boots. An install tree's kernel and
/// initrd are made local and booted directly, with the arguments its installer expects
/// (`Installer`); the --autoinstall file reaches the installer its own way, and the
/// --unattended script(s) the way libosinfo chose in SETTINGS (`GeneratedInstall`).
struct InstallPreparation {
    let log: JobLog
    let spec: VMSpec
    let files: VMPaths
    let uuid: String

    func medium(tree: InstallTree?, install: GeneratedInstall?) async throws(VMInstallError) -> InstallMedium? {
        guard var medium = spec.installMedium else { return nil }
        if let tree {
            return try await boot(tree, install: install)
        }
        if let install {
            // SETTINGS chose a CD-ROM: the media boots from its own boot loader.
            medium.extraCDROM = try await scriptImage(install)
        }
        if let file = spec.autoinstall {
            let image = AutoinstallImage.imagePath(in: files)
            log.write("building the autoinstall image \(image) (label \(AutoinstallImage.label))")
            try await AutoinstallImage.build(from: file, at: image, staging: "\(files.directory)/.autoinstall")
            medium.extraCDROM = image
        }
        return medium
    }

    private func boot(_ tree: InstallTree, install: GeneratedInstall?) async throws(VMInstallError) -> InstallMedium {
        var (kernel, initrd) = try await tree.localFiles(in: files.directory, log: log)
        var arguments = tree.sourceArguments
        var extraCDROM: String?
        if let install {
            if install.delivery == .initrd {
                let copy = "\(files.directory)/install-initrd-unattended"
                try AutoinstallImage.initrd(
                    initrd, adding: install.files.map { ($0.name, Array($0.contents.utf8)) }, into: copy)
                log.write(
                    "added \(install.files.map { "/\($0.name)" }.joined(separator: ", ")) to the installer's initrd")
                initrd = copy
            } else {
                extraCDROM = try await scriptImage(install)
            }
            // libosinfo's arguments win over ours of the same name (inst.repo=).
            let names = Set(install.kernelArguments.map(Self.argumentName))
            arguments = arguments.filter { !names.contains(Self.argumentName($0)) } + install.kernelArguments
        }
        if let file = spec.autoinstall {
            // SETTINGS refused an installer without a known way.
            guard let automation = tree.layout.installer.automation else {
                throw VMInstallError(.internal, "no way to hand \(file) to \(tree.layout.installer.name)")
            }
            switch automation.delivery {
            case .initrd(let name):
                let copy = "\(files.directory)/install-initrd-\(name)"
                try AutoinstallImage.initrd(initrd, adding: file, as: name, into: copy)
                log.write("added \(file) to the installer's initrd as /\(name)")
                initrd = copy
            case .noCloudSeed:
                let image = "\(files.directory)/autoinstall-seed.iso"
                log.write("building the NoCloud seed \(image) with \(file) as its user-data")
                try await CloudInitSeed(userData: file).build(
                    at: image, staging: "\(files.directory)/.autoinstall", name: spec.name, uuid: uuid)
                extraCDROM = image
            }
            arguments += automation.arguments
        }
        if spec.vnc == nil { arguments.append(Installer.serialConsoleArgument) }
        if let extra = spec.kernelArguments { arguments.append(extra) }
        var medium = InstallMedium(
            iso: tree.access == .iso ? tree.location : nil, kernel: kernel, initrd: initrd,
            kernelArguments: arguments.isEmpty ? nil : arguments.joined(separator: " "))
        medium.extraCDROM = extraCDROM
        return medium
    }

    /// The --unattended script(s) on an ISO of their own, attached as a second CD-ROM.
    private func scriptImage(_ install: GeneratedInstall) async throws(VMInstallError) -> String {
        let image = "\(files.directory)/unattended.iso"
        log.write("building \(image) with \(install.files.map(\.name).joined(separator: ", "))")
        try await AutoinstallImage.build(
            files: install.files.map { ($0.name, Array($0.contents.utf8)) }, label: "UNATTENDED", at: image,
            staging: "\(files.directory)/.unattended")
        // It holds the passwords: the owner's only, whatever the umask gave xorriso's output.
        chmod(image, 0o600)
        return image
    }

    /// "inst.repo" of "inst.repo=cdrom".
    private static func argumentName(_ argument: String) -> Substring {
        argument.prefix { $0 != "=" }
    }
}
