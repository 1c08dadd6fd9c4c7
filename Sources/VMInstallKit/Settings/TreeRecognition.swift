/// A .treeinfo whose names vm-install does not know may still be of a distribution osinfo-db
/// knows: one that clones or derives from RHEL or Fedora (`OSLineage`) installs with Anaconda,
/// of the era of the tree's version. Asked only when the names leave the installer unknown.
extension SourceSettlement {
    func recognisingInstaller(of tree: InstallTree) async -> InstallTree {
        guard case .unknown = tree.layout.installer, let treeinfo = tree.treeinfo else { return tree }
        guard let index = try? await OSIndex.current(cache: cache),
            let answer = try? await OSRecognition.recognise(
                .tree(location: tree.location, treeinfo: treeinfo), fingerprint: index.fingerprint, cache: cache,
                index: index),
            let id = answer.shortID, let system = index[id], OSLineage.isAnaconda(system.lineage)
        else { return tree }
        let rhel = system.lineage.contains("rhel") || system.lineage.contains("centos")
        let installer = TreeFamily.anaconda(classicUpTo: rhel ? 6 : 18)(TreeInfo(parsing: treeinfo).majorVersion)
        log?.write(
            "\(index.name) recognises the .treeinfo of \(tree.location) as \(id) (\(system.entry.name)), of \(system.lineage.joined(separator: " from ")): \(installer.name)"
        )
        return tree.with(installer: installer)
    }
}

extension InstallTree {
    func with(installer: Installer) -> InstallTree {
        InstallTree(
            location: location, access: access,
            layout: Layout(name: layout.name, installer: installer, kernel: layout.kernel, initrd: layout.initrd),
            treeinfo: treeinfo)
    }
}
