import COSInfo
import Glibc

/// What --unattended needs from the rest of SETTINGS: the options with the passwords read,
/// and how the install boots.
struct UnattendedRequest: Sendable {
    let options: UnattendedOptions
    let adminPassword: String?
    let userPassword: String?
    let hostname: String
    /// The first disk's bus when --disk gave it; else the OS's default decides.
    let firstDiskBus: DiskBus?
    /// An install tree's kernel boots directly (its initrd can carry the script).
    let bootsKernel: Bool
    /// Packages come from the network (a URL or a directory tree), not from the media.
    let fromNetwork: Bool
    /// A tree URL the script installs from.
    let installationURL: String?

    init(_ options: UnattendedOptions, spec: VMSpec, tree: InstallTree?) throws(VMInstallError) {
        self.options = options
        (adminPassword, userPassword) = try options.readPasswords()
        // The characters installers refuse in a host name become '-', as virt-install does.
        hostname = String(spec.name.map { $0 == "." || $0 == "_" ? "-" : $0 })
        firstDiskBus = spec.disks.first?.bus
        bootsKernel = tree != nil
        fromNetwork = tree.map { $0.access != .iso } ?? false
        // A tree on this host's loopback, as the guest on QEMU's user network reaches it
        // (10.0.2.2): the script names it as the kernel's arguments do.
        let url = tree.flatMap { $0.access == .url ? $0.location : nil }
        let onUserNetwork = spec.nics.first.map { if case .user = $0.mode { true } else { false } } ?? false
        installationURL = url.map { onUserNetwork ? GuestReach.userNetworkURL(for: $0) ?? $0 : $0 }
    }
}

