import COSInfo

/// A .treeinfo's identification fields, read as libosinfo 1.10's `load_keyinfo` reads them
/// (osinfo/osinfo_tree.c), with the same GKeyFile of glib (Sources/COSInfo/cglib.h): family,
/// variant, version and arch of [general], each kept when not empty; the tree's architecture
/// is the arch, or "i386" without one. An error (a file GKeyFile refuses) is libosinfo's.
enum TreeinfoFields {
    static func read(_ text: String) throws(VMInstallError) -> Result<OSMatcher.Tree, TreeinfoError> {
        try GLibRegex.load()
        var fields = VMITreeinfo()
        var error: UnsafeMutablePointer<CChar>?
        guard vmi_glib_read_treeinfo(text, &fields, &error) != 0 else {
            defer { vmi_glib_free(error) }
            return .failure(TreeinfoError(message: error.map { String(cString: $0) } ?? "the .treeinfo cannot be read"))
        }
        func take(_ p: UnsafeMutablePointer<CChar>?) -> String? {
            guard let p else { return nil }
            defer { vmi_glib_free(p) }
            return String(cString: p)
        }
        let (family, variant, version, arch) = (
            take(fields.family), take(fields.variant), take(fields.version), take(fields.arch)
        )
        func given(_ s: String?) -> [UInt8]? { s.flatMap { $0.isEmpty ? nil : Array($0.utf8) } }
        return .success(
            OSMatcher.Tree(
                arch: arch ?? "i386", family: given(family), variant: given(variant), version: given(version),
                treeinfoArch: given(arch)))
    }

    struct TreeinfoError: Error {
        let message: String
    }
}
