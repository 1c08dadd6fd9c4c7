import Testing

@testable import VMInstallKit

@Suite struct FormatTests {
    @Test func keyValueRoundTripsAwkwardValues() throws {
        var kv = KeyValueFile()
        kv.append("path", "/a b/c=d,e\\f\ng\r")
        kv.append("disk", "one")
        kv.append("disk", "two")
        let parsed = try KeyValueFile.parse(kv.render(header: "header\nline"))
        #expect(parsed == kv)
        #expect(parsed.all("disk") == ["one", "two"])
    }

    @Test func keyValueRejectsGarbage() {
        #expect(throws: KeyValueFile.ParseError.self) { try KeyValueFile.parse("no equals sign\n") }
        #expect(throws: KeyValueFile.ParseError.self) { try KeyValueFile.parse("k=bad\\q\n") }
    }

    @Test func jobRecordRoundTripsAndDetectsTruncation() throws {
        var record = JobRecord(id: JobID(12)!, name: "vm", now: 100)
        record.state = .runtime
        record.uuid = "u"
        record.vnc = "127.0.0.1::5901"
        record.createdDisks = [
            CreatedDisk(
                path: "/x:y/d.qcow2", identity: FileIdentity(device: 1, inode: 2, birthSeconds: 3, birthNanoseconds: 4))
        ]
        let text = record.encoded()
        #expect(try JobRecord.decode(text, expected: JobID(12)!) == record)
        let truncated = String(text.dropLast(8))
        #expect(throws: VMInstallError.self) { try JobRecord.decode(truncated, expected: JobID(12)!) }
        #expect(throws: VMInstallError.self) { try JobRecord.decode(text, expected: JobID(13)!) }
    }

    @Test func diskSpecs() throws {
        let d = try DiskSpec.parse("/v/a,,b.img,size=8G,format=raw")
        #expect(d == DiskSpec(path: "/v/a,b.img", size: 8 << 30, format: .raw))
        #expect(try DiskSpec.parse(d.rendered) == d)
        #expect(try DiskSpec.parse("/d,size=20").size == 20 << 30)
        #expect(try DiskSpec.parse("/d,size=512m").size == 512 << 20)
        for bad in [
            "", ",size=1G", "/d,size=", "/d,size=0", "/d,size=-1G", "/d,size=1X", "/d,format=vmdk", "/d,bus=floppy",
            "/d,size",
        ] {
            #expect(throws: VMInstallError.self, "\(bad)") { try DiskSpec.parse(bad) }
        }
    }

    @Test func vmNames() {
        for good in ["a", "web-1", "db_2.test", String(repeating: "x", count: 64)] {
            #expect(throws: Never.self) { try VMName.validate(good) }
        }
        for bad in ["", ".hidden", "-x", "a/b", "..", "a b", "a,b", "a\nb", String(repeating: "x", count: 65)] {
            #expect(throws: VMInstallError.self, "\(bad)") { try VMName.validate(bad) }
        }
    }

    @Test func qemuValuesCannotAddOptions() {
        let vm = VMConfig(
            name: "n", uuid: "u", memoryMiB: 64, vcpus: 1, accel: "tcg", vnc: nil,
            disks: [.init(path: "/a,file=/etc/shadow", format: .raw)])
        let args = QEMUCommandLine.runtime(vm, files: VMPaths(directory: "/s/vms/n"))
        #expect(args.contains("if=none,id=disk0,file=/a,,file=/etc/shadow,format=raw"))
    }

    @Test func statusKeysFollowTheManual() {
        var s = JobStatus(
            exit: nil, id: JobID(1)!, inotify: "/i", log: "/l", pid: 9, state: .install, uuid: "u", vnc: nil)
        #expect(s.lines == ["id=1", "inotify=/i", "log=/l", "pid=9", "state=2", "uuid=u"])
        s.exit = 0
        s.pid = nil
        s.state = .finished
        s.vnc = "127.0.0.1::5900"
        #expect(s.lines == ["exit=0", "id=1", "inotify=/i", "log=/l", "state=6", "uuid=u", "vnc=127.0.0.1::5900"])
    }
}
