import Glibc

/// What the --nic options need from the host when QEMU runs as this user, checked in
/// SETTINGS: a NIC the user may not have is refused with one line that says how to get it,
/// instead of QEMU's error when the install starts.
///   tap=IFNAME  Without CAP_NET_ADMIN, the kernel lets a process attach only to an existing
///               tap device made for it (`ip tuntap add … user USER`), through /dev/net/tun.
///   bridge=BR   QEMU runs qemu-bridge-helper (see `BridgeHelper`), the unprivileged route.
struct QEMUNetworkAccess {
    let user: HostUser
    /// CAP_NET_ADMIN: root, as a rule. QEMU then makes or takes any tap device itself.
    let netAdmin: Bool

    static let tunDevice = "/dev/net/tun"

    func check(_ nics: [NICSpec]) throws(VMInstallError) {
        for nic in nics {
            switch nic.mode {
            case .user: continue
            case .tap(let name): try checkTap(name)
            case .bridge(let name): try checkBridge(name)
            }
        }
    }

    private func checkTap(_ name: String) throws(VMInstallError) {
        let option = "--nic tap=\(name)"
        let sys = "/sys/class/net/\(name)"
        let makeIt = "ip tuntap add dev \(name) mode tap user \(user.name)"
        guard FileIO.exists(sys) else {
            if netAdmin { return }
            throw VMInstallError(
                .host,
                "\(option): there is no tap device \(name), and only root can make one; as root: \(makeIt) (or use --nic user, which needs nothing)"
            )
        }
        // IFF_TAP in the flags of a tun/tap device; other interfaces have no tun_flags.
        guard let text = try? FileIO.readString("\(sys)/tun_flags"),
            case let flags = Substring(text).trimmingWhitespace(),
            flags.hasPrefix("0x"), let value = UInt32(flags.dropFirst(2), radix: 16), value & 0x0002 != 0
        else {
            throw VMInstallError(
                .host,
                "\(option): \(name) is not a tap device; give a tap device (as root: ip tuntap add dev NAME mode tap user \(user.name))"
            )
        }
        if netAdmin { return }
        // The kernel's rule for attaching to a tap device without CAP_NET_ADMIN: its owner
        // and its group, where set, must be ours. One made with neither is taken as root's,
        // as kernels have differed on it.
        let owner = sysID("\(sys)/owner").map { uid_t($0) }
        let group = sysID("\(sys)/group").map { gid_t($0) }
        let ours =
            (owner != nil || group != nil) && owner.map { $0 == user.uid } != false
            && group.map(user.hasGroupNow) != false
        guard ours else {
            let owned = [
                owner.map { "owner \(HostUser.userName($0))" } ?? "no owner",
                group.map { "group \(HostUser.groupName($0))" } ?? "no group",
            ]
            throw VMInstallError(
                .host,
                "\(option): the tap device \(name) is not \(user.name)'s (\(owned.joined(separator: ", "))); as root, make it anew: ip tuntap del dev \(name) mode tap; \(makeIt)"
            )
        }
        try checkTunDevice(option, opener: "QEMU")
    }

    private func checkBridge(_ name: String) throws(VMInstallError) {
        let option = "--nic bridge=\(name)"
        let allowIt = "echo 'allow \(name)' >> \(BridgeHelper.aclFile)"
        guard let helper = BridgeHelper.locate() else {
            throw VMInstallError(
                .host,
                "\(option): QEMU attaches VMs to bridges through qemu-bridge-helper, which is not installed; install Debian's qemu-system-common package"
            )
        }
        if !netAdmin, !helper.isPrivileged {
            throw VMInstallError(
                .host,
                "\(option): qemu-bridge-helper is how an ordinary user's VM joins a bridge, but \(helper.path) is not setuid root here; as root: chmod u+s \(helper.path) (Debian: dpkg-statoverride --update --add root root 4755 \(helper.path)), or use --nic user"
            )
        }
        switch BridgeHelper.verdict(for: name) {
        case .allowed:
            break
        case .missing:
            throw VMInstallError(
                .host,
                "\(option): qemu-bridge-helper attaches only bridges that \(BridgeHelper.aclFile) allows, and there is no such file; as root: mkdir -p /etc/qemu; \(allowIt)"
            )
        case .unreadable(let err):
            throw VMInstallError(
                .host,
                "\(option): \(user.name) cannot read \(BridgeHelper.aclFile) (\(HostUser.ownership(of: BridgeHelper.aclFile)): \(HostUser.describe(errno: err))), which qemu-bridge-helper reads as the user who runs QEMU; as root: chmod 0644 \(BridgeHelper.aclFile)"
            )
        case .invalid(let why):
            throw VMInstallError(
                .host,
                "\(option): qemu-bridge-helper refuses its ACL file, \(why); as root, correct it (lines: allow NAME, deny NAME, allow all, deny all, include FILE)"
            )
        case .denied:
            throw VMInstallError(
                .host,
                "\(option): \(BridgeHelper.aclFile) does not allow the bridge \(name), and qemu-bridge-helper attaches only bridges it allows (an 'allow \(name)' or 'allow all' line, and no deny line for it); as root: \(allowIt)"
            )
        }
        guard FileIO.isDirectory("/sys/class/net/\(name)/bridge") else {
            if FileIO.exists("/sys/class/net/\(name)") {
                throw VMInstallError(
                    .host, "\(option): \(name) is not a bridge; give a bridge (ip -d link show type bridge lists them)")
            }
            throw VMInstallError(
                .host,
                "\(option): there is no bridge \(name) on this host; make it (as root: ip link add \(name) type bridge) or give another"
            )
        }
        if !netAdmin { try checkTunDevice(option, opener: "qemu-bridge-helper") }
    }

    /// The tap's file, which `opener` opens as this user.
    private func checkTunDevice(_ option: String, opener: String) throws(VMInstallError) {
        guard let err = HostUser.openReadWriteError(Self.tunDevice) else { return }
        let tun = Self.tunDevice
        throw VMInstallError(
            .host,
            "\(option): \(user.name) cannot open \(tun) (\(HostUser.ownership(of: tun)): \(HostUser.describe(errno: err))), which \(opener) opens as \(user.name); as root: chmod 0666 \(tun), its usual mode"
        )
    }

    /// A uid or gid from a tap device's owner or group file; nil for none (-1).
    private func sysID(_ path: String) -> UInt32? {
        guard let text = try? FileIO.readString(path), let n = Int64(Substring(text).trimmingWhitespace()), n >= 0,
            n < UInt32.max
        else { return nil }
        return UInt32(n)
    }
}
