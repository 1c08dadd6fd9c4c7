/// Strings made from a regular expression, for tests: what the pattern is likely to match
/// (the `choice`th way through its alternatives and optional parts), and near misses. A test
/// input maker, not a matcher: whether a string matches is glib's and libosinfo's answer.
struct RegexSamples {
    private let p: [Character]
    private var i = 0
    private var choice: Int

    static func sample(_ pattern: String, choice: Int) -> String {
        var maker = RegexSamples(p: Array(pattern), choice: choice)
        return maker.alternation()
    }

    /// The sample changed a little: its last character dropped, a digit changed, a suffix.
    static func nearMisses(_ sample: String) -> [String] {
        var out: [String] = []
        if !sample.isEmpty { out.append(String(sample.dropLast())) }
        if let digit = sample.lastIndex(where: \.isNumber) {
            var changed = sample
            let value = sample[digit].wholeNumberValue!
            changed.replaceSubrange(digit...digit, with: String((value + 1) % 10))
            out.append(changed)
        }
        out.append(sample + "-X")
        return out
    }

    private mutating func pick(_ count: Int) -> Int {
        defer { choice = choice / max(count, 1) + choice % 7 }
        return choice % max(count, 1)
    }

    private mutating func alternation() -> String {
        var branches = [sequence()]
        while i < p.count, p[i] == "|" {
            i += 1
            branches.append(sequence())
        }
        return branches[pick(branches.count)]
    }

    private mutating func sequence() -> String {
        var out = ""
        while i < p.count, p[i] != "|", p[i] != ")" {
            let atom = self.atom()
            out += quantified(atom)
        }
        return out
    }

    private mutating func quantified(_ atom: String) -> String {
        guard i < p.count else { return atom }
        var result = atom
        switch p[i] {
        case "?", "*":
            i += 1
            result = pick(2) == 0 ? atom : ""
        case "+":
            i += 1
        case "{":
            guard let close = p[i...].firstIndex(of: "}") else { return atom }
            let n = Int(String(p[(i + 1)..<close]).split(separator: ",").first ?? "1") ?? 1
            i = close + 1
            result = String(repeating: atom, count: max(n, 0))
        default:
            return atom
        }
        if i < p.count, p[i] == "?" || p[i] == "+" { i += 1 }  // lazy, possessive
        return result
    }

    private mutating func atom() -> String {
        let c = p[i]
        i += 1
        switch c {
        case "(":
            if i < p.count, p[i] == "?" {
                while i < p.count, p[i] != ":", p[i] != ")" { i += 1 }
                if i < p.count, p[i] == ")" {
                    i += 1
                    return ""
                }
                i += 1
            }
            let inner = alternation()
            if i < p.count { i += 1 }
            return inner
        case "[":
            return characterClass()
        case "\\":
            guard i < p.count else { return "" }
            let e = p[i]
            i += 1
            switch e {
            case "d": return String(pick(10))
            case "w": return "a"
            case "s": return " "
            case "D", "S": return "x"
            case "W": return "-"
            case "b", "B", "A", "z", "Z": return ""
            default: return String(e)
            }
        case ".": return "x"
        case "^", "$": return ""
        default: return String(c)
        }
    }

    private mutating func characterClass() -> String {
        var negated = false
        if i < p.count, p[i] == "^" {
            negated = true
            i += 1
        }
        var members: [Character] = []
        var first = true
        while i < p.count, p[i] != "]" || first {
            first = false
            var c = p[i]
            i += 1
            if c == "\\", i < p.count {
                c = p[i] == "d" ? "5" : p[i] == "s" ? " " : p[i] == "w" ? "a" : p[i]
                i += 1
            }
            if i + 1 < p.count, p[i] == "-", p[i + 1] != "]" {
                let upper = p[i + 1]
                i += 2
                members.append(pick(2) == 0 ? c : upper)
                continue
            }
            members.append(c)
        }
        i += 1
        if negated {
            return ["Q", "#", "~", "z"].first { !members.contains($0) }.map(String.init) ?? ""
        }
        return members.isEmpty ? "" : String(members[pick(members.count)])
    }
}
