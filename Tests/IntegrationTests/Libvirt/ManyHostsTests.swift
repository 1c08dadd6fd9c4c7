import Glibc
import Testing
import VMInstallKit

/// Jobs placed over several real libvirt hosts (scripts/libvirt-hosts.sh), each checked with
/// virsh: budgets kept on every host, submission order, alternates, one upload of each medium
/// per host, every request acting through the job's own host, ssh and TCP.
extension LibvirtHostsTests {
    /// A tiny VM for the hosts of a hosts file's group `lab`, its disk a pool volume.
    func placedArguments(_ fx: Fixture, name: String, guest: Guest, extra: [String] = []) -> [String] {
        [
            "--name", fx.domainName(name), "--source", guest.iso, "--disk", "pool=default,size=16M", "--memory", "64",
            "--accel", "tcg", "--settle", "0", "--install-timeout", String(Int(2 * Fixture.patience)), "--hosts-file",
            "\(fx.root)/hosts",
            "--host-group", "lab",
        ] + extra
    }

    func writeHosts(_ fx: Fixture, _ hosts: [(LibvirtHost, Int)]) throws {
        try FileIO.writeAtomically(
            "\(fx.root)/hosts", hosts.map { "lab \($0.0.tcpURI) memory-budget=\($0.1)\n" }.joined())
    }

    func submit(_ fx: Fixture, _ arguments: [String], environment: [String] = []) async throws -> JobID {
        let r = try await fx.run(
            "/usr/bin/env",
            environment + ["\(Fixture.buildDirectory)/vm-install", "--state-dir", fx.stateDir] + arguments + [
                "--background"
            ])
        try #require(r.code == 0, "\(r.stderr)")
        return try #require(JobID(parsing: r.stdout.trimmed))
    }

