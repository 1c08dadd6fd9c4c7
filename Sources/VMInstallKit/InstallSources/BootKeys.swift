/// `--boot-keys TEXT`: what is typed into the install VM's console after it boots, in
/// Packer's `boot_command` syntax. Plain characters are typed as they are (shifted ones
/// with Shift held); `<name>` is a special key, `<nameOn>`/`<nameOff>` hold and release a
/// modifier, `<wait>`, `<wait5>`, `<wait10>` and `<waitDURATION>` (`<wait2s>`, `<wait1m30s>`,
/// `<wait500ms>`) pause. Keys are QEMU's "qnum" codes (PC scancode set 1, extended keys with
/// 0x80 added), which QMP's send-key and libvirt's virDomainSendKey both take.
public struct BootKeys: Sendable, Equatable {
    /// One key of the keyboard, by the name QEMU's QKeyCode gives it and its qnum.
    public struct Key: Sendable, Equatable, Hashable {
        public let name: String
        public let code: UInt32
    }

    public enum Step: Sendable, Equatable {
        /// Press these keys together (modifiers first) and release them.
        case press([Key])
        /// Pause this long.
        case wait(seconds: Double)
    }

    public let steps: [Step]

    /// A parse error: one line for the usage error.
    public struct Failure: Error, Equatable {
        public let message: String
    }

    /// For the log: never the text, which may hold a password. The special keys and waits
    /// in order, with runs of plain characters as counts: "12 characters, <enter>".
    public let summary: String
    /// Plain characters typed, and key presses in all.
    public let characterCount: Int
    public var pressCount: Int { steps.filter { if case .press = $0 { true } else { false } }.count }

