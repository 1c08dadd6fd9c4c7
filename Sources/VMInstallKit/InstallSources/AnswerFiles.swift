import Glibc

/// An answer file, under the name its installer looks for: an --autoinstall file (preseed,
/// kickstart, AutoYaST, Subiquity's autoinstall) or a script libosinfo generated for
/// --unattended. A generated script holds passwords: it goes to the VM only, never to the
/// log, the status or the job's settings.
struct AnswerFile: Sendable {
    let name: String
    let contents: [UInt8]
}

/// How answer files reach an installer: the one concept behind --autoinstall and --unattended.
enum AnswerDelivery: Sendable, Equatable {
    /// Appended to the initrd of an installer kernel that boots directly, at its top.
    case initrd
    /// On a small ISO of their own, attached as a second CD-ROM for the install only:
    /// `OEMDRV`, where Anaconda looks for ks.cfg by itself, or `UNATTENDED` (Windows Setup
    /// finds autounattend.xml on any drive).
    case cdrom(label: String)
    /// As the user-data of a NoCloud seed, a CD-ROM labelled cidata (Subiquity).
    case noCloudSeed
    /// Fetched by the installer from the job's answer server (`AnswerServer`), at `/NAME`:
    /// for media that boot their own loader, whose installer is told the URL by --boot-keys.
    case http
}

/// The answer files of one install, the way they go and the kernel arguments that make the
/// installer use them (with a kernel that boots directly).
struct AnswerPlan: Sendable {
    /// Where the files come from: they name the initrd copy (install-initrd-ks.cfg,
    /// install-initrd-unattended).
    enum Origin: Sendable, Equatable {
        /// The --autoinstall file at this path.
        case autoinstall(String)
        case unattended
    }

    let origin: Origin
    let delivery: AnswerDelivery
    let files: [AnswerFile]
    let kernelArguments: [String]

    /// What the install VM gets: the initrd to boot instead of the tree's (a copy with the
    /// files added) and the extra CD-ROM image, each where the delivery makes one. Built in
    /// the VM's directory, so they go with the VM.
    struct Delivered {
        var initrd: String?
        var cdrom: String?
    }

    /// Puts the files where the installer finds them. `initrd` is the installer's own initrd,
    /// needed for `.initrd`.
    func deliver(
        initrd: String?, vm: VMPaths, name: String, uuid: String, log: JobLog, server: AnswerServer? = nil
    ) async throws(VMInstallError) -> Delivered {
        let names = files.map(\.name).joined(separator: ", ")
        switch delivery {
        case .initrd:
            guard let initrd else { throw VMInstallError(.internal, "no initrd to add \(names) to") }
            let copy = "\(vm.directory)/install-initrd-\(origin == .unattended ? "unattended" : files[0].name)"
            try AutoinstallImage.initrd(initrd, adding: files.map { ($0.name, $0.contents) }, into: copy)
            let added = files.map { "/\($0.name)" }.joined(separator: ", ")
            if case .autoinstall(let path) = origin {
                log.write("added \(path) to the installer's initrd as \(added)")
            } else {
                log.write("added \(added) to the installer's initrd")
            }
            return Delivered(initrd: copy)
        case .cdrom(let label):
            let image = AutoinstallImage.imagePath(in: vm, label: label)
            log.write("building \(image) (label \(label)) with \(names)")
            try await AutoinstallImage.build(
                files: files.map { ($0.name, $0.contents) }, label: label, at: image,
                staging: "\(vm.directory)/.\(label.lowercased())")
            // It may hold passwords: the owner's only, whatever the umask gave xorriso's output.
            chmod(image, 0o600)
            return Delivered(cdrom: image)
        case .noCloudSeed:
            let image = "\(vm.directory)/autoinstall-seed.iso"
            log.write("building the NoCloud seed \(image) with \(names) as its user-data")
            try await CloudInitSeed.build(
                userData: files.first?.contents ?? [], at: image, staging: "\(vm.directory)/.autoinstall", name: name,
                uuid: uuid)
            return Delivered(cdrom: image)
        case .http:
            guard let server else { throw VMInstallError(.internal, "no answer server to serve \(names) from") }
            for file in files { server.serve(file) }
            log.write(
                "the answer server serves the autoinstall file as \(files.map { "/\($0.name)" }.joined(separator: ", "))"
            )
            return Delivered()
        }
    }

    /// `--autoinstall FILE` for an installer kernel that boots directly, the way its
    /// installer takes it; nil when vm-install knows no way for this installer.
    static func autoinstall(_ file: String, for installer: Installer) throws(VMInstallError) -> AnswerPlan? {
        guard let automation = installer.automation else { return nil }
        return AnswerPlan(
            origin: .autoinstall(file), delivery: automation.delivery,
            files: [AnswerFile(name: automation.fileName, contents: try read(file))],
            kernelArguments: automation.arguments)
    }

    /// `--autoinstall FILE` for media that boot from their own boot loader, which take no
    /// kernel arguments: on a CD-ROM labelled OEMDRV under each family's name.
    static func autoinstallCDROM(_ file: String) throws(VMInstallError) -> AnswerPlan {
        let contents = try read(file)
        return AnswerPlan(
            origin: .autoinstall(file), delivery: .cdrom(label: AutoinstallImage.label),
            files: AutoinstallImage.names.map { AnswerFile(name: $0, contents: contents) }, kernelArguments: [])
    }

    /// `--autoinstall FILE` fetched over HTTP by an installer that --boot-keys points at the
    /// answer server: at /NAME under its own name and each family's (as on OEMDRV).
    static func autoinstallServed(_ file: String) throws(VMInstallError) -> AnswerPlan {
        let contents = try read(file)
        let own = String(file.split(separator: "/").last ?? "autoinstall")
        let names = [own] + AutoinstallImage.names.filter { $0 != own }
        return AnswerPlan(
            origin: .autoinstall(file), delivery: .http, files: names.map { AnswerFile(name: $0, contents: contents) },
            kernelArguments: [])
    }

    private static func read(_ file: String) throws(VMInstallError) -> [UInt8] {
        do { return try FileIO.read(file) } catch {
            throw VMInstallError(.settings, "cannot read the autoinstall file \(file): \(error)")
        }
    }
}
