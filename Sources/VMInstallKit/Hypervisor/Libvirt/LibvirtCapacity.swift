import CLibvirt
import Glibc

/// A remote libvirt host's memory for placement: the node's memory and free memory, and what
/// the running domains that are not this state directory's use (ours are counted by the
/// admission ledger, each with its share).
extension LibvirtConnection {
    func capacity(stateDirectory: String) throws(VMInstallError) -> HostCapacity {
        var node = virNodeInfo()
        guard vmi_virNodeGetInfo(pointer, &node) == 0 else {
            throw LibvirtError.fail("cannot read the memory of \(uri)", kind: .host)
        }
        let freeBytes = vmi_virNodeGetFreeMemory(pointer)
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = vmi_virConnectListAllDomains(pointer, &list, UInt32(VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue))
        guard count >= 0 else { throw LibvirtError.fail("cannot list the domains of \(uri)", kind: .host) }
        defer { free(list) }
        let mark = ">\(XML.escape(stateDirectory))<"
        var othersKiB: UInt64 = 0
        for index in 0..<Int(count) {
            guard let domain = list?[index] else { continue }
            defer { vmi_virDomainFree(domain) }
            if let metadata = vmi_virDomainGetMetadata(
                domain, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), LibvirtDomainXML.namespace, 0)
            {
                let ours = String(cString: metadata).contains(mark)
                free(metadata)
                if ours { continue }
            } else {
                vmi_virResetLastError()
            }
            var info = virDomainInfo()
            if vmi_virDomainGetInfo(domain, &info) == 0 { othersKiB += UInt64(info.memory) }
        }
        return HostCapacity(
            totalMiB: Int(node.memory / 1024), freeMiB: Int(freeBytes >> 20), othersMiB: Int(othersKiB / 1024))
    }
}
