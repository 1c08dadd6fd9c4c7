import COSInfo

/// Which distributions a system comes from, as osinfo-db says it: its own `distro` and those
/// of every system it clones or derives from (<clones>, <derives-from>), nearest first.
/// "rocky9" is ["rocky", "rhel"]: a Red Hat rebuild, whatever the name its trees carry.
enum OSLineage {
    /// The distributions whose installer is Anaconda, and every system that comes from them.
    static let anaconda: Set<String> = ["rhel", "fedora", "centos"]

    /// Each system's lineage, by short id.
    static func all(_ db: OSInfoDatabase) -> [String: [String]] {
        var byEntity: [String: (distro: String?, upstream: [String])] = [:]
        var entityOf: [String: String] = [:]
        for (shortID, os) in db.systems {
            let object = UnsafeMutableRawPointer(os)
            guard let entity = OSInfoDatabase.string(vmi_osinfo_entity_get_id(object)) else { continue }
            entityOf[shortID] = entity
            let upstream = OSInfoDatabase.take(vmi_osinfo_product_get_upstream(object))
            byEntity[entity] = (
                OSInfoDatabase.string(vmi_osinfo_entity_get_param_value(object, "distro")),
                upstream.map { $0.split(separator: "\n").map(String.init) } ?? []
            )
        }
        return entityOf.mapValues { lineage(of: $0, in: byEntity) }
    }

    /// Breadth first, each distribution once; a loop in the data ends where it repeats.
    static func lineage(of entity: String, in systems: [String: (distro: String?, upstream: [String])]) -> [String] {
        var distros: [String] = []
        var seen: Set<String> = []
        var next = [entity]
        while !next.isEmpty {
            var after: [String] = []
            for id in next where seen.insert(id).inserted {
                guard let system = systems[id] else { continue }
                if let distro = system.distro, !distro.isEmpty, !distros.contains(distro) { distros.append(distro) }
                after += system.upstream
            }
            next = after
        }
        return distros
    }

    /// Whether a system of this lineage installs with Anaconda.
    static func isAnaconda(_ lineage: [String]) -> Bool { lineage.contains { anaconda.contains($0) } }
}
