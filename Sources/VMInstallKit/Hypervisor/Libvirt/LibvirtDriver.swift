import CLibvirt
import Glibc
import Synchronization

/// Installs VMs into libvirt (`vm-install --connect URI`), on this host or a remote one. The
/// install runs as a domain that boots the install medium with `on_reboot=destroy`; its
/// persistent definition is replaced at once by the final one (boot from disk, no install
/// media), which libvirt keeps and starts for RUNTIME. The domain carries the job id in its
/// <metadata> and <description>, and only a domain that does is ever stopped or undefined.
public struct LibvirtDriver: HypervisorDriver {
    public let uri: String
    /// nil before the job exists: then only `runsOnThisMachine`, `preflight` and
    /// `checkFirmware` are asked, and no domain is this driver's.
    let job: JobID?
    let stateDirectory: String
    let log: JobLog?
    /// How long a lost connection is retried before the job fails.
    let reconnectDeadline: Double
    private let cache = ConnectionCache()

    public init(uri: String, job: JobID?, stateDirectory: String, log: JobLog?, reconnectDeadline: Double = 120) {
        self.uri = uri
        self.job = job
        self.stateDirectory = stateDirectory
        self.log = log
        self.reconnectDeadline = reconnectDeadline
    }

    var isRemote: Bool { LibvirtConnection.isRemote(uri) }

    /// The media this state directory uploaded to this host, shared by its jobs.
    var sharedMedia: LibvirtSharedMedia {
        LibvirtSharedMedia(uri: uri, stateDirectory: stateDirectory, pool: LibvirtMedia.pool)
    }

    /// `body` under this host's lock of `pool` (`LibvirtPoolLock`).
    func holdingPool<T>(_ pool: String, _ body: () throws(VMInstallError) -> T) throws(VMInstallError) -> T {
        try LibvirtPoolLock.holding(pool, uri: uri, stateDirectory: stateDirectory, body)
    }

    /// One connection per driver, opened again when it has died.
    final class ConnectionCache: @unchecked Sendable {
        let current = Mutex<LibvirtConnection?>(nil)
    }

    func connection() throws(VMInstallError) -> LibvirtConnection {
        if let c = cache.current.withLock({ $0 }), c.isAlive { return c }
        let fresh = try LibvirtConnection(uri)
        cache.current.withLock { $0 = fresh }
        return fresh
    }

    public var runsOnThisMachine: Bool { !isRemote }

    public var host: String? { uri }

    public func preflight(_ spec: VMSpec) throws(VMInstallError) {
        if spec.nics.contains(where: { !$0.hostForwards.isEmpty }) {
            throw VMInstallError(
                .settings,
                "--nic user,hostfwd=… is QEMU's own; libvirt's user network has no port forwarding here: drop hostfwd or use a bridge"
            )
        }
        if isRemote, let disk = spec.disks.first(where: { $0.pool == nil }) {
            throw VMInstallError(
                .settings,
                "--disk \(disk.path): a path on this machine means nothing to libvirt at \(uri); give --disk pool=NAME,size=SIZE"
            )
        }
    }

    public func capacity() throws(VMInstallError) -> HostCapacity? {
        guard isRemote else { return nil }
        return try connection().capacity(stateDirectory: stateDirectory)
    }

    public func prepare(_ spec: VMSpec) throws(VMInstallError) -> ResolvedHost {
        let c = try connection()
        if try c.domain(named: spec.name) != nil {
            throw VMInstallError(
                .settings, "libvirt at \(uri) already has a domain named \(spec.name); choose another --name")
        }
        let kvm = (try c.capabilities()).contains("<domain type='kvm'")
        switch spec.accel {
        case .kvm:
            guard kvm else {
                throw VMInstallError(.host, "libvirt at \(uri) cannot run KVM guests; use --accel tcg or auto")
            }
            return ResolvedHost(accel: "kvm")
        case .tcg: return ResolvedHost(accel: "tcg")
        case .auto: return ResolvedHost(accel: kvm ? "kvm" : "tcg")
        }
    }

    /// The job, for what only a job does (define domains, upload media).
    func assignedJob() throws(VMInstallError) -> JobID {
        guard let job else { throw VMInstallError(.internal, "libvirt: no job to act for") }
        return job
    }

