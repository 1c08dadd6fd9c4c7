import FoundationEssentials

enum UUIDGenerator {
    /// A random (version 4) UUID in lower case, as QEMU and libvirt print them.
    static func random() -> String {
        UUID().uuidString.lowercased()
    }
}