    /// Our domains on a host (named for this test process, made under this fixture).
    func ourDomains(on uri: String, _ fx: Fixture, running: Bool = false) async throws -> [String] {
        let list = try await fx.virsh(["list", running ? "--state-running" : "--all", "--name"], uri: uri)
        try #require(list.code == 0, "\(uri): \(list.stderr)")
        return list.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("vmi\(getpid())-") }
    }

    func volumes(on uri: String, _ fx: Fixture) async throws -> [String] {
        let list = try await fx.virsh(["vol-list", "default"], uri: uri)
        try #require(list.code == 0, "\(uri): \(list.stderr)")
        return list.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Cancels and deletes every job, then removes what is left of ours on the hosts.
    func cleanUp(_ fx: Fixture, hosts: [LibvirtHost]) async {
        for id in (try? fx.store.listIDs()) ?? [] {
            _ = try? await fx.jobs(["--cancel", id.description])
            _ = try? await fx.waitForEnd(id)
            _ = try? await fx.jobs(["--delete", id.description])
        }
        for host in hosts {
            for name in (try? await ourDomains(on: host.tcpURI, fx)) ?? [] {
                _ = try? await fx.virsh(["destroy", name], uri: host.tcpURI)
                _ = try? await fx.virsh(["undefine", name], uri: host.tcpURI)
            }
        }
    }

    func withHosts(_ count: Int, _ body: (Fixture, [LibvirtHost]) async throws -> Void) async throws {
        try await Fixture.with { fx in
            let hosts = try await fx.libvirtHosts(count)
            do { try await body(fx, hosts) } catch {
                await cleanUp(fx, hosts: hosts)
                throw error
            }
            await cleanUp(fx, hosts: hosts)
        }
    }

    func log(_ fx: Fixture, _ id: JobID) -> String { (try? FileIO.readString(fx.store.paths(id).log)) ?? "" }

    /// When the job's log says it was admitted, in milliseconds since the epoch.
    func admittedAt(_ fx: Fixture, _ id: JobID) -> Int64? { logTime(fx.store.paths(id).log, " admitted: ") }

    /// 40 jobs over budgets of 256, 256 and 512 MiB. Their installers wait for a key, so the
    /// hosts fill to their budgets (4, 4 and 8 VMs of 64 MiB) and stay full until the test lets
    /// a round go: no host ever runs more than its budget, every host takes its share, each job
    /// is deleted once FINISHED, and they are admitted in submission order.
    @Test func fortyJobsOverThreeHostsKeepEveryBudget() async throws {
        try await withHosts(3) { fx, hosts in
            let budgets = [256, 256, 512]
            let full = budgets.map { $0 / 64 }
            try writeHosts(fx, Array(zip(hosts, budgets)))
            let guest = try await Guest.held.guest()
            var ids: [JobID] = []
            for i in 0..<40 { ids.append(try await submit(fx, placedArguments(fx, name: "b\(i)", guest: guest))) }
            var names: [JobID: String] = [:]
            for (i, id) in ids.enumerated() { names[id] = fx.domainName("b\(i)") }
            /// Our running VMs on each host, each count checked against its budget.
            func sample() async throws -> [Int] {
                var counts: [Int] = []
                for (index, host) in hosts.enumerated() {
                    let running = try await ourDomains(on: host.tcpURI, fx, running: true).count
                    #expect(running <= full[index], "\(host.tcpURI) runs \(running) VMs of 64 MiB")
                    counts.append(running)
                }
                return counts
            }
            var left = ids
            var admitted: [(JobID, Int64)] = []
            while !left.isEmpty {
                // A round: as many jobs as the hosts hold reach INSTALL, the earliest in line.
                let round = Array(left.prefix(full.reduce(0, +)))
                let deadline = Deadline.after(seconds: Fixture.patience)
                while try !round.allSatisfy({ try fx.store.read($0).state == .install }) {
                    let ended = try round.filter { try fx.store.read($0).state.isTerminal }
                    try #require(ended.isEmpty, "ended before their key: \(ended.map { log(fx, $0) })")
                    try #require(!deadline.hasPassed, "not all in INSTALL: \(round)")
                    try await Task.sleep(for: .milliseconds(100))
                }
                let later = left.dropFirst(round.count)
                #expect(try later.allSatisfy { try fx.store.read($0).state == .settings }, "later jobs wait")
                let perHost = try hosts.map { host in try round.filter { try fx.store.read($0).host == host.tcpURI } }
                if round.count == full.reduce(0, +) {
                    #expect(perHost.map(\.count) == full, "each host full: \(perHost.map(\.count))")
                }
                for (index, host) in hosts.enumerated() {
                    for id in perHost[index] {
                        try await fx.releaseDomain(names[id]!, uri: host.tcpURI, job: id)
                        _ = try await sample()
                    }
                }
                for id in round {
                    let end = try await fx.waitForEnd(id)
                    #expect(end.state == .finished, "job \(id): \(end.error ?? "")")
                    if let at = admittedAt(fx, id) { admitted.append((id, at)) }
                    _ = try await sample()
                    #expect(try await fx.jobs(["--delete", id.description]).code == 0)
                }
                left.removeFirst(round.count)
            }
            let order = admitted.sorted { $0.0 < $1.0 }
            #expect(order.count == ids.count)
            for (a, b) in zip(order, order.dropFirst()) {
                #expect(a.1 <= b.1, "job \(b.0) was admitted before job \(a.0)")
            }
            for host in hosts {
                #expect(try await ourDomains(on: host.tcpURI, fx).isEmpty)
                #expect(try await volumes(on: host.tcpURI, fx).filter { $0.hasPrefix("vmi") }.isEmpty)
            }
        }
    }

    /// A host that goes away with installs under way (its libvirtd killed: it no longer
    /// answers): its jobs fail with one line naming it; the jobs still waiting go to the other
    /// host; once it is back, deleting the jobs leaves nothing of ours on any host.
    @Test func aHostStoppedMidBatchFailsItsJobsAndTheRestGoElsewhere() async throws {
        try await withHosts(2) { fx, hosts in
            try writeHosts(fx, [(hosts[0], 128), (hosts[1], 128)])
            let endless = try await Guest.endless.guest()
            let quick = try await Guest.quick.guest()
            let env = ["VM_INSTALL_RECONNECT_TIMEOUT=5"]
            var holders: [JobID] = []
            for i in 0..<4 {
                holders.append(
                    try await submit(fx, placedArguments(fx, name: "hold\(i)", guest: endless), environment: env))
            }
            for id in holders { try await fx.waitFor(id) { $0.state == .install } }
            let onFirst = try holders.filter { try fx.store.read($0).host == hosts[0].tcpURI }
            let onSecond = try holders.filter { try fx.store.read($0).host == hosts[1].tcpURI }
            #expect(onFirst.count == 2 && onSecond.count == 2, "two on each host")
            let waiting = [
                try await submit(fx, placedArguments(fx, name: "late0", guest: quick), environment: env),
                try await submit(fx, placedArguments(fx, name: "late1", guest: quick), environment: env),
            ]
            try await fx.waitFor(waiting[0]) { $0.waiting != nil }

            let pidFile = "\(hosts[0].directory)/libvirtd.pid"
            let libvirtd = try #require(pid_t(try FileIO.readString(pidFile).trimmed))
            kill(libvirtd, SIGKILL)
            for id in onFirst {
                let end = try await fx.waitForEnd(id)
                #expect(end.state == .failed)
                #expect(end.error?.contains(hosts[0].tcpURI) == true, "\(end.error ?? "")")
                #expect(end.error?.contains("\n") == false)
            }
            // Room on the other host frees; the waiting jobs go there, not to the stopped one.
            for id in onSecond { #expect(try await fx.jobs(["--cancel", id.description]).code == 0) }
            for id in waiting {
                let end = try await fx.waitForEnd(id)
                #expect(end.state == .finished, "\(end.error ?? "")")
                #expect(end.host == hosts[1].tcpURI)
            }
            #expect(log(fx, waiting[0]).contains("host \(hosts[0].tcpURI) cannot be reached"), "\(log(fx, waiting[0]))")
            // The host comes back with the domains it had; every job goes, and nothing of ours is left.
            _ = try await fx.restartLibvirtHosts(2)
            for id in try fx.store.listIDs() { #expect(try await fx.jobs(["--delete", id.description]).code == 0) }
            for host in hosts {
                #expect(try await ourDomains(on: host.tcpURI, fx).isEmpty, "\(host.tcpURI)")
                #expect(try await volumes(on: host.tcpURI, fx).filter { $0.hasPrefix("vmi") }.isEmpty, "\(host.tcpURI)")
            }
        }
    }

    /// The host's libvirtd restarted in the middle of an install: the job reconnects and finishes.
    @Test func aHostRestartedMidInstallReconnects() async throws {
        try await withHosts(1) { fx, hosts in
            try writeHosts(fx, [(hosts[0], 512)])
            // The installer waits for a key: the install lasts until the test lets it go.
            let guest = try await Guest.held.guest()
            let id = try await submit(fx, placedArguments(fx, name: "restart", guest: guest))
            try await fx.waitFor(id) { $0.state == .install }
            let pidFile = "\(hosts[0].directory)/libvirtd.pid"
            let old = try #require(pid_t(try FileIO.readString(pidFile).trimmed))
            kill(old, SIGTERM)
            try await fx.waitUntil { LibvirtInstallTests().hasEnded(old) }
            _ = try await fx.restartLibvirtHosts(1)
            try await fx.waitUntil(seconds: Fixture.patience) { self.log(fx, id).contains("reconnected to libvirt") }
            try await fx.releaseDomain(fx.domainName("restart"), uri: hosts[0].tcpURI, job: id)
            let end = try await fx.waitForEnd(id)
            #expect(end.state == .finished, "\(end.error ?? "")")
            #expect(log(fx, id).contains("reconnected to libvirt"), "\(log(fx, id))")
            #expect(try await ourDomains(on: hosts[0].tcpURI, fx, running: true) == [fx.domainName("restart")])
        }
    }

    /// Ten jobs from one ISO over two hosts: the ISO goes to each host once, shared, and goes
    /// with the jobs.
    @Test func theMediaOfTenJobsReachEachHostOnce() async throws {
        try await withHosts(2) { fx, hosts in
            try writeHosts(fx, [(hosts[0], 2048), (hosts[1], 2048)])
            let guest = try await Guest.endless.guest()
            var ids: [JobID] = []
            for i in 0..<10 { ids.append(try await submit(fx, placedArguments(fx, name: "m\(i)", guest: guest))) }
            for id in ids { try await fx.waitFor(id) { $0.state == .install } }
            for host in hosts {
                var uploads: [String] = []
                for id in ids {
                    for line in log(fx, id).split(separator: "\n")
                    where line.contains("uploading ") && line.contains(" at \(host.tcpURI) as vmi-media-") {
                        uploads.append(String(line))
                    }
                }
                #expect(uploads.count == 1, "\(host.tcpURI): \(uploads)")
                #expect(try await volumes(on: host.tcpURI, fx).filter { $0.hasPrefix("vmi-media-") }.count == 1)
            }
            for id in ids {
                #expect(try await fx.jobs(["--cancel", id.description]).code == 0)
                _ = try await fx.waitForEnd(id)
                #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            }
            for host in hosts {
                #expect(try await volumes(on: host.tcpURI, fx).filter { $0.hasPrefix("vmi") }.isEmpty, "\(host.tcpURI)")
            }
        }
    }

    /// --screenshot, --log, --cancel, --detach and --delete each act on the job's own host,
    /// which --status --json, --watch and the log name.
    @Test func requestsActOnTheJobsHost() async throws {
        try await withHosts(2) { fx, hosts in
            try writeHosts(fx, [(hosts[0], 1024), (hosts[1], 1024)])
            let endless = try await Guest.endless.guest()
            let quick = try await Guest.quick.guest()
            let watcher = try await fx.watch()
            let held = try await submit(fx, placedArguments(fx, name: "held", guest: endless, extra: ["--vnc"]))
            try await fx.waitFor(held) { $0.state == .install }
            let kept = try await submit(fx, placedArguments(fx, name: "kept", guest: quick))
            let gone = try await submit(fx, placedArguments(fx, name: "gone", guest: quick))
            for id in [kept, gone] { #expect(try await fx.waitForEnd(id).state == .finished) }
            let host = { (id: JobID) throws -> LibvirtHost in
                let uri = try fx.store.read(id).host
                return try #require(hosts.first { $0.tcpURI == uri }, "job \(id) on \(uri ?? "no host")")
            }
            let heldHost = try host(held)
            #expect(try host(kept).tcpURI != heldHost.tcpURI, "the second job goes where there is more room")
            try await watcher.waitForLine("line naming job \(held)'s host") {
                $0["id"] as? Int == Int(held.value) && $0["host"] as? String == heldHost.tcpURI
            }
            _ = try await watcher.stop()

            let png = "\(fx.root)/held.png"
            let shot = try await fx.jobs(["--screenshot", held.description, png])
            #expect(shot.code == 0, "\(shot.stderr)")
            #expect(try FileIO.read(png).prefix(4) == [0x89, 0x50, 0x4E, 0x47])
            let status = try await fx.jobs(["--status", held.description, "--json"])
            #expect(status.stdout.contains("\"host\" : \"\(heldHost.tcpURI)\""), "\(status.stdout)")
            #expect(try await fx.jobs(["--log", held.description]).stdout.contains("placed on \(heldHost.tcpURI)"))

            #expect(try await fx.jobs(["--cancel", held.description]).code == 0)
            _ = try await fx.waitForEnd(held)
            #expect(try await !ourDomains(on: heldHost.tcpURI, fx).contains(fx.domainName("held")))

            let keptHost = try host(kept)
            #expect(try await fx.jobs(["--detach", kept.description]).code == 0)
            #expect(try await ourDomains(on: keptHost.tcpURI, fx, running: true).contains(fx.domainName("kept")))
            _ = try await fx.virsh(["destroy", fx.domainName("kept")], uri: keptHost.tcpURI)
            _ = try await fx.virsh(["undefine", fx.domainName("kept"), "--remove-all-storage"], uri: keptHost.tcpURI)

            let goneHost = try host(gone)
            #expect(try await ourDomains(on: goneHost.tcpURI, fx).contains(fx.domainName("gone")))
            #expect(try await fx.jobs(["--delete", gone.description]).code == 0)
            #expect(try await !ourDomains(on: goneHost.tcpURI, fx).contains(fx.domainName("gone")))
        }
    }

    /// A whole job over qemu+ssh and one over qemu+tcp.
    @Test func sshAndTCPEachCarryAWholeJob() async throws {
        try await withHosts(2) { fx, hosts in
            let guest = try await Guest.quick.guest()
            for (host, uri) in [(hosts[0], hosts[0].sshURI), (hosts[1], hosts[1].tcpURI)] {
                let name = uri.hasPrefix("qemu+ssh") ? "over-ssh" : "over-tcp"
                let r = try await fx.vmInstall([
                    "--name", fx.domainName(name), "--source", guest.iso, "--disk", "pool=default,size=16M",
                    "--memory", "64", "--accel", "tcg", "--settle", "0.5", "--connect", uri,
                ])
                #expect(r.code == 0, "\(uri): \(r.stderr)")
                #expect(try await ourDomains(on: host.tcpURI, fx, running: true).contains(fx.domainName(name)))
                let id = try #require(try fx.store.listIDs().last)
                #expect(try fx.store.read(id).host == uri)
                #expect(try await fx.jobs(["--delete", id.description]).code == 0)
                #expect(try await !ourDomains(on: host.tcpURI, fx).contains(fx.domainName(name)))
            }
        }
    }
}
