/// SETTINGS' answer to "which OS, with which defaults": `--os-type` as given, or the install
/// media recognised by osinfo-db; and with --unattended, the install script libosinfo made
/// for it. All libosinfo work of a job happens here, in one visit to the libosinfo thread.
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

    static func settle(_ spec: VMSpec, tree: InstallTree?, log: JobLog) async throws(VMInstallError) -> OSSettlement {
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
            return try await OSInfoDatabase.with { db throws(VMInstallError) in try db.settle(request, log: log) }
        } catch  where error.kind == .host && choice == .unspecified && request.unattended == nil {
            // Recognition is a help here, not a need.
            log.write("OS of \(spec.source ?? "the media"): not recognised (\(error.message)); generic defaults")
            return OSSettlement(defaults: .generic, os: nil, install: nil)
        }
    }
}

extension OSInfoDatabase {
    /// On the libosinfo thread.
    func settle(_ request: OSSettlement.Request, log: JobLog) throws(VMInstallError) -> OSSettlement {
        let database = Self.name
        log.write(
            "osinfo-db \(Self.versions.joined(separator: ", ")): \(systems.count) systems, loaded in \(String(format3: loadSeconds)) s"
        )
        // Recognition is needed to choose the OS, and for a script that fits the media.
        let needed = request.choice.isRecognition || request.unattended != nil
        let identification: OSIdentification?
        var shown = ""
        if !needed {
            identification = nil
        } else if let media = request.media {
            identification = OSIdentification(.media(media), in: self)
            shown = media
        } else if let tree = request.tree, let treeinfo = tree.treeinfo {
            identification = OSIdentification(.tree(location: tree.location, treeinfo: treeinfo), in: self)
            shown = "the .treeinfo of \(tree.location)"
        } else {
            identification = nil
        }
        var chosen: (id: String, os: OpaquePointer)?
        switch request.choice {
        case .named(let id):
            if let os = systems[id] {
                chosen = (id, os)
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
            if let identification, let id = identification.shortID, let os = systems[id] {
                chosen = (id, os)
                log.write("recognised \(shown) as \(id) (\(name(of: id)))")
            } else {
                let why = identification?.unreadable.map { " (\($0))" } ?? ""
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
        guard let chosen else { throw VMInstallError(.internal, "no OS settled") }
        let defaults = defaults(of: chosen.os, id: chosen.id)
        log.write("OS \(chosen.id) (\(name(of: chosen.id))): \(defaults.summary)")
        let install = try request.unattended.map { unattended throws(VMInstallError) in
            // The media's own scripts and data only when it is the chosen OS's.
            let matching = identification?.shortID == chosen.id ? identification : nil
            return try generate(unattended, os: chosen.os, id: chosen.id, defaults: defaults, media: matching, log: log)
        }
        return OSSettlement(
            defaults: defaults, os: RecordedOS(id: chosen.id, name: name(of: chosen.id)), install: install)
    }

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