    public init(parsing text: String) throws(Failure) {
        var steps: [Step] = []
        var summary: [String] = []
        var held: [Key] = []
        var characters = 0
        var run = 0
        func endRun() {
            if run > 0 { summary.append(run == 1 ? "1 character" : "\(run) characters") }
            run = 0
        }
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "<", let close = scalars[(i + 1)...].firstIndex(of: ">"),
                let token = Self.token(String(String.UnicodeScalarView(scalars[(i + 1)..<close])))
            {
                i = close + 1
                endRun()
                switch token {
                case .wait(let seconds):
                    steps.append(.wait(seconds: seconds))
                    summary.append(seconds == seconds.rounded() ? "<wait \(Int(seconds))s>" : "<wait \(seconds)s>")
                case .key(let key, let name):
                    steps.append(.press(held + [key]))
                    summary.append("<\(name)>")
                case .hold(let key, let name):
                    if !held.contains(key) { held.append(key) }
                    summary.append("<\(name)>")
                case .release(let key, let name):
                    held.removeAll { $0 == key }
                    summary.append("<\(name)>")
                case .unknown(let name):
                    throw Failure(message: "unknown key <\(name)>; see BOOT KEYS in vm-install(8) for the names")
                case .badWait(let name):
                    throw Failure(
                        message:
                            "<\(name)>: give a wait as <wait>, <wait5>, <wait10> or <wait2s>, <wait1m30s>, <wait500ms>")
                }
                continue
            }
            guard let keys = Self.character(c) else {
                let shown =
                    c.value < 0x20 || c.value == 0x7F ? "U+\(String(c.value, radix: 16, uppercase: true))" : "'\(c)'"
                throw Failure(
                    message:
                        "character \(shown) at position \(i + 1) cannot be typed; use plain ASCII and <enter>, <tab>, … for special keys"
                )
            }
            steps.append(.press(held.filter { !keys.contains($0) } + keys))
            characters += 1
            run += 1
            i += 1
        }
        endRun()
        self.steps = steps
        self.summary = summary.joined(separator: ", ")
        self.characterCount = characters
    }

    private enum Token {
        case key(Key, String)
        case hold(Key, String)
        case release(Key, String)
        case wait(Double)
        case unknown(String)
        case badWait(String)
    }

    /// The `<…>` token's meaning; nil for text that is not a token at all ("<" then a space),
    /// which is typed as it is, as Packer does.
    private static func token(_ name: String) -> Token? {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic,
            name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        else { return nil }
        let lower = name.lowercased()
        if lower.hasPrefix("wait") {
            guard let seconds = waitSeconds(String(lower.dropFirst(4))) else { return .badWait(name) }
            return .wait(seconds)
        }
        if let key = specials[lower] { return .key(key, name) }
        for (suffix, make) in [("on", Token.hold), ("off", Token.release)] where lower.hasSuffix(suffix) {
            if let key = modifiers[String(lower.dropLast(suffix.count))] { return make(key, name) }
        }
        if let key = modifiers[lower] { return .key(key, name) }
        return .unknown(name)
    }

    /// "" is 1 s (Packer's <wait>), "5" and "10" seconds, else a duration of numbers with
    /// the units h, m, s or ms, as Go's time.ParseDuration reads them (Packer's <waitXX>).
    static func waitSeconds(_ text: String) -> Double? {
        if text.isEmpty { return 1 }
        if let n = Int(text), text.allSatisfy(\.isNumber) { return Double(n) }
        var total = 0.0
        var rest = Substring(text)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            case "ms": total += value / 1000
            default: return nil
            }
        }
        return total <= 86400 ? total : nil
    }

    // MARK: The keyboard

    private static func k(_ name: String, _ code: UInt32) -> Key { Key(name: name, code: code) }

    static let shift = k("shift", 0x2A)

    /// Packer's special keys (lowercased), with QEMU's names and codes.
    static let specials: [String: Key] = [
        "bs": k("backspace", 0x0E), "del": k("delete", 0xD3), "enter": k("ret", 0x1C), "return": k("ret", 0x1C),
        "esc": k("esc", 0x01), "tab": k("tab", 0x0F), "spacebar": k("spc", 0x39), "insert": k("insert", 0xD2),
        "home": k("home", 0xC7), "end": k("end", 0xCF), "pageup": k("pgup", 0xC9), "pagedown": k("pgdn", 0xD1),
        "up": k("up", 0xC8), "down": k("down", 0xD0), "left": k("left", 0xCB), "right": k("right", 0xCD),
        "f1": k("f1", 0x3B), "f2": k("f2", 0x3C), "f3": k("f3", 0x3D), "f4": k("f4", 0x3E), "f5": k("f5", 0x3F),
        "f6": k("f6", 0x40), "f7": k("f7", 0x41), "f8": k("f8", 0x42), "f9": k("f9", 0x43), "f10": k("f10", 0x44),
        "f11": k("f11", 0x57), "f12": k("f12", 0x58),
    ]

    /// Modifiers, pressed alone as <leftShift> or held with <leftShiftOn> … <leftShiftOff>.
    static let modifiers: [String: Key] = [
        "leftshift": shift, "rightshift": k("shift_r", 0x36), "leftctrl": k("ctrl", 0x1D),
        "rightctrl": k("ctrl_r", 0x9D), "leftalt": k("alt", 0x38), "rightalt": k("alt_r", 0xB8),
        "leftsuper": k("meta_l", 0xDB), "rightsuper": k("meta_r", 0xDC),
    ]

    /// The US layout: each printable ASCII character's key, and whether Shift is held.
    private static let layout: [Character: (Key, shifted: Bool)] = {
        var map: [Character: (Key, shifted: Bool)] = [:]
        let rows: [(String, String, UInt32)] = [
            ("1234567890-=", "!@#$%^&*()_+", 0x02), ("qwertyuiop[]", "QWERTYUIOP{}", 0x10),
            ("asdfghjkl;'`", "ASDFGHJKL:\"~", 0x1E), ("\\zxcvbnm,./", "|ZXCVBNM<>?", 0x2B),
        ]
        let names: [Character: String] = [
            "-": "minus", "=": "equal", "[": "bracket_left", "]": "bracket_right", ";": "semicolon",
            "'": "apostrophe", "`": "grave_accent", "\\": "backslash", ",": "comma", ".": "dot", "/": "slash",
        ]
        for (plain, shifted, first) in rows {
            for (offset, (p, s)) in zip(plain, shifted).enumerated() {
                let key = k(names[p] ?? String(p), first + UInt32(offset))
                map[p] = (key, false)
                map[s] = (key, true)
            }
        }
        map[" "] = (k("spc", 0x39), false)
        return map
    }()

    /// The keys that type `c`, Shift first; nil for what the US layout cannot type.
    static func character(_ c: Unicode.Scalar) -> [Key]? {
        guard let (key, shifted) = layout[Character(c)] else { return nil }
        return shifted ? [shift, key] : [key]
    }
}
