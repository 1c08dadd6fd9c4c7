import Glibc
import Testing

@testable import VMInstallKit

/// The installer, its era and its kernel, from the .treeinfo files distributions publish
/// (Tests/Samples/treeinfo), with the arguments each installer gets; detection of each as a
/// directory tree with real files.
@Suite struct TreeFamilyTests {
    static let samples: String = {
        // This file is Tests/VMInstallKitTests/TreeFamilyTests.swift in the repository.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Samples/treeinfo"
    }()

    static func sample(_ name: String) throws -> String {
        try FileIO.readString("\(samples)/\(name)")
    }

    static let url = "http://mirror.example/tree/"
    static let pxeboot = (kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img")
    static let suse = (kernel: "boot/x86_64/loader/linux", initrd: "boot/x86_64/loader/initrd")

    struct Case: Sendable, CustomTestStringConvertible {
        let file: String
        let product: String
        let installer: Installer
        let kernel: String
        let initrd: String
        /// The source argument for a tree at `url`, and for an ISO.
        let url: String
        let iso: String
        /// The argument that points the installer at the --autoinstall file in its initrd.
        let autoinstall: String
        var testDescription: String { file }
    }

    static func anaconda(_ file: String, _ product: String, classic: Bool) -> Case {
        Case(
            file: file, product: product, installer: .anaconda(classic ? .classic : .prefixed),
            kernel: pxeboot.kernel, initrd: pxeboot.initrd, url: (classic ? "method=" : "inst.repo=") + url,
            iso: classic ? "method=cdrom" : "inst.repo=cdrom",
            autoinstall: classic ? "ks=file:/ks.cfg" : "inst.ks=file:/ks.cfg")
    }

    static func yast(_ file: String, _ product: String) -> Case {
        Case(
            file: file, product: product, installer: .yast, kernel: suse.kernel, initrd: suse.initrd,
            url: "install=\(url)", iso: "install=cd:/", autoinstall: "autoyast=file:///autoinst.xml")
    }

    static let cases = [
        anaconda("fedora-17.treeinfo", "Fedora 17", classic: true),
        anaconda("fedora-18.treeinfo", "Fedora 18", classic: true),
        anaconda("fedora-19.treeinfo", "Fedora 19", classic: false),
        anaconda("fedora-37.treeinfo", "Fedora 37", classic: false),
        anaconda("centos-6.10.treeinfo", "CentOS 6.10", classic: true),
        anaconda("centos-7.treeinfo", "CentOS 7", classic: false),
        anaconda("centos-stream-9.treeinfo", "CentOS Stream 9", classic: false),
        anaconda("rocky-9.1.treeinfo", "Rocky Linux 9.1", classic: false),
        anaconda("almalinux-8.7.treeinfo", "AlmaLinux 8.7", classic: false),
        anaconda("rhel-6.10-server.treeinfo", "Red Hat Enterprise Linux 6.10", classic: true),
        anaconda("rhel-7.9-server.treeinfo", "Red Hat Enterprise Linux 7.9", classic: false),
        anaconda("oracle-8.7.treeinfo", "Oracle Linux 8.7.0", classic: false),
        yast("sles-15-sp4.treeinfo", "SUSE Linux Enterprise Server 15.4"),
        yast("opensuse-leap-15.4.treeinfo", "openSUSE Leap 15.4"),
        yast("opensuse-tumbleweed.treeinfo", "openSUSE Tumbleweed"),
    ]

    @Test(arguments: cases) func aTreeinfoNamesItsInstallerAndKernel(_ c: Case) throws {
        let info = TreeInfo(parsing: try Self.sample(c.file))
        #expect(info.product == c.product)
        #expect(TreeFamily.installer(of: info) == c.installer)
        #expect(info.kernel == c.kernel && info.initrd == c.initrd)
        #expect(c.installer.sourceArguments(location: Self.url, access: .url) == [c.url])
        #expect(c.installer.sourceArguments(location: "/srv/image.iso", access: .iso) == [c.iso])
        #expect(c.installer.sourceArguments(location: "/srv/tree", access: .directory) == [])
        #expect(c.installer.automation?.arguments == [c.autoinstall])
    }

    /// Laid out as a directory: the .treeinfo's kernel, its installer, and its text kept for
    /// osinfo-db's recognition.
    @Test(arguments: cases) func aTreeIsDetectedWithItsTreeinfo(_ c: Case) async throws {
        try await Self.withDirectory { root in
            let text = try Self.sample(c.file)
            try Self.write(root, ".treeinfo", text)
            try Self.write(root, c.kernel, "kernel\n")
            try Self.write(root, c.initrd, "initrd\n")
            let tree = try #require(try await InstallTree.detect(root, access: .directory))
            #expect(tree.layout.name == ".treeinfo (\(c.product))")
            #expect(tree.layout.installer == c.installer)
            #expect(tree.layout.kernel == c.kernel && tree.layout.initrd == c.initrd)
            #expect(tree.treeinfo == text)
            let served = InstallTree(location: Self.url, access: .url, layout: tree.layout, treeinfo: tree.treeinfo)
            #expect(served.sourceArguments == [c.url])
        }
    }

    /// SLES 11 and 12 publish no .treeinfo, only SUSE's `content` file: the SUSE layout's
    /// kernel, YaST, install=.
    @Test(arguments: ["sles-11-sp4.content", "sles-12-sp5.content"]) func olderSLESTreesHaveTheSUSELayout(
        _ content: String
    ) async throws {
        try await Self.withDirectory { root in
            try Self.write(root, "content", try Self.sample(content))
            try Self.write(root, Self.suse.kernel, "kernel\n")
            try Self.write(root, Self.suse.initrd, "initrd\n")
            let tree = try #require(try await InstallTree.detect(root, access: .directory))
            #expect(tree.layout.name == "SUSE" && tree.layout.installer == .yast)
            #expect(tree.layout.kernel == Self.suse.kernel && tree.layout.initrd == Self.suse.initrd)
            #expect(tree.treeinfo == nil)
            let served = InstallTree(location: Self.url, access: .url, layout: tree.layout, treeinfo: nil)
            #expect(served.sourceArguments == ["install=\(Self.url)"])
        }
    }

    /// A .treeinfo without an x86_64 kernel: a fixed layout gives the kernel, the .treeinfo
    /// still gives Anaconda's era, and its text stays with the tree for recognition.
    @Test func aTreeinfoWithoutAnX86KernelStaysWithTheTree() async throws {
        try await Self.withDirectory { root in
            let text = try Self.sample("centos-5.11-xen-only.treeinfo")
            try Self.write(root, ".treeinfo", text)
            try Self.write(root, Self.pxeboot.kernel, "kernel\n")
            try Self.write(root, Self.pxeboot.initrd, "initrd\n")
            let tree = try #require(try await InstallTree.detect(root, access: .directory))
            #expect(tree.layout.name == "Fedora/RHEL (.treeinfo: CentOS 5.11)")
            #expect(tree.layout.installer == .anaconda(.classic))
            #expect(tree.layout.kernel == Self.pxeboot.kernel)
            #expect(tree.treeinfo == text)
        }
        // The same with a treeinfo (no dot) whose kernel is not in the tree.
        try await Self.withDirectory { root in
            let text = try Self.sample("opensuse-tumbleweed.treeinfo").replacingOccurrences(
                "kernel = boot/x86_64/loader/linux", with: "kernel = boot/x86_64/loader/linux-gone")
            try Self.write(root, "treeinfo", text)
            try Self.write(root, Self.suse.kernel, "kernel\n")
            try Self.write(root, Self.suse.initrd, "initrd\n")
            let tree = try #require(try await InstallTree.detect(root, access: .directory))
            #expect(tree.layout.name == "SUSE (treeinfo: openSUSE Tumbleweed)")
            #expect(tree.layout.installer == .yast)
            #expect(tree.treeinfo == text)
        }
    }

    func installer(_ treeinfo: String) -> Installer {
        TreeFamily.installer(of: TreeInfo(parsing: treeinfo))
    }

    /// Families by the names a .treeinfo gives them, without osinfo-db, and the era by version.
    @Test func familiesByTheirNames() {
        let prefixed = Installer.anaconda(.prefixed)
        let classic = Installer.anaconda(.classic)
        for (family, version, expected) in [
            ("Red Hat Enterprise Linux Alternate Architectures", "7.6", prefixed),
            ("RHEL Atomic Host", "7.4", prefixed), ("Scientific", "6.10", classic),
            ("Scientific Linux", "7.4", prefixed),
            ("Oracle Linux Server", "6.10", classic), ("EuroLinux", "9", prefixed), ("Navy Linux", "8.6", prefixed),
            ("Circle Linux", "8.4", prefixed), ("MIRACLE LINUX", "9.0", prefixed), ("CentOS Linux", "8", prefixed),
            ("CentOS", "5.11", classic), ("Fedora Core", "6", classic), ("Fedora-Cloud", "28", prefixed),
            ("Fedora", "Rawhide", prefixed), ("Fedora", "development", prefixed),
            ("Springdale Open Enterprise", "7.9", prefixed),
            ("SUSE Linux Enterprise Server", "15.4", Installer.yast), ("openSUSE Leap", "15.4", .yast),
            ("Debian", "12", .debian), ("Plan 9", "4", .unknown), ("Isle Linux", "1", .unknown),
        ] {
            #expect(installer("[general]\nfamily = \(family)\nversion = \(version)\n") == expected, "\(family)")
        }
        // [release] alone (no [general]), and a name that is not the first one given.
        #expect(installer("[release]\nname = Rocky Linux\nshort = Rocky\nversion = 8.8\n") == prefixed)
        #expect(installer("[general]\nfamily = Server\nname = CentOS-6\nversion = 6.4\n") == classic)
        // An unknown rebuild: Anaconda's [stage2] image or a BaseOS variant, counted as RHEL.
        #expect(
            installer("[general]\nfamily = Example EL\nversion = 6.4\n[stage2]\nmainimage = images/install.img\n")
                == classic)
        #expect(installer("[general]\nfamily = Example EL\nvariant = BaseOS\nversion = 9.2\n") == prefixed)
        #expect(installer("[general]\nfamily = Example\nvariant = Server\nversion = 9\n") == .unknown)
    }

    @Test func anacondaNamesItsLogServerByEra() {
        #expect(Installer.anaconda(.prefixed).logArguments(host: "10.0.2.2", port: 514) == ["inst.syslog=10.0.2.2:514"])
        #expect(Installer.anaconda(.classic).logArguments(host: "10.0.2.2", port: 514) == ["syslog=10.0.2.2:514"])
        #expect(Installer.anaconda(.prefixed).name == "Anaconda")
        #expect(Installer.anaconda(.classic).name == "Anaconda (method=, ks=)")
    }

    static func withDirectory(_ body: (String) async throws -> Void) async throws {
        var template = Array("/tmp/vmi-tree-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw VMInstallError(.internal, "mkdtemp failed") }
        let root = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { try? FileIO.removeTree(root) }
        try await body(root)
    }

    /// Writes `path` below `root`, with its directories.
    static func write(_ root: String, _ path: String, _ text: String) throws {
        var directory = root
        for part in path.split(separator: "/").dropLast() {
            directory += "/\(part)"
            _ = try FileIO.makeDirectory(directory)
        }
        try FileIO.writeAtomically("\(root)/\(path)", text, durable: false)
    }
}
