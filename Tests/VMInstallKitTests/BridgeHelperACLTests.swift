import Glibc
import Testing

@testable import VMInstallKit

/// /etc/qemu/bridge.conf read as qemu-bridge-helper reads it, from files the test writes.
@Suite struct BridgeHelperACLTests {
    func verdict(_ text: String, for bridge: String = "br0", included: String? = nil) throws -> BridgeHelper.Verdict {
        var template = Array("/tmp/vmi-acl-XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileIO.removeTree(dir) }
        if let included { try FileIO.writeAtomically("\(dir)/more.conf", included) }
        try FileIO.writeAtomically(
            "\(dir)/bridge.conf", text.replacingOccurrences("INCLUDED", with: "\(dir)/more.conf"))
        return BridgeHelper.verdict(for: bridge, file: "\(dir)/bridge.conf")
    }

    @Test func anAllowLineOrAllowAllLetsABridgeIn() throws {
        #expect(try verdict("allow br0\n") == .allowed)
        #expect(try verdict("  # comment\n\n  allow\tbr0\n") == .allowed)
        #expect(try verdict("allow  br0  \n") == .allowed)
        #expect(try verdict("allow all\n") == .allowed)
        #expect(try verdict("allow br1\n") == .denied)
        #expect(try verdict("") == .denied)
    }

    @Test func aDenyLineWinsWhereverItStands() throws {
        #expect(try verdict("allow br0\ndeny br0\n") == .denied)
        #expect(try verdict("deny br0\nallow br0\n") == .denied)
        #expect(try verdict("allow all\ndeny all\n") == .denied)
        #expect(try verdict("deny br1\nallow all\n") == .allowed)
    }

    @Test func includedFilesCountAndAMissingOneIsIgnored() throws {
        #expect(try verdict("include INCLUDED\n", included: "allow br0\n") == .allowed)
        #expect(try verdict("allow all\ninclude INCLUDED\n", included: "deny br0\n") == .denied)
        #expect(try verdict("include /nonexistent/vmi.conf\nallow br0\n") == .allowed)
    }

    @Test func aLineTheHelperRejectsRejectsTheFile() throws {
        guard case .invalid(let why) = try verdict("allow br0\npermit br0\n") else {
            Issue.record("an unknown command passes")
            return
        }
        #expect(why.contains("unknown command 'permit'"))
        guard case .invalid = try verdict("allow\n") else {
            Issue.record("a line without an argument passes")
            return
        }
        // The helper splits at the first space, and only without one at the first tab.
        guard case .invalid(let tabbed) = try verdict("allow\tbr0 \n") else {
            Issue.record("'allow<TAB>br0 ' passes")
            return
        }
        #expect(tabbed.contains("unknown command 'allow\tbr0'"))
        #expect(BridgeHelper.verdict(for: "br0", file: "/nonexistent/bridge.conf") == .missing)
    }
}
