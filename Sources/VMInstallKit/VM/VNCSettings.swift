import Glibc

/// A VNC console: where it listens, on which display, and its password if any.
public struct VNCSettings: Sendable, Equatable {
    /// An IPv4 address or host name; 127.0.0.1 by default, so only this host can connect.
    public var listen = "127.0.0.1"
    /// nil: the first free display from 0 (port 5900) on.
    public var display: Int?
    public var password: Password = .none

    public enum Password: Sendable, Equatable {
        case none
        case given(String)
        /// Made up in SETTINGS and recorded where only the owner can read it.
        case generate
    }

    public init() {}

    /// VNC's password authentication uses at most 8 characters.
    public static let maxPasswordLength = 8

    /// Parses `ADDRESS[:DISPLAY]`.
    public static func parseListen(_ text: String) throws(VMInstallError) -> (String, Int?) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let address = parts[0]
        let ok = address.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x2D
        }
        guard parts.count <= 2, !address.isEmpty, ok else {
            throw VMInstallError(.usage, "--vnc=\(text): give ADDRESS[:DISPLAY], such as 127.0.0.1 or 0.0.0.0:3")
        }
        guard parts.count == 2 else { return (address, nil) }
        guard let display = Int(parts[1]), (0...99).contains(display) else {
            throw VMInstallError(.usage, "--vnc=\(text): the display is a number from 0 to 99 (port 5900 + display)")
        }
        return (address, display)
    }

    public static func validatePassword(_ password: String) throws(VMInstallError) {
        guard (1...maxPasswordLength).contains(password.utf8.count),
            password.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") })
        else {
            throw VMInstallError(
                .usage,
                "--vnc-password: give 1 to \(maxPasswordLength) printable characters without spaces or commas (VNC uses only 8)"
            )
        }
    }

    static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ2345679")
        var rng = SystemRandomNumberGenerator()
        return String((0..<maxPasswordLength).map { _ in alphabet.randomElement(using: &rng)! })
    }

    /// The manual's form of the status key: ip::port, or username:password@ip::port.
    /// VNC authentication has no user name; "vnc" stands in for it.
    public static func statusAddress(host: String, port: String, password: String?) -> String {
        if let password { return "vnc:\(password)@\(host)::\(port)" }
        return "\(host)::\(port)"
    }
}
