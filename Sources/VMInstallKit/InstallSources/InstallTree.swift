import Glibc

/// An install tree: a distribution's installer kernel and initrd laid out the way the
/// distribution publishes them, in a directory, at an http, https or ftp URL, or on an ISO
/// image. The kernel is booted directly and told where its packages are, and how to find an
/// unattended-install file, the way its installer expects (`Installer`).
public struct InstallTree: Sendable, Equatable {
    public enum Access: Sendable, Equatable {
        case directory
        case url
        case iso
    }

    public struct Layout: Sendable, Equatable {
        /// For the log: "Debian mirror", ".treeinfo (Fedora 37)".
        public let name: String
        public let installer: Installer
        public let kernel: String
        public let initrd: String
    }

    /// The fixed layouts, looked for after a .treeinfo, in this order (virt-install's
    /// urldetect and libosinfo's tree data know the same places).
    public static let layouts = [
        Layout(
            name: "Debian mirror", installer: .debian,
            kernel: "current/images/netboot/debian-installer/amd64/linux",
            initrd: "current/images/netboot/debian-installer/amd64/initrd.gz"),
        Layout(
            name: "Ubuntu mirror", installer: .debian,
            kernel: "current/legacy-images/netboot/ubuntu-installer/amd64/linux",
            initrd: "current/legacy-images/netboot/ubuntu-installer/amd64/initrd.gz"),
        Layout(name: "Debian CD", installer: .debian, kernel: "install.amd/vmlinuz", initrd: "install.amd/initrd.gz"),
        Layout(name: "Ubuntu live-server", installer: .subiquity, kernel: "casper/vmlinuz", initrd: "casper/initrd"),
        Layout(name: "SUSE", installer: .yast, kernel: "boot/x86_64/loader/linux", initrd: "boot/x86_64/loader/initrd"),
        Layout(
            name: "Fedora/RHEL", installer: .anaconda(.prefixed), kernel: "images/pxeboot/vmlinuz",
            initrd: "images/pxeboot/initrd.img"),
    ]

    public let location: String
    public let access: Access
    public let layout: Layout
    /// The tree's .treeinfo (or treeinfo), for osinfo-db to recognise the tree by: also when
    /// a fixed layout gave the kernel because the file names none for x86_64 that is there.
    public var treeinfo: String?

    /// True for what is a tree by its form rather than an ISO image.
    public static func isTree(_ source: String) -> Bool {
        isURL(source) || FileIO.isDirectory(source)
    }

    public static func isURL(_ source: String) -> Bool {
        ["http://", "https://", "ftp://"].contains { source.lowercased().hasPrefix($0) }
    }

    static func fetcher(for location: String, access: Access, cache: String? = nil) async throws(VMInstallError)
        -> any TreeFetcher
    {
        switch access {
        case .directory: DirectoryTreeFetcher(root: location)
        case .url: URLTreeFetcher(root: location)
        case .iso: try await ISOTreeFetcher(image: location, cache: cache)
        }
    }

    /// What detection looked for, for the error when nothing was found.
    static var lookedFor: String {
        (TreeInfo.fileNames + layouts.map { "\($0.kernel) (\($0.name))" }).joined(separator: ", ")
    }

    /// Finds the layout, in SETTINGS: every file it names is checked, over the network too.
    /// A directory or URL without one is an error; an ISO without one is not a tree (nil),
    /// and boots from its own boot loader.
    /// `cache`: where ISO listings are kept (`ISOTreeFetcher`).
    public static func detect(_ source: String, access: Access, cache: String? = nil) async throws(VMInstallError)
        -> InstallTree?
    {
        let fetcher = try await fetcher(for: source, access: access, cache: cache)
        if let (layout, treeinfo) = await find(in: fetcher) {
            return InstallTree(location: source, access: access, layout: layout, treeinfo: treeinfo)
        }
        guard access != .iso else { return nil }
        if access == .url, !(await Downloader.exists(source.hasSuffix("/") ? source : source + "/")) {
            throw VMInstallError(
                .settings, "the install source \(source) cannot be reached; check the URL and the network")
        }
        throw VMInstallError(.settings, "no installer kernel found in \(source); looked for \(lookedFor)")
    }

    private static func find(in fetcher: any TreeFetcher) async -> (Layout, treeinfo: String?)? {
        var found: (file: String, text: String, info: TreeInfo)?
        for file in TreeInfo.fileNames {
            guard let text = await fetcher.text(file) else { continue }
            let info = TreeInfo(parsing: text)
            if found == nil { found = (file, text, info) }
            guard let kernel = info.kernel, let initrd = info.initrd,
                await fetcher.exists(kernel), await fetcher.exists(initrd)
            else { continue }
            return (
                Layout(
                    name: "\(file) (\(info.product))", installer: TreeFamily.installer(of: info), kernel: kernel,
                    initrd: initrd), text
            )
        }
        for layout in layouts where await fetcher.exists(layout.kernel) {
            guard await fetcher.exists(layout.initrd) else { continue }
            guard let found else { return (layout, nil) }
            // The .treeinfo still says which release this is: Anaconda's era comes from it.
            var installer = layout.installer
            if case .anaconda = installer, case .anaconda(let era) = TreeFamily.installer(of: found.info) {
                installer = .anaconda(era)
            }
            return (
                Layout(
                    name: "\(layout.name) (\(found.file): \(found.info.product))", installer: installer,
                    kernel: layout.kernel, initrd: layout.initrd), found.text
            )
        }
        return nil
    }

    /// The kernel and initrd as local files: a directory's own, copied into `directory`
    /// (the VM's) from a URL or an ISO.
    public func localFiles(in directory: String, log: JobLog) async throws(VMInstallError) -> (
        kernel: String, initrd: String
    ) {
        guard access != .directory else {
            return (Self.join(location, layout.kernel), Self.join(location, layout.initrd))
        }
        let fetcher = try await Self.fetcher(for: location, access: access)
        let kernel = "\(directory)/install-kernel"
        let initrd = "\(directory)/install-initrd"
        try await fetcher.fetch(layout.kernel, to: kernel, log: log)
        try await fetcher.fetch(layout.initrd, to: initrd, log: log)
        return (kernel, initrd)
    }

    /// The arguments that tell the installer where its packages are.
    public var sourceArguments: [String] {
        layout.installer.sourceArguments(location: location, access: access)
    }

    static func join(_ base: String, _ file: String) -> String {
        base.hasSuffix("/") ? base + file : base + "/" + file
    }
}
