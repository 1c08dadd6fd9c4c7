import Glibc

/// The host's time zone and language, which an unattended install takes over.
enum HostLocale {
    /// From /etc/localtime's link into zoneinfo: "Europe/Berlin".
    static var timezone: String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/etc/localtime", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let range = target.firstRange(of: "zoneinfo/") else { return nil }
        return String(target[range.upperBound...])
    }

    /// From $LC_ALL or $LANG: "en_US" of "en_US.UTF-8"; nil for C and POSIX.
    static var language: String? {
        for name in ["LC_ALL", "LANG"] {
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { continue }
            let language = String(value.prefix { $0 != "." && $0 != "@" })
            return language.contains("_") ? language : nil
        }
        return nil
    }
}
