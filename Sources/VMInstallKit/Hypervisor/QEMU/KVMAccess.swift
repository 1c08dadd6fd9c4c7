import Glibc

/// Whether QEMU, running as this user, can use KVM: it opens /dev/kvm read-write. When it
/// cannot, what stands in the way and what would remove it, in words for the user.
enum KVMAccess: Equatable {
    case usable
    /// `why` says what is wrong; `remedy`, when there is one, what to do about it.
    case unusable(why: String, remedy: String?)

    static let device = "/dev/kvm"

    static func probe() -> KVMAccess {
        guard let err = HostUser.openReadWriteError(device) else { return .usable }
        if err == ENOENT {
            return .unusable(why: "\(device) does not exist (no KVM in this kernel or on this machine)", remedy: nil)
        }
        let plain = KVMAccess.unusable(
            why: "\(device) cannot be opened read-write: \(HostUser.describe(errno: err))", remedy: nil)
        var st = stat()
        guard err == EACCES || err == EPERM, stat(device, &st) == 0 else { return plain }
        let user = HostUser.current
        // Root, or the device's owner, is refused by something other than its mode.
        if user.isRoot || user.uid == st.st_uid { return plain }
        let ownership = HostUser.ownership(of: device)
        let joinKVM = "add \(user.name) to the kvm group"
        guard st.st_mode & 0o060 == 0o060 else {
            return .unusable(
                why: "\(device) is \(ownership), for root only",
                remedy:
                    "as root, give it to the kvm group (chgrp kvm \(device); chmod 0660 \(device), as Debian's udev rules do) and \(joinKVM)"
            )
        }
        let group = HostUser.groupName(st.st_gid)
        if user.hasGroupNow(st.st_gid) { return plain }
        if user.isListed(in: st.st_gid) {
            return .unusable(
                why: "\(user.name) is in the \(group) group, which may use \(device), but this login is not yet",
                remedy: "log in again (or run: newgrp \(group))")
        }
        let join = group == "kvm" ? joinKVM : "add \(user.name) to the \(group) group"
        return .unusable(
            why: "\(device) is \(ownership), and \(user.name) is not in the \(group) group",
            remedy: "\(join) (as root: usermod -aG \(group) \(user.name)), then log in again")
    }
}
