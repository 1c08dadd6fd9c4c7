/// Disk image formats this project creates and attaches.
public enum DiskFormat: String, Sendable, CaseIterable {
    case raw
    case qcow2
}

/// How a disk is attached to the VM.
public enum DiskBus: String, Sendable, CaseIterable {
    case virtio
    case sata
    case scsi
    case ide
}

/// One `--disk PATH[,size=SIZE][,format=raw|qcow2][,bus=B][,device=disk|cdrom][,readonly][,backing=FILE]`
/// as given on the command line. A comma inside PATH is written twice, as in QEMU's own syntax.
/// With libvirt, `--disk pool=POOL[,name=VOLUME][,size=SIZE]…` is a volume in a storage pool
/// instead of a path.
public struct DiskSpec: Sendable, Equatable {
    /// Empty for a pool volume until PREP_INSTALL knows where the volume is.
    public var path: String
    /// A libvirt storage pool, and the volume's name in it (nil: one named after the VM).
    public var pool: String?
    public var volume: String?
    /// Bytes; only for a disk that is to be created.
    public var size: UInt64?
    public var format: DiskFormat?
    /// nil: virtio for disks, ide for CD-ROMs.
    public var bus: DiskBus?
    public var cdrom = false
    public var readonly = false
    /// A new qcow2 disk on top of this image.
    public var backing: String?

    public init(path: String, size: UInt64? = nil, format: DiskFormat? = nil) {
        self.path = path
        self.size = size
        self.format = format
    }

    static let keys = "size, format, bus, device, readonly and backing (name with pool=)"

    public static func parse(_ text: String) throws(VMInstallError) -> DiskSpec {
        let fields = splitOptionList(text)
        guard let path = fields.first, !path.isEmpty else {
            throw VMInstallError(
                .usage, "--disk '\(text)': the path is missing; use --disk PATH[,size=SIZE][,format=raw|qcow2]")
        }
        guard !path.contains("\0"), !path.contains("\n") else {
            throw VMInstallError(.usage, "--disk: the path must not contain NUL or newline characters")
        }
        var spec = DiskSpec(path: path)
        if path.hasPrefix("pool=") {
            spec.path = ""
            spec.pool = try libvirtName(String(path.dropFirst(5)), what: "pool", in: text)
        }
        for field in fields.dropFirst() {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                if field == "readonly" {
                    spec.readonly = true
                    continue
                }
                throw VMInstallError(.usage, "--disk '\(text)': '\(field)' is not key=value; known keys are \(keys)")
            }
            switch parts[0] {
            case "bus":
                guard let bus = DiskBus(rawValue: parts[1]) else {
                    throw VMInstallError(.usage, "--disk '\(text)': bus '\(parts[1])' is not virtio, sata, scsi or ide")
                }
                spec.bus = bus
            case "device":
                guard ["disk", "cdrom"].contains(parts[1]) else {
                    throw VMInstallError(.usage, "--disk '\(text)': device '\(parts[1])' is not disk or cdrom")
                }
                spec.cdrom = parts[1] == "cdrom"
            case "readonly":
                guard ["on", "yes", "off", "no"].contains(parts[1]) else {
                    throw VMInstallError(.usage, "--disk '\(text)': readonly takes on or off")
                }
                spec.readonly = ["on", "yes"].contains(parts[1])
            case "backing":
                guard !parts[1].isEmpty else { throw VMInstallError(.usage, "--disk '\(text)': backing= needs a file") }
                spec.backing = parts[1]
            case "size":
                guard let bytes = parseSize(parts[1]) else {
                    throw VMInstallError(
                        .usage, "--disk '\(text)': size '\(parts[1])' is not a size such as 8G, 512M or 20 (GiB)")
                }
                spec.size = bytes
            case "name" where spec.pool != nil:
                spec.volume = try libvirtName(parts[1], what: "name", in: text)
            case "format":
                guard let format = DiskFormat(rawValue: parts[1]) else {
                    throw VMInstallError(.usage, "--disk '\(text)': format '\(parts[1])' is not raw or qcow2")
                }
                spec.format = format
            default:
                throw VMInstallError(.usage, "--disk '\(text)': unknown key '\(parts[0])'; known keys are \(keys)")
            }
        }
        if spec.cdrom {
            guard spec.size == nil, spec.backing == nil else {
                throw VMInstallError(
                    .usage,
                    "--disk '\(text)': a CD-ROM (device=cdrom) takes an existing image, without size= or backing=")
            }
            guard spec.bus != .virtio else {
                throw VMInstallError(
                    .usage, "--disk '\(text)': a CD-ROM cannot sit on bus=virtio; use ide, sata or scsi")
            }
            spec.readonly = true
        }
        if spec.pool != nil, spec.backing != nil || spec.cdrom {
            throw VMInstallError(
                .usage,
                "--disk '\(text)': a pool volume takes size=, name=, format=, bus= and readonly, not backing= or device=cdrom"
            )
        }
        if spec.backing != nil, spec.format == .raw {
            throw VMInstallError(.usage, "--disk '\(text)': backing= makes a qcow2 overlay; drop format=raw")
        }
        return spec
    }

    /// Pool and volume names: letters, digits, '.', '_', '-' (libvirt allows more; we keep
    /// them plain so they read back unambiguously from job records).
    static func libvirtName(_ name: String, what: String, in text: String) throws(VMInstallError) -> String {
        let plain = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F
                || c == 0x2D
        }
        guard !name.isEmpty, plain, !name.hasPrefix(".") else {
            throw VMInstallError(.usage, "--disk '\(text)': \(what)= takes letters, digits, '.', '_' or '-'")
        }
        return name
    }

    /// Back to the command-line form, with commas in the path doubled.
    public var rendered: String {
        var out =
            pool.map { "pool=\($0)" + (volume.map { ",name=\($0)" } ?? "") }
            ?? path.replacingOccurrences(",", with: ",,")
        // In KiB: a bare number would read back as GiB.
        if let size { out += ",size=\(size / 1024)K" }
        if let format { out += ",format=\(format.rawValue)" }
        if let bus { out += ",bus=\(bus.rawValue)" }
        if cdrom { out += ",device=cdrom" } else if readonly { out += ",readonly=on" }
        if let backing { out += ",backing=\(backing.replacingOccurrences(",", with: ",,"))" }
        return out
    }

    /// A size with an optional K, M, G or T suffix (powers of 1024); a bare number is GiB.
    public static func parseSize(_ text: String) -> UInt64? {
        guard let last = text.last else { return nil }
        let units: [Character: UInt64] = [
            "K": 1 << 10, "k": 1 << 10, "M": 1 << 20, "m": 1 << 20, "G": 1 << 30, "g": 1 << 30, "T": 1 << 40,
            "t": 1 << 40,
        ]
        let multiplier: UInt64
        let digits: Substring
        if let unit = units[last] {
            multiplier = unit
            digits = text.dropLast()
        } else {
            multiplier = 1 << 30
            digits = Substring(text)
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let number = UInt64(digits), number > 0
        else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}

/// Splits QEMU-style `a,b,c` where `,,` stands for a literal comma.
func splitOptionList(_ text: String) -> [String] {
    var fields: [String] = []
    var current = ""
    var chars = Array(text)[...]
    while let ch = chars.popFirst() {
        if ch == "," {
            if chars.first == "," {
                chars.removeFirst()
                current.append(",")
            } else {
                fields.append(current)
                current = ""
            }
        } else {
            current.append(ch)
        }
    }
    fields.append(current)
    return fields
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
