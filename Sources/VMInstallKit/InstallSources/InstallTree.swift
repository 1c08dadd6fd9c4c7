import Glibc

/// An install tree: a directory or an http://, https:// or ftp:// URL holding a
/// distribution's installer kernel and initrd in one of the common layouts. The kernel is
/// booted directly and told where the tree is, the way its family expects.
public struct InstallTree: Sendable, Equatable {
    public struct Layout: Sendable, Equatable {
        public let family: String
        public let kernel: String
        public let initrd: String
        /// The kernel argument that names the install source.
        public let sourceArgument: String
    }

    public static let layouts = [
        Layout(family: "SUSE", kernel: "boot/x86_64/loader/linux", initrd: "boot/x86_64/loader/initrd", sourceArgument: "install"),
        Layout(family: "Fedora/RHEL", kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img", sourceArgument: "inst.repo"),
        Layout(family: "Debian/Ubuntu", kernel: "install.amd/vmlinuz", initrd: "install.amd/initrd.gz", sourceArgument: "url"),
    ]

    public let location: String
    public let isURL: Bool
    public let layout: Layout

    /// True for what should be treated as a tree rather than an ISO image.
    public static func isTree(_ source: String) -> Bool {
        isURL(source) || FileIO.isDirectory(source)
    }

    public static func isURL(_ source: String) -> Bool {
        ["http://", "https://", "ftp://"].contains { source.lowercased().hasPrefix($0) }
    }

    /// Finds the layout, in SETTINGS: every file it names is checked, over the network too.
    public static func detect(_ source: String) async throws(VMInstallError) -> InstallTree {
        let url = isURL(source)
        for layout in layouts {
            var found = true
            for file in [layout.kernel, layout.initrd] {
                let present = url ? await Downloader.exists(join(source, file)) : access(join(source, file), R_OK) == 0
                if !present { found = false; break }
            }
            if found { return InstallTree(location: source, isURL: url, layout: layout) }
        }
        if url, !(await Downloader.exists(source.hasSuffix("/") ? source : source + "/")) {
            throw VMInstallError(.settings, "the install source \(source) cannot be reached; check the URL and the network")
        }
        let known = layouts.map { "\($0.kernel) (\($0.family))" }.joined(separator: ", ")
        throw VMInstallError(.settings, "no installer kernel found in \(source); looked for \(known)")
    }

    /// The kernel and initrd as local files: the tree's own for a directory, downloaded into
    /// `directory` (the VM's) for a URL.
    public func localFiles(in directory: String, log: JobLog) async throws(VMInstallError) -> (kernel: String, initrd: String) {
        guard isURL else { return (Self.join(location, layout.kernel), Self.join(location, layout.initrd)) }
        let kernel = "\(directory)/install-kernel"
        let initrd = "\(directory)/install-initrd"
        for (file, target) in [(layout.kernel, kernel), (layout.initrd, initrd)] {
            log.write("downloading \(Self.join(location, file))")
            try await Downloader.fetch(Self.join(location, file), to: target, progress: log.interactive)
        }
        return (kernel, initrd)
    }

    /// The kernel command line that tells the installer where its tree is.
    public func kernelArguments(extra: String?) -> String {
        ["\(layout.sourceArgument)=\(location)", extra].compactMap { $0 }.joined(separator: " ")
    }

    static func join(_ base: String, _ file: String) -> String {
        base.hasSuffix("/") ? base + file : base + "/" + file
    }
}
