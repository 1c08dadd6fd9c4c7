/// SETTINGS' answer to "which OS, with which defaults": `--os-type` as given, or the install
/// media recognised by osinfo-db; and with --unattended, the install script libosinfo made
/// for it. What osinfo-db says comes from the index (`OSIndex`); libosinfo is loaded only to
/// recognise media not seen before and to make install scripts.
struct OSSettlement: Sendable {
    /// Defaults for what the command line did not give.
    let defaults: OSType
    /// The osinfo-db OS given or recognised; nil for a family or the generic defaults.
    let os: RecordedOS?
    let install: AnswerPlan?

    /// What settling needs to know of the rest of the job.
    struct Request: Sendable {
        let choice: OSChoice
        /// What to recognise: the ISO image, else the tree's .treeinfo.
        let media: String?
        let tree: InstallTree?
        let unattended: UnattendedRequest?
    }

    /// `cache`: STATE/cache, where the osinfo index and recognised media are kept.
    static func settle(_ spec: VMSpec, tree: InstallTree?, cache: String?, log: JobLog) async throws(VMInstallError)
        -> OSSettlement
    {
        let choice = try OSChoice.parse(spec.osType)
        if let family = choice.family {
            if spec.unattended != nil {
                throw OSRefusal.familyHasNoScript(family)
            }
            return OSSettlement(defaults: family, os: nil, install: nil)
        }
        let media = spec.source.flatMap { InstallTree.isTree($0) ? nil : $0 }
        if choice.isRecognition, media == nil, tree?.treeinfo == nil {
            if choice == .detect || spec.unattended != nil {
                throw OSRefusal.nothingToRecognise(spec, detect: choice == .detect)
            }
            if spec.source != nil {
                log.write("OS: not recognised (\(OSRefusal.nothingToRecogniseReason(spec))); generic defaults")
            }
            return OSSettlement(defaults: .generic, os: nil, install: nil)
        }
        let request = Request(
            choice: choice, media: media, tree: tree,
            unattended: try spec.unattended.map { options throws(VMInstallError) in
                try UnattendedRequest(options, spec: spec, tree: tree)
            })
        do {
            return try await settle(request, cache: cache, log: log)
        } catch  where error.kind == .host && choice == .unspecified && request.unattended == nil {
            // Recognition is a help here, not a need.
            log.write("OS of \(spec.source ?? "the media"): not recognised (\(error.message)); generic defaults")
            return OSSettlement(defaults: .generic, os: nil, install: nil)
        }
    }
}

extension OSSettlement {
    /// The OS from the index (`OSIndex`) and libosinfo's recognition of the media
    /// (`OSRecognition`); libosinfo itself is loaded only for an install script.
    static func settle(_ request: Request, cache: String?, log: JobLog) async throws(VMInstallError) -> OSSettlement {
        let index = try await OSIndex.current(cache: cache)
        let database = index.name
        log.write("osinfo-db \(index.versions.joined(separator: ", ")): \(index.systems.count) systems, \(index.how)")
        // Recognition is needed to choose the OS, and for a script that fits the media.
        let needed = request.choice.isRecognition || request.unattended != nil
        var source: OSIdentification.Source?
        var shown = ""
        if needed, let media = request.media {
            source = .media(media)
            shown = media
        } else if needed, let tree = request.tree, let treeinfo = tree.treeinfo {
            source = .tree(location: tree.location, treeinfo: treeinfo)
            shown = "the .treeinfo of \(tree.location)"
        }
        var answer: OSRecognition.Answer?
        if let source {
            answer = try await OSRecognition.recognise(
                source, fingerprint: index.fingerprint, cache: cache, index: index, note: log.write)
        }
        let chosen: OSIndex.System
        switch request.choice {
        case .named(let id):
            if let system = index[id] {
                chosen = system
            } else if let family = OSInfoID.family(of: id) {
                if request.unattended != nil {
                    throw OSRefusal.noScriptForMissingID(id, database: database)
                }
                log.write("\(database) has no \(id): using the \(family.name) family's defaults")
                return OSSettlement(defaults: family, os: nil, install: nil)
            } else {
                throw OSRefusal.unknownID(id, database: database)
            }
        case .detect, .unspecified:
            if let id = answer?.shortID, let system = index[id] {
                chosen = system
                log.write("recognised \(shown) as \(id) (\(system.entry.name))")
            } else {
                let why = answer?.unreadable.map { " (\($0))" } ?? ""
                if request.choice == .detect {
                    throw VMInstallError(
                        .settings,
                        "--os-type detect: \(shown.isEmpty ? "the media" : shown) is not recognised by \(database)\(why); give --os-type ID"
                    )
                }
                if request.unattended != nil {
                    throw VMInstallError(
                        .settings,
                        "--unattended: \(shown.isEmpty ? "the media" : shown) is not recognised by \(database)\(why), so the OS is unknown; give --os-type ID"
                    )
                }
                log.write("OS of \(shown): not recognised by \(database)\(why); generic defaults")
                return OSSettlement(defaults: .generic, os: nil, install: nil)
            }
        }
        let id = chosen.entry.id
        let defaults = chosen.defaults
        log.write("OS \(id) (\(chosen.entry.name)): \(defaults.summary)")
        var install: AnswerPlan?
        if let unattended = request.unattended {
            // The media's own scripts and data only when it is the chosen OS's.
            let matching = answer?.shortID == id ? source : nil
            install = try await OSInfoDatabase.with { db throws(VMInstallError) in
                guard let os = db.systems[id] else {
                    throw VMInstallError(.internal, "\(id) is in the osinfo index but not in libosinfo's database")
                }
                let media = matching.map { OSIdentification($0, in: db) }
                return try db.generate(unattended, os: os, id: id, defaults: defaults, media: media, log: log)
            }
        }
        return OSSettlement(defaults: defaults, os: RecordedOS(id: id, name: chosen.entry.name), install: install)
    }
}

extension OSInfoDatabase {
    func name(of id: String) -> String {
        entries.first { $0.id == id }?.name ?? id
    }
}

extension OSType {
    /// For the log: "2048 MiB, 2 vCPUs, 20G disk on virtio, NIC virtio-net-pci, q35, bios".
    var summary: String {
        "\(memoryMiB) MiB, \(vcpus) vCPU\(vcpus == 1 ? "" : "s"), \(diskSize >> 30)G disk on \(diskBus.rawValue), NIC \(nicModel), \(machine.rawValue), \(firmware.rawValue)"
    }
}

extension String {
    init(format3 value: Double) {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        self = "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