extension OSInfoDatabase {
    /// On the libosinfo thread: chooses the scripts as virt-install does (the media's own,
    /// else the OS's), for the profile asked for, else jeos (virt-install prefers desktop;
    /// vm-install installs servers first), else the first; checks what they need, and
    /// generates them.
    func generate(
        _ request: UnattendedRequest, os: OpaquePointer, id: String, defaults: OSType, media: OSIdentification?,
        log: JobLog
    ) throws(VMInstallError) -> AnswerPlan {
        let osName = name(of: id)
        if let object = media?.media, vmi_osinfo_media_supports_installer_script(object) == 0 {
            throw VMInstallError(
                .settings,
                "--unattended: osinfo-db marks this \(osName) media installer-script=false (a live image or one whose installer takes no script); use an install image"
            )
        }
        // The lists ("transfer full") hold their scripts until generation is done.
        let mediaList = media?.media.flatMap { vmi_osinfo_media_get_install_script_list($0) }
        let osList = vmi_osinfo_os_get_install_script_list(os)
        defer {
            for list in [mediaList, osList] { if let list { vmi_osinfo_unref(UnsafeMutableRawPointer(list)) } }
        }
        let fromMedia = !Self.elements(mediaList).isEmpty
        let scripts = fromMedia ? Self.elements(mediaList) : Self.elements(osList)
        guard !scripts.isEmpty else {
            throw VMInstallError(
                .settings,
                "--unattended: osinfo-db has no install script for \(osName) (\(id)); give --autoinstall FILE")
        }
        let profiles = Set(scripts.compactMap { Self.string(vmi_osinfo_install_script_get_profile($0)) }).sorted()
        let profile = request.options.profile ?? (profiles.contains("jeos") ? "jeos" : profiles[0])
        let chosen = scripts.filter { Self.string(vmi_osinfo_install_script_get_profile($0)) == profile }
        guard !chosen.isEmpty else {
            throw VMInstallError(
                .settings,
                "--unattended profile=\(profile): \(osName) has install scripts for \(profiles.joined(separator: ", ")) only"
            )
        }
        let methods = chosen.map { vmi_osinfo_install_script_get_injection_methods($0) }.reduce(UInt32.max) { $0 & $1 }
        let delivery: AnswerDelivery
        let method: UInt32
        if request.bootsKernel, methods & UInt32(VMI_OSINFO_INJECTION_INITRD) != 0 {
            (delivery, method) = (.initrd, UInt32(VMI_OSINFO_INJECTION_INITRD))
        } else if methods & UInt32(VMI_OSINFO_INJECTION_CDROM) != 0 {
            (delivery, method) = (.cdrom(label: "UNATTENDED"), UInt32(VMI_OSINFO_INJECTION_CDROM))
        } else if methods & UInt32(VMI_OSINFO_INJECTION_INITRD) != 0 {
            throw VMInstallError(
                .settings,
                "--unattended: \(osName)'s install script goes into the installer's initrd, and this source has no installer kernel in a known layout; give an install tree or its ISO"
            )
        } else {
            throw VMInstallError(
                .settings,
                "--unattended: \(osName)'s install script can reach its installer only by disk, floppy or web, which vm-install does not offer"
            )
        }
        let needs = [
            ("admin-password", request.adminPassword, "admin-password-file=FILE"),
            ("user-password", request.userPassword, "user-password-file=FILE"),
            ("user-login", request.options.userLogin, "user-login=NAME"),
        ]
        for (parameter, given, option) in needs
        where given == nil && chosen.contains(where: { vmi_osinfo_install_script_requires($0, parameter) != 0 }) {
            throw VMInstallError(
                .settings,
                "--unattended: \(osName)'s \(profile) install script needs the \(parameter.replacingOccurrences("-", with: " ")); give \(option)"
            )
        }

        guard let config = vmi_osinfo_install_config_new("http://vm-install/unattended") else {
            throw VMInstallError(.internal, "libosinfo cannot create an install configuration")
        }
        defer { vmi_osinfo_unref(UnsafeMutableRawPointer(config)) }
        configure(
            config, request,
            windows: vmi_osinfo_os_get_family(os).map { String(cString: $0).hasPrefix("win") } ?? false,
            bus: request.firstDiskBus ?? defaults.diskBus)
        var files: [AnswerFile] = []
        var arguments: [String] = []
        for script in chosen {
            vmi_osinfo_install_script_set_preferred_injection_method(script, method)
            vmi_osinfo_install_script_set_installation_source(
                script, Int32(request.fromNetwork ? VMI_OSINFO_SOURCE_NETWORK : VMI_OSINFO_SOURCE_MEDIA))
            var error: UnsafeMutablePointer<CChar>?
            let text: UnsafeMutablePointer<CChar>?
            let line: UnsafeMutablePointer<CChar>?
            if let object = media?.media {
                text = vmi_osinfo_install_script_generate_for_media(script, object, config, &error)
                line = vmi_osinfo_install_script_generate_command_line_for_media(script, object, config)
            } else if let object = media?.tree {
                text = vmi_osinfo_install_script_generate_for_tree(script, object, config, &error)
                line = vmi_osinfo_install_script_generate_command_line_for_tree(script, object, config)
            } else {
                text = vmi_osinfo_install_script_generate(script, os, config, &error)
                line = vmi_osinfo_install_script_generate_command_line(script, os, config)
            }
            let commandLine = Self.take(line)
            let why = Self.take(error)
            guard let contents = Self.take(text),
                let name = Self.string(vmi_osinfo_install_script_get_expected_filename(script))
            else {
                throw VMInstallError(
                    .settings,
                    "--unattended: libosinfo could not generate \(osName)'s install script: \(why ?? "no reason given")"
                )
            }
            files.append(AnswerFile(name: name, contents: Array(contents.utf8)))
            if delivery == .initrd, let commandLine { arguments += commandLine.split(separator: " ").map(String.init) }
            log.write(
                "unattended: osinfo-db script \(Self.string(vmi_osinfo_entity_get_id(UnsafeMutableRawPointer(script))) ?? "?") (profile \(profile)\(fromMedia ? ", the media's" : "")) as \(name), \(delivery == .initrd ? "in the installer's initrd" : "on a CD-ROM")"
            )
        }
        return AnswerPlan(origin: .unattended, delivery: delivery, files: files, kernelArguments: arguments)
    }

    /// virt-install's choices (virtinst/install/unattended.py), from the options and the host.
    private func configure(_ config: OpaquePointer, _ request: UnattendedRequest, windows: Bool, bus: DiskBus) {
        vmi_osinfo_install_config_set_hardware_arch(config, Self.architecture)
        vmi_osinfo_install_config_set_hostname(config, request.hostname)
        vmi_osinfo_install_config_set_target_disk(config, windows ? "C" : bus == .virtio ? "/dev/vda" : "/dev/sda")
        vmi_osinfo_install_config_set_admin_password(config, request.adminPassword ?? "")
        vmi_osinfo_install_config_set_user_password(config, request.userPassword ?? "")
        if let login = request.options.userLogin {
            vmi_osinfo_install_config_set_user_login(config, login)
            vmi_osinfo_install_config_set_user_realname(config, login)
        }
        if let key = request.options.productKey { vmi_osinfo_install_config_set_reg_product_key(config, key) }
        if let url = request.installationURL { vmi_osinfo_install_config_set_installation_url(config, url) }
        if let zone = HostLocale.timezone { vmi_osinfo_install_config_set_l10n_timezone(config, zone) }
        if let language = HostLocale.language {
            vmi_osinfo_install_config_set_l10n_language(config, language)
            vmi_osinfo_install_config_set_l10n_keyboard(config, language)
        }
    }
}
