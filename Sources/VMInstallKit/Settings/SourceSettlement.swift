import Glibc

/// SETTINGS' answer to "what does the install boot": the --source as an install tree. A
/// directory or URL always is one; an ISO is read as one when the install needs kernel
/// arguments (an autoinstall file, --extra-args, or a serial console for an install without
/// a graphical one) and has a known layout.
struct SourceSettlement {
    let log: JobLog?
    /// Where ISO listings are kept for the state directory's jobs.
    var cache: String? = nil

    /// What needs this machine's files alone: a source that can be read, a directory
    /// tree's layout and what its installer takes. A URL's tree and an ISO's contents wait
    /// for SETTINGS. Returns the directory tree, if the source is one.
    func check(_ spec: VMSpec) async throws(VMInstallError) -> InstallTree? {
        guard let source = spec.source else { return nil }
        if InstallTree.isTree(source) {
            try refuseKernel(with: source, spec)
            guard !InstallTree.isURL(source) else { return nil }
            guard let detected = try await InstallTree.detect(source, access: .directory) else { return nil }
            let tree = await recognisingInstaller(of: detected)
            try checkAutomation(of: tree, spec)
            return tree
        }
        try checkReadable(source)
        try checkBootKeys(source, spec)
        return nil
    }

    /// Media driven with --boot-keys boot their own loader, whose prompt the keys are typed
    /// at: they are not read as a tree, and the installer's arguments are typed, not added.
    private func checkBootKeys(_ source: String, _ spec: VMSpec) throws(VMInstallError) {
        guard spec.bootKeys != nil, spec.kernel == nil, spec.kernelArguments != nil else { return }
        throw VMInstallError(
            .settings,
            "--extra-args: with --boot-keys, \(source) boots its own boot loader, which takes no arguments from vm-install; type them with --boot-keys"
        )
    }

    /// The tree, in SETTINGS: every file it names is checked, over the network too.
    func tree(_ spec: VMSpec) async throws(VMInstallError) -> InstallTree? {
        guard let source = spec.source else { return nil }
        let detected: InstallTree?
        if InstallTree.isTree(source) {
            try refuseKernel(with: source, spec)
            detected = try await InstallTree.detect(source, access: InstallTree.isURL(source) ? .url : .directory)
        } else {
            try checkReadable(source)
            try checkBootKeys(source, spec)
            if spec.bootKeys != nil, spec.kernel == nil {
                log?.write("\(source) boots from its own boot loader, where --boot-keys are typed")
                return nil
            }
            guard spec.kernel == nil,
                spec.autoinstall != nil || spec.unattended != nil || spec.kernelArguments != nil || spec.vnc == nil
            else { return nil }
            detected = try await isoTree(source, spec)
        }
        guard let detected else { return nil }
        let tree = await recognisingInstaller(of: detected)
        log?.write(
            "install tree \(source): \(tree.layout.name) layout, \(tree.layout.installer.name); kernel \(tree.layout.kernel)"
        )
        try checkAutomation(of: tree, spec)
        return tree
    }

    private func isoTree(_ source: String, _ spec: VMSpec) async throws(VMInstallError) -> InstallTree? {
        let required = spec.autoinstall != nil || spec.unattended != nil || spec.kernelArguments != nil
        let tree: InstallTree?
        do {
            tree = try await InstallTree.detect(source, access: .iso, cache: cache)
        } catch  where !required {
            // Only for a serial console: an image xorriso cannot read (or no xorriso)
            // boots from its own boot loader, as before.
            log?.write("\(source) is not read as an install tree (\(error.message)): it boots from its own boot loader")
            return nil
        }
        if tree == nil, spec.kernelArguments != nil {
            throw VMInstallError(
                .settings,
                "--extra-args needs --kernel or an install tree, and \(source) has no installer kernel in a known layout (looked for \(InstallTree.lookedFor))"
            )
        }
        if tree == nil, spec.autoinstall != nil {
            log?.write(
                "\(source) has no installer kernel in a known layout: it boots from its own boot loader, with the autoinstall file on a CD-ROM labelled \(AutoinstallImage.label)"
            )
        }
        return tree
    }

    private func refuseKernel(with source: String, _ spec: VMSpec) throws(VMInstallError) {
        guard spec.kernel == nil else {
            throw VMInstallError(
                .settings, "--source \(source) is an install tree, whose own kernel boots; drop --kernel and --initrd")
        }
    }

    private func checkReadable(_ source: String) throws(VMInstallError) {
        guard access(source, R_OK) == 0 else {
            throw VMInstallError(
                .settings,
                "the install source \(source) is missing or unreadable; give an ISO image, a CD/DVD device, an install tree or its URL"
            )
        }
    }

    /// --autoinstall needs an installer that vm-install can hand a file to.
    private func checkAutomation(of tree: InstallTree, _ spec: VMSpec) throws(VMInstallError) {
        guard spec.autoinstall != nil else { return }
        guard let automation = tree.layout.installer.automation else {
            throw VMInstallError(
                .settings,
                "--autoinstall: \(tree.location) is a \(tree.layout.name) tree, whose installer vm-install cannot hand a file to; give the installer's own arguments with --extra-args instead"
            )
        }
        if automation.delivery == .noCloudSeed, spec.cloudInit != nil {
            throw VMInstallError(
                .settings,
                "--autoinstall and --cloud-init both make a NoCloud seed for \(tree.layout.installer.name); give one of them"
            )
        }
    }
}