    func xml(_ vm: VMConfig, files: VMPaths, media: LibvirtMedia) throws(VMInstallError) -> LibvirtDomainXML {
        let job = try assignedJob()
        var xml = LibvirtDomainXML(
            vm: vm, job: job, stateDirectory: stateDirectory, serialLog: isRemote ? nil : files.serialLog)
        xml.hostPath = { media.paths[$0] ?? $0 }
        xml.osinfoID = vm.os.flatMap { LibosinfoMetadata.fullID(of: $0) }
        return xml
    }

    public func startInstall(_ vm: VMConfig, medium: InstallMedium, files: VMPaths) async throws(VMInstallError)
        -> any VMSession
    {
        let c = try connection()
        let media = try await LibvirtMedia.upload(for: vm, medium: medium, files: files, driver: self, connection: c)
        let xml = try xml(vm, files: files, media: media)
        let domain = try c.define(xml.install(medium))
        do {
            try domain.start(paused: true)
            // The persistent definition becomes the installed system's; the running install
            // keeps the medium until it powers off.
            _ = try c.define(xml.runtime())
        } catch {
            try? domain.undefine()
            throw error
        }
        return try session(domain, vm: vm, files: files, connection: c)
    }

    public func startRuntime(_ vm: VMConfig, files: VMPaths) async throws(VMInstallError) -> any VMSession {
        let c = try connection()
        var media = LibvirtMedia.recorded(in: files)
        try media.removeInstallOnly(driver: self, connection: c)
        let domain = try c.define(try xml(vm, files: files, media: media).runtime())
        try domain.start(paused: true)
        return try session(domain, vm: vm, files: files, connection: c)
    }

    private func session(_ domain: LibvirtDomain, vm: VMConfig, files: VMPaths, connection c: LibvirtConnection)
        throws(VMInstallError) -> LibvirtSession
    {
        let vnc = try vncAddress(domain, vm: vm)
        return try LibvirtSession(
            driver: self, connection: c, domain: domain, files: files, hasScreen: vm.vnc != nil, vncAddress: vnc)
    }

