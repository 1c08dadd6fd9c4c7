import Glibc
import Testing

@testable import VMInstallKit

/// --boot-keys' parser (Packer's boot_command syntax), its placeholders, the answer server's
/// path checks and the syslog receiver's message parsing.
@Suite struct BootKeysTests {
    func presses(_ text: String) throws -> [[String]] {
        try BootKeys(parsing: text).steps.compactMap { step in
            if case .press(let keys) = step { keys.map(\.name) } else { nil }
        }
    }

    @Test func plainTextIsTypedKeyByKey() throws {
        #expect(try presses("ab 1") == [["a"], ["b"], ["spc"], ["1"]])
        let keys = try BootKeys(parsing: "install auto=true")
        #expect(keys.characterCount == 17)
        #expect(keys.summary == "17 characters")
    }

    @Test func shiftedCharactersHoldShift() throws {
        #expect(try presses(":") == [["shift", "semicolon"]])
        #expect(
            try presses("A_\"~|?>") == [
                ["shift", "a"], ["shift", "minus"], ["shift", "apostrophe"], ["shift", "grave_accent"],
                ["shift", "backslash"], ["shift", "slash"], ["shift", "dot"],
            ])
        #expect(try presses(";") == [["semicolon"]])
        // Every printable ASCII character can be typed, each with one key besides Shift.
        for value in UInt32(0x20)...0x7E {
            let c = Character(Unicode.Scalar(value)!)
            let keys = try #require(BootKeys.character(Unicode.Scalar(value)!), "\(c)")
            #expect(keys.count == (c.isUppercase || "!@#$%^&*()_+{}:\"~|<>?".contains(c) ? 2 : 1), "\(c)")
        }
    }

    @Test func scancodesAreQEMUsQnums() throws {
        let codes = try BootKeys(parsing: "a:<enter><up><f12>").steps.compactMap { step -> [UInt32]? in
            if case .press(let keys) = step { keys.map(\.code) } else { nil }
        }
        #expect(codes == [[0x1E], [0x2A, 0x27], [0x1C], [0xC8], [0x58]])
    }

    @Test func everySpecialKey() throws {
        let names: [(String, String)] = [
            ("esc", "esc"), ("enter", "ret"), ("return", "ret"), ("tab", "tab"), ("bs", "backspace"),
            ("del", "delete"), ("spacebar", "spc"), ("insert", "insert"), ("home", "home"), ("end", "end"),
            ("pageUp", "pgup"), ("pageDown", "pgdn"), ("up", "up"), ("down", "down"), ("left", "left"),
            ("right", "right"), ("leftShift", "shift"), ("rightShift", "shift_r"), ("leftCtrl", "ctrl"),
            ("rightCtrl", "ctrl_r"), ("leftAlt", "alt"), ("rightAlt", "alt_r"), ("leftSuper", "meta_l"),
            ("rightSuper", "meta_r"),
        ]
        for (token, qcode) in names {
            #expect(try presses("<\(token)>") == [[qcode]], "<\(token)>")
            #expect(try presses("<\(token.uppercased())>") == [[qcode]], "case does not matter")
        }
        for n in 1...12 { #expect(try presses("<f\(n)>") == [["f\(n)"]]) }
    }

    @Test func modifiersHeldOnUntilOff() throws {
        #expect(try presses("<leftCtrlOn>c<leftCtrlOff>c") == [["ctrl", "c"], ["c"]])
        #expect(try presses("<leftShiftOn>a:<leftShiftOff>") == [["shift", "a"], ["shift", "semicolon"]])
        #expect(
            try presses("<leftAltOn><leftCtrlOn><del><leftCtrlOff><leftAltOff>") == [["alt", "ctrl", "delete"]])
        #expect(try presses("<rightShiftOn>x<rightShiftOff>") == [["shift_r", "x"]])
    }

    @Test func waits() throws {
        func waits(_ text: String) throws -> [Double] {
            try BootKeys(parsing: text).steps.compactMap { if case .wait(let s) = $0 { s } else { nil } }
        }
        #expect(try waits("<wait><wait5><wait10>") == [1, 5, 10])
        #expect(try waits("<wait2s><wait1m30s><wait500ms><wait1h>") == [2, 90, 0.5, 3600])
        #expect(try BootKeys(parsing: "<wait5>ab<enter>").summary == "<wait 5s>, 2 characters, <enter>")
    }

    @Test func whatIsNotATokenIsTyped() throws {
        #expect(try presses("a<b") == [["a"], ["shift", "comma"], ["b"]])
        #expect(try presses("< >") == [["shift", "comma"], ["spc"], ["shift", "dot"]])
        #expect(try presses("<1>") == [["shift", "comma"], ["1"], ["shift", "dot"]])
    }

    @Test func errors() {
        for bad in ["<enetr>", "<waitx>", "<wait5x>", "<wait1y>", "<leftShif>", "é", "tab\there", "line\n", "<f13>"] {
            #expect(throws: BootKeys.Failure.self, "\(bad)") { try BootKeys(parsing: bad) }
        }
        #expect(throws: BootKeys.Failure.self) { try BootKeys(parsing: "<wait100h>") }
    }

    @Test func theSummaryNeverHoldsTheText() throws {
        let keys = try BootKeys(parsing: "root<tab>s3cret-pw<enter><wait>")
        #expect(!keys.summary.contains("s3cret"))
        #expect(keys.summary == "4 characters, <tab>, 9 characters, <enter>, <wait 1s>")
    }

    @Test func placeholders() throws {
        let filled = try InstallTemplate.expand("url=http://{{http}}/p {{ .HTTPIP }}:{{ .HTTPPort }} {{syslogIP}}") {
            server, part in
            switch (server, part) {
            case (.http, ""): "10.0.2.2:80"
            case (.http, "ip"): "10.0.2.2"
            case (.http, _): "80"
            case (.syslog, _): "S"
            }
        }
        #expect(filled == "url=http://10.0.2.2:80/p 10.0.2.2:80 S")
        #expect(try InstallTemplate.servers(in: "{{syslogPort}} {{http}}") == [.syslog, .http])
        #expect(try InstallTemplate.servers(in: "none") == [])
        #expect(throws: VMInstallError.self) { try InstallTemplate.servers(in: "{{nope}}") }
        #expect(throws: VMInstallError.self) { try InstallTemplate.servers(in: "{{http") }
    }

    @Test func aBootKeysErrorIsAUsageError() {
        var spec = VMSpec(name: "v", source: "/x.iso", disks: [try! DiskSpec.parse("/d.qcow2,size=1G")])
        spec.bootKeys = "<enetr>"
        #expect(throws: VMInstallError.self) { try spec.validateSyntax() }
        do { try spec.validateSyntax() } catch { #expect(error.kind == .usage && error.message.contains("<enetr>")) }
        spec.bootKeys = "url=http://{{http}}/x<enter>"
        #expect(throws: Never.self) { try spec.validateSyntax() }
        spec.bootKeyIntervalMilliseconds = 0
        #expect(throws: VMInstallError.self) { try spec.validateSyntax() }
    }

    @Test func loopbackURLsAsTheUserNetworkReachesThem() {
        #expect(
            GuestReach.userNetworkURL(for: "http://127.0.0.1:8080/debian/dists/x/")
                == "http://10.0.2.2:8080/debian/dists/x/")
        #expect(GuestReach.userNetworkURL(for: "http://localhost/a") == "http://10.0.2.2/a")
        #expect(GuestReach.userNetworkURL(for: "ftp://u@127.1.2.3:21/a") == "ftp://u@10.0.2.2:21/a")
        #expect(GuestReach.userNetworkURL(for: "http://mirror.example/debian/") == nil)
        #expect(GuestReach.userNetworkURL(for: "http://127.0.0.1.example/") == nil)
    }

    @Test func syslogMessages() {
        #expect(
            InstallerSyslog.message(Array("<13>Jan  1 00:00:02 main-menu[1]: INFO: ok".utf8))
                == "main-menu[1]: INFO: ok")
        #expect(
            InstallerSyslog.message(Array("<30>1 2024-01-01T00:00:00Z host anaconda 1 - - Starting".utf8))
                == "anaconda: Starting")
        #expect(InstallerSyslog.message(Array("52 <13>Jan 11 10:00:00 tag: hi\r".utf8)) == "tag: hi")
        #expect(InstallerSyslog.message(Array("<13>esc\u{1B}[0m".utf8)) == "esc\\x1b[0m")
    }
}

