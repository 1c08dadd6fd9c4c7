/// PREP_INSTALL's second half: what the install VM boots. An install tree's kernel and
/// initrd are made local, and the installer's own automation is handed over the way its
/// family expects.
struct InstallPreparation {
    let log: JobLog
    let spec: VMSpec
    let files: VMPaths

    func medium(tree: InstallTree?) async throws(VMInstallError) -> InstallMedium? {
        var medium = spec.installMedium
        if let tree {
            var (kernel, initrd) = try await tree.localFiles(in: files.directory, log: log)
            var extra = spec.kernelArguments
            if spec.autoinstall != nil {
                extra = [AutoinstallImage.kernelArguments(for: tree.layout), extra].compactMap { $0 }.joined(separator: " ")
            }
            if let file = spec.autoinstall, tree.layout.sourceArgument == "url" {
                let copy = "\(files.directory)/install-initrd-preseed"
                try AutoinstallImage.initrdWithPreseed(initrd, preseed: file, into: copy)
                initrd = copy
            }
            medium = InstallMedium(kernel: kernel, initrd: initrd, kernelArguments: tree.kernelArguments(extra: extra))
        }
        if let file = spec.autoinstall {
            let image = AutoinstallImage.imagePath(in: files)
            log.write("building the autoinstall image \(image) (label \(AutoinstallImage.label))")
            try await AutoinstallImage.build(from: file, at: image, staging: "\(files.directory)/.autoinstall")
            medium?.extraCDROM = image
        }
        return medium
    }
}
