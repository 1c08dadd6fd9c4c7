import CLibvirt
import Glibc

/// A storage pool: where `--disk pool=NAME` volumes are made and install media are uploaded
/// to on a remote host.
final class LibvirtPool: @unchecked Sendable {
    let pointer: virStoragePoolPtr
    let connection: LibvirtConnection

    init(_ pointer: virStoragePoolPtr, connection: LibvirtConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit { vmi_virStoragePoolFree(pointer) }

    /// Looks a volume up after a refresh of the pool, so volumes made by others are seen. A
    /// refresh fails while another client's volume is being created or uploaded ("pool has
    /// asynchronous jobs running"): it is tried again a few times (this state directory's
    /// jobs never collide, `LibvirtPoolLock`).
    func volume(named name: String) throws(VMInstallError) -> LibvirtVolume? {
        for attempt in 0..<5 {
            if vmi_virStoragePoolRefresh(pointer, 0) == 0 { break }
            vmi_virResetLastError()
            if attempt < 4 { usleep(200_000) }
        }
        guard let v = vmi_virStorageVolLookupByName(pointer, name) else {
            let error = LibvirtError.last()
            if error.code == LibvirtError.noStorageVolume { return nil }
            throw VMInstallError(.requestFailed, "cannot look up volume \(name): \(error.message)")
        }
        return LibvirtVolume(v)
    }

    /// A new volume; fails when one of that name exists.
    func createVolume(name: String, bytes: UInt64, format: String) throws(VMInstallError) -> LibvirtVolume {
        let xml = """
            <volume><name>\(XML.escape(name))</name><capacity unit='bytes'>\(bytes)</capacity>\
            <target><format type='\(XML.escape(format))'/></target></volume>
            """
        guard let v = vmi_virStorageVolCreateXML(pointer, xml, 0) else {
            throw LibvirtError.fail("cannot create volume \(name)", kind: .disk)
        }
        return LibvirtVolume(v)
    }
}

/// A storage volume, known by its key (unique on its host) once created.
final class LibvirtVolume: @unchecked Sendable {
    let pointer: virStorageVolPtr

    init(_ pointer: virStorageVolPtr) { self.pointer = pointer }

    deinit { vmi_virStorageVolFree(pointer) }

    var path: String {
        guard let p = vmi_virStorageVolGetPath(pointer) else { return "" }
        defer { free(p) }
        return String(cString: p)
    }

    /// The format libvirt records for it (`<target><format type='qcow2'/>`), if any.
    var format: String? {
        guard let xml = vmi_virStorageVolGetXMLDesc(pointer, 0) else { return nil }
        defer { free(xml) }
        let text = String(cString: xml)
        guard let target = text.firstRange(of: "<target>"),
            let format = text[target.upperBound...].firstRange(of: "<format type='")
        else { return nil }
        return String(text[format.upperBound...].prefix { $0 != "'" })
    }

    var key: String { vmi_virStorageVolGetKey(pointer).map { String(cString: $0) } ?? "" }

    func delete() throws(VMInstallError) {
        guard vmi_virStorageVolDelete(pointer, 0) == 0 else {
            throw LibvirtError.fail("cannot delete volume \(path)", kind: .requestFailed)
        }
    }

    /// Sends a local file into the volume over the connection (the storage stream API).
    func upload(_ file: String, connection: LibvirtConnection) throws(VMInstallError) {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VMInstallError(.settings, "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard let stream = vmi_virStreamNew(connection.pointer, 0) else {
            throw LibvirtError.fail("cannot open a stream to libvirt", kind: .disk)
        }
        defer { vmi_virStreamFree(stream) }
        guard vmi_virStorageVolUpload(pointer, stream, 0, 0, 0) == 0 else {
            throw LibvirtError.fail("libvirt refused the upload of \(file)", kind: .disk)
        }
        var buffer = [CChar](repeating: 0, count: 1 << 20)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n == 0 { break }
            var sent = 0
            while n > 0, sent < n {
                let m = buffer.withUnsafeBufferPointer { vmi_virStreamSend(stream, $0.baseAddress! + sent, n - sent) }
                guard m > 0 else {
                    vmi_virStreamAbort(stream)
                    throw LibvirtError.fail("the upload of \(file) failed", kind: .disk)
                }
                sent += Int(m)
            }
            guard n > 0 else {
                vmi_virStreamAbort(stream)
                throw VMInstallError(.disk, "cannot read \(file): \(String(cString: strerror(errno)))")
            }
        }
        guard vmi_virStreamFinish(stream) == 0 else {
            throw LibvirtError.fail("the upload of \(file) did not complete", kind: .disk)
        }
    }
}