/// The answer server serves files under its directory only.
@Suite struct AnswerServerPathTests {
    @Test func pathsStayInsideTheDirectory() throws {
        var template = Array("/tmp/vmi-unit-XXXXXX".utf8CString)
        let made = try #require(mkdtemp(&template))
        let root = String(cString: made)
        defer { try? FileIO.removeTree(root) }
        _ = try FileIO.makeDirectory("\(root)/www")
        _ = try FileIO.makeDirectory("\(root)/www/sub")
        try FileIO.writeAtomically("\(root)/www/sub/a b.cfg", "x")
        try FileIO.writeAtomically("\(root)/secret", "s")
        symlink("\(root)/secret", "\(root)/www/out")
        symlink("\(root)/www/sub/a b.cfg", "\(root)/www/in")
        let www = "\(root)/www"
        #expect(AnswerServer.resolve("/sub/a%20b.cfg", under: www) == "\(root)/www/sub/a b.cfg")
        #expect(AnswerServer.resolve("/in", under: www) == "\(root)/www/sub/a b.cfg", "a symlink inside is fine")
        #expect(AnswerServer.resolve("/out", under: www) == nil, "no symlink out")
        #expect(AnswerServer.resolve("/../secret", under: www) == nil)
        #expect(AnswerServer.resolve("/sub/../../secret", under: www) == nil)
        #expect(AnswerServer.resolve("/%2e%2e/secret", under: www) == nil, "no encoded ..")
        #expect(AnswerServer.resolve("/sub", under: www) == nil, "no directories")
        #expect(AnswerServer.resolve("/", under: www) == nil)
        #expect(AnswerServer.resolve("/nothing", under: www) == nil)
        #expect(AnswerServer.resolve("/sub/a%2", under: www) == nil, "bad escape")
        #expect(AnswerServer.resolve("/sub/%00", under: www) == nil)
        #expect(AnswerServer.resolve("relative", under: www) == nil)
    }
}
