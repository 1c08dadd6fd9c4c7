/// The literal text every match of a regular expression contains, as PCRE reads the pattern:
/// a prefilter, so that a string without it need not be given to the regex engine. It reads
/// only the top level of the pattern (not inside groups or classes), takes only plain ASCII
/// characters and escaped punctuation, and gives up (no literals: the engine decides) on
/// anything it does not follow: alternation, inline options, `\Q`, escapes with arguments.
/// It may miss literals; it never claims one a match can lack.
enum RegexLiterals {
    static func required(in pattern: String) -> [[UInt8]] {
        let p = Array(pattern.utf8)
        var runs: [[UInt8]] = []
        var run: [UInt8] = []
        var lastWasLiteral = false
        func end() {
            if !run.isEmpty { runs.append(run) }
            run = []
            lastWasLiteral = false
        }
        // Escapes of one letter that take no argument; any other letter or digit: give up.
        let simple = Set("dDsSwWbBhHvVAzZG".utf8)
        var i = 0
        var depth = 0
        while i < p.count {
            let c = p[i]
            switch c {
            case UInt8(ascii: "\\"):
                guard i + 1 < p.count else { return [] }
                let n = p[i + 1]
                i += 2
                if isAlphanumeric(n) || n >= 0x80 {
                    guard simple.contains(n) else { return [] }
                    if depth == 0 { end() }
                } else if depth == 0 {
                    run.append(n)
                    lastWasLiteral = true
                }
            case UInt8(ascii: "["):
                guard let after = classEnd(p, from: i) else { return [] }
                i = after
                if depth == 0 { end() }
            case UInt8(ascii: "("):
                if i + 1 < p.count, p[i + 1] == UInt8(ascii: "?") || p[i + 1] == UInt8(ascii: "*") {
                    // (?: (?= (?! (?<= (?<! (?> groups only; not options, comments or verbs.
                    guard i + 2 < p.count, ":=!<>".utf8.contains(p[i + 2]), p[i + 1] == UInt8(ascii: "?") else {
                        return []
                    }
                }
                if depth == 0 { end() }
                depth += 1
                i += 1
            case UInt8(ascii: ")"):
                guard depth > 0 else { return [] }
                depth -= 1
                i += 1
            case UInt8(ascii: "|"):
                if depth == 0 { return [] }
                i += 1
            case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "{"):
                // The atom before is optional: a literal one leaves the run.
                if depth == 0 && lastWasLiteral { run.removeLast() }
                if depth == 0 { end() }
                if c == UInt8(ascii: "{") {
                    guard let close = p[i...].firstIndex(of: UInt8(ascii: "}")) else { return [] }
                    i = close + 1
                } else {
                    i += 1
                }
            case UInt8(ascii: "+"):
                if depth == 0 { end() }
                i += 1
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                if depth == 0 { end() }
                i += 1
            default:
                if depth == 0 {
                    if c >= 0x80 || c < 0x20 {
                        end()
                    } else {
                        run.append(c)
                        lastWasLiteral = true
                    }
                }
                i += 1
            }
        }
        guard depth == 0 else { return [] }
        end()
        return runs
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }

    /// The index after the character class opening at `start`; nil when it does not close.
    private static func classEnd(_ p: [UInt8], from start: Int) -> Int? {
        var j = start + 1
        if j < p.count, p[j] == UInt8(ascii: "^") { j += 1 }
        if j < p.count, p[j] == UInt8(ascii: "]") { j += 1 }
        while j < p.count {
            switch p[j] {
            case UInt8(ascii: "\\"):
                j += 2
            case UInt8(ascii: "[") where j + 1 < p.count && p[j + 1] == UInt8(ascii: ":"):
                guard let close = (j + 2 < p.count ? p[(j + 2)...] : []).firstIndex(of: UInt8(ascii: "]")) else {
                    return nil
                }
                j = close + 1
            case UInt8(ascii: "]"):
                return j + 1
            default:
                j += 1
            }
        }
        return nil
    }
}
