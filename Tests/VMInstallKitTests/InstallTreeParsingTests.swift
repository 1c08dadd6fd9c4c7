import Testing

@testable import VMInstallKit

@Suite struct InstallTreeParsingTests {
    @Test func treeinfoGivesFamilyVersionAndImages() {
        let info = TreeInfo(
            parsing: """
                [header]
                version = 1.2
                [release]
                name = Fedora
                version = 37
                [images-x86_64]
                kernel = images/pxeboot/vmlinuz
                initrd = images/pxeboot/initrd.img
                [images-aarch64]
                kernel = wrong
                """)
        #expect(info.family == "Fedora")
        #expect(info.version == "37")
        #expect(info.kernel == "images/pxeboot/vmlinuz")
        #expect(info.initrd == "images/pxeboot/initrd.img")
        #expect(info.product == "Fedora 37")
        #expect(info.names == ["Fedora"] && info.majorVersion == 37 && !info.hasStage2 && info.variant == nil)
        #expect(TreeInfo(parsing: "[general]\nfamily=openSUSE\n").family == "openSUSE")
        #expect(TreeInfo(parsing: "garbage\n=\n[").kernel == nil)
    }

    @Test func aDebianMirrorURLNamesMirrorAndSuite() {
        let m = DebianMirror(treeURL: "https://deb.example:8443/pub/debian/dists/bookworm/main/installer-amd64/")
        #expect(
            m?.arguments == [
                "mirror/country=manual", "mirror/protocol=https", "mirror/https/hostname=deb.example:8443",
                "mirror/https/directory=/pub/debian", "mirror/suite=bookworm",
            ])
        #expect(DebianMirror(treeURL: "http://h/dists/trixie/main/installer-amd64/")?.directory == "/")
        #expect(DebianMirror(treeURL: "http://h/debian/") == nil)
        #expect(DebianMirror(treeURL: "/srv/debian/dists/bookworm/") == nil)
        #expect(Installer.debian.sourceArguments(location: "http://h/debian/", access: .url) == [])
    }

    @Test func xorrisoQuotedPathsAreUnquoted() {
        #expect(ISOTreeFetcher.unquote("'/install.amd/vmlinuz'") == "/install.amd/vmlinuz")
        #expect(ISOTreeFetcher.unquote("'/x/we'\"'\"'ird name'") == "/x/we'ird name")
        #expect(ISOTreeFetcher.unquote("xorriso : NOTE") == nil)
    }
}
