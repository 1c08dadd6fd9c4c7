/// What --os-type settles before the media are looked at: vm-install checks it before the
/// job exists, with the same refusals SETTINGS gives (`OSRefusal`). Recognising the media
/// stays in SETTINGS.
extension OSSettlement {
    /// The OS's defaults when they are known without recognising the media (a family, an
    /// osinfo-db id, or nothing to recognise); nil when they come with recognition.
    /// `directoryTree`: the --source directory's tree, whose .treeinfo is what there is to
    /// recognise.
    /// `cache`: STATE/cache, where the osinfo index is kept (`OSIndex`).
    static func preflight(_ spec: VMSpec, directoryTree: InstallTree?, cache: String?) async throws(VMInstallError)
        -> OSType?
    {
        let choice = try OSChoice.parse(spec.osType)
        if let family = choice.family {
            if spec.unattended != nil { throw OSRefusal.familyHasNoScript(family) }
            return family
        }
        switch choice {
        case .named(let id):
            let index = try await OSIndex.current(cache: cache)
            if let known = index[id] { return known.defaults }
            let database = index.name
            guard let family = OSInfoID.family(of: id) else { throw OSRefusal.unknownID(id, database: database) }
            if spec.unattended != nil { throw OSRefusal.noScriptForMissingID(id, database: database) }
            return family
        case .detect, .unspecified:
            let media = spec.source.flatMap { InstallTree.isTree($0) ? nil : $0 }
            let remoteTree = spec.source.map(InstallTree.isURL) ?? false
            guard media == nil, !remoteTree, directoryTree?.treeinfo == nil else { return nil }
            if choice == .detect || spec.unattended != nil {
                throw OSRefusal.nothingToRecognise(spec, detect: choice == .detect)
            }
            return .generic
        }
    }
}

/// The refusals of --os-type and --unattended that need no media, in one place for
/// SETTINGS and vm-install's check before the job exists.
enum OSRefusal {
    static func familyHasNoScript(_ family: OSType) -> VMInstallError {
        VMInstallError(
            .settings,
            "--unattended: the \(family.name) family has no install script; give an osinfo-db id with --os-type (see --os-type list), or --autoinstall FILE"
        )
    }

    static func unknownID(_ id: String, database: String) -> VMInstallError {
        VMInstallError(
            .settings, "--os-type \(id) is neither in \(database) nor a family; 'vm-install --os-type list' shows them")
    }

    static func noScriptForMissingID(_ id: String, database: String) -> VMInstallError {
        VMInstallError(
            .settings,
            "--unattended: \(database) has no \(id), so no install script for it; see vm-install(8) on osinfo-db-import for a newer database, or give --autoinstall FILE"
        )
    }

    /// What there is to recognise, for the log and the refusal.
    static func nothingToRecogniseReason(_ spec: VMSpec) -> String {
        spec.source.map { "\($0) has no ISO image and no .treeinfo to recognise" }
            ?? "there are no install media to recognise"
    }

    static func nothingToRecognise(_ spec: VMSpec, detect: Bool) -> VMInstallError {
        VMInstallError(
            .settings,
            "--\(detect ? "os-type detect" : "unattended"): \(nothingToRecogniseReason(spec)); give --os-type ID")
    }
}