    /// `host::port` from the live XML; the URI's host where the console listens on all
    /// addresses of a remote host.
    func vncAddress(_ domain: LibvirtDomain, vm: VMConfig) throws(VMInstallError) -> String? {
        guard let vnc = vm.vnc else { return nil }
        let live = try domain.xml()
        guard
            let tag = live.firstRange(of: "<graphics type='vnc'").map({ live[$0.lowerBound...].prefix { $0 != ">" } }),
            let port = Self.attribute("port", in: tag), port != "-1"
        else { return nil }
        var host = Self.attribute("listen", in: tag) ?? vnc.listen
        if isRemote, let remoteHost = Self.host(of: uri) {
            if host == "0.0.0.0" || host == "::" {
                host = remoteHost
            } else if host.hasPrefix("127.") || host == "localhost" {
                log?.write(
                    "the VNC console listens on \(host) of \(remoteHost): reach it with ssh -N -L \(port):\(host):\(port) \(remoteHost)"
                )
            }
        }
        var password: String?
        if case .given(let pw) = vnc.password { password = pw }
        return VNCSettings.statusAddress(host: host, port: port, password: password)
    }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let start = tag.firstRange(of: " \(name)='") else { return nil }
        return String(tag[start.upperBound...].prefix { $0 != "'" })
    }

    /// The host of `qemu+ssh://user@host:22/system`.
    static func host(of uri: String) -> String? {
        guard let scheme = uri.firstRange(of: "://") else { return nil }
        var authority = uri[scheme.upperBound...].prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") { return String(authority.dropFirst().prefix { $0 != "]" }) }
        return authority.isEmpty ? nil : String(authority.prefix { $0 != ":" })
    }

    /// The domain of these VM files, if it carries this job's id and state directory.
    func ownedDomain(_ files: VMPaths, connection c: LibvirtConnection) throws(VMInstallError) -> LibvirtDomain? {
        let name = String(files.directory.split(separator: "/").last ?? "")
        guard let job, let domain = try c.domain(named: name) else { return nil }
        let xml = try domain.xml(inactive: domain.isPersistent)
        let mark = "<\(LibvirtDomainXML.prefix):id>\(job)</\(LibvirtDomainXML.prefix):id>"
        let dir =
            "<\(LibvirtDomainXML.prefix):state-dir>\(XML.escape(stateDirectory))</\(LibvirtDomainXML.prefix):state-dir>"
        guard xml.contains(mark), xml.contains(dir) else {
            log?.write("left libvirt domain \(name) alone: it does not carry job \(job) of \(stateDirectory)")
            return nil
        }
        return domain
    }

    public func stopAll(files: VMPaths, deadline: Deadline) throws(VMInstallError) {
        try ownedDomain(files, connection: try connection())?.destroy()
    }

    /// `.unknown` when libvirt does not answer: a disk or a share is not given away on a guess.
    public func runState(files: VMPaths) -> VMRunState {
        do {
            let c = try connection()
            guard let domain = try ownedDomain(files, connection: c) else { return .stopped }
            if case .shutOff = try domain.state() { return .stopped }
            return .running
        } catch {
            return .unknown("libvirt at \(uri) does not answer: \(error.message)")
        }
    }

    public func screenshot(files: VMPaths, to path: String) throws(VMInstallError) {
        guard let domain = try ownedDomain(files, connection: try connection()), domain.isActive else {
            throw VMInstallError(.wrongState, "the VM does not run")
        }
        guard (try domain.xml()).contains("<graphics type='vnc'") else {
            throw VMInstallError(.noScreen, "the VM has no screen (no VNC console)")
        }
        try LibvirtScreen.save(domain, files: files, to: path)
    }

    public func planVolume(_ disk: DiskSpec, vmName: String, index: Int) throws(VMInstallError) -> VolumePlan {
        let poolName = disk.pool ?? LibvirtMedia.pool
        let pool = try connection().pool(named: poolName)
        let format = disk.format ?? .qcow2
        let name =
            disk.volume ?? (index == 0 ? "\(vmName).\(format.rawValue)" : "\(vmName)-\(index).\(format.rawValue)")
        if let existing = try holdingPool(poolName, { () throws(VMInstallError) in try pool.volume(named: name) }) {
            guard disk.volume != nil else {
                throw VMInstallError(
                    .settings,
                    "pool \(poolName) already has a volume \(name); give name=\(name) to use it as it is, or another name="
                )
            }
            guard disk.size == nil else {
                throw VMInstallError(
                    .settings,
                    "volume \(name) exists in pool \(poolName), so size= cannot apply; drop it or choose another name=")
            }
            // Its own format, so a qcow2 image is never written as raw.
            guard let format = disk.format ?? existing.format.flatMap(DiskFormat.init(rawValue:)) else {
                throw VMInstallError(
                    .settings,
                    "volume \(name) in pool \(poolName) has a format vm-install does not use (\(existing.format ?? "unknown")); give format=raw or format=qcow2 if you are sure"
                )
            }
            return VolumePlan(pool: poolName, name: name, existingPath: existing.path, size: nil, format: format)
        }
        guard let size = disk.size else {
            throw VMInstallError(
                .settings, "volume \(name) does not exist in pool \(poolName); give size= to create it")
        }
        return VolumePlan(pool: poolName, name: name, existingPath: nil, size: size, format: format)
    }

    public func createVolume(_ plan: VolumePlan) throws(VMInstallError) -> CreatedVolume {
        let pool = try connection().pool(named: plan.pool)
        let volume = try holdingPool(plan.pool) { () throws(VMInstallError) in
            try pool.createVolume(name: plan.name, bytes: plan.size ?? 0, format: plan.format.rawValue)
        }
        return CreatedVolume(pool: plan.pool, name: plan.name, key: volume.key, path: volume.path)
    }

    public func deleteVolume(_ volume: CreatedVolume, log: JobLog) throws(VMInstallError) {
        let pool = try connection().pool(named: volume.pool)
        try holdingPool(volume.pool) { () throws(VMInstallError) in
            guard let current = try pool.volume(named: volume.name), current.key == volume.key else {
                log.write(
                    "volume \(volume.name) is no longer in pool \(volume.pool) as this job created it; left alone")
                return
            }
            try current.delete()
            log.write("deleted volume \(volume.name) from pool \(volume.pool)")
        }
    }

    public func discard(files: VMPaths) throws(VMInstallError) {
        let c = try connection()
        if let domain = try ownedDomain(files, connection: c) {
            try domain.destroy()
            try domain.undefine()
            log?.write("undefined libvirt domain \(files.directory.split(separator: "/").last ?? "")")
        }
        try LibvirtMedia.recorded(in: files).removeAll(driver: self, connection: c)
    }
}
