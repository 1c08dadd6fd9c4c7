import Glibc
import Testing
import VMInstallKit

/// What decides a host's room when no budget is configured, a host's install slots, and a
/// host that refuses a job before anything is made there, on real libvirt test hosts checked
/// with virsh.
extension LibvirtHostsTests {
    /// A domain that is not ours, running on a host, counts against that host's room: with no
    /// budget configured, each test host's room is its memory as libvirt reports it less the
    /// reserve and less what its other domains use. A VM that fits only beside the smaller use
    /// goes to the other host, and the log says why.
    @Test func anotherDomainsMemoryCountsAgainstItsHost() async throws {
        try await withHosts(2) { fx, hosts in
            try FileIO.writeAtomically("\(fx.root)/hosts", hosts.map { "lab \($0.tcpURI)\n" }.joined())
            // Most of the machine's memory, given to a domain of someone else's on the first host:
            // under TCG QEMU touches only what SeaBIOS uses of it.
            let node = try await fx.virsh(["nodememstats"], uri: hosts[0].tcpURI)
            let totalKiB = try #require(
                node.stdout.split(separator: "\n").first { $0.hasPrefix("total") }.flatMap {
                    Int($0.split(separator: " ").dropFirst(2).first ?? "")
                }, "\(node.stdout)")
            let bigMiB = totalKiB / 1024 - 4096
            let big = fx.domainName("big")
            let xml = try tinyDomain(big, in: fx, memoryMiB: bigMiB)
            try await withDomain(big, on: hosts, in: fx) {
                let defined = try await fx.virsh(["define", xml], uri: hosts[0].tcpURI)
                try #require(defined.code == 0, "\(defined.stderr)")
                let started = try await fx.virsh(["start", big], uri: hosts[0].tcpURI)
                try #require(started.code == 0, "\(started.stderr)")
                let guest = try await Guest.quick.guest()
                // 6 GiB: more than the first host has left beside the big domain (about 3 GiB).
                var arguments = placedArguments(fx, name: "roomy", guest: guest)
                arguments[arguments.firstIndex(of: "--memory")! + 1] = "6144"
                let id = try await submit(fx, arguments)
                let end = try await fx.waitForEnd(id)
                #expect(end.state == .finished, "\(end.error ?? "")")
                #expect(end.host == hosts[1].tcpURI)
                #expect(try await ourDomains(on: hosts[1].tcpURI, fx, running: true).contains(fx.domainName("roomy")))
                #expect(log(fx, id).contains("placed on \(hosts[1].tcpURI)"), "\(log(fx, id))")
                #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            }
        }
    }

    /// max-installs= of the hosts file is each host's own: with one slot on each of two hosts,
    /// two held installs run, one per host, and a third waits for a slot until one ends.
    @Test func eachHostHasItsOwnInstallSlots() async throws {
        try await withHosts(2) { fx, hosts in
            try FileIO.writeAtomically(
                "\(fx.root)/hosts", hosts.map { "lab \($0.tcpURI) memory-budget=1024 max-installs=1\n" }.joined())
            let held = try await Guest.held.guest()
            var ids: [JobID] = []
            for i in 0..<3 { ids.append(try await submit(fx, placedArguments(fx, name: "slot\(i)", guest: held))) }
            for id in ids.prefix(2) { try await fx.waitFor(id) { $0.state == .install } }
            let third = try await fx.waitFor(ids[2]) { $0.waiting != nil }
            #expect(third.waiting?.contains("for an install slot") == true, "\(third.waiting ?? "")")
            let first = try fx.store.read(ids[0]).host
            let second = try fx.store.read(ids[1]).host
            #expect(first != nil && second != nil && first != second, "one install on each host")
            #expect(try fx.store.read(ids[2]).state == .settings)
            // The first install ends: its host's slot goes to the third job.
            try await fx.releaseDomain(fx.domainName("slot0"), uri: try #require(first), job: ids[0])
            #expect(try await fx.waitForEnd(ids[0]).state == .finished)
            try await fx.waitFor(ids[2]) { $0.state == .install }
            #expect(try fx.store.read(ids[2]).host == first)
            for (id, name) in [(ids[1], "slot1"), (ids[2], "slot2")] {
                try await fx.releaseDomain(fx.domainName(name), uri: try #require(try fx.store.read(id).host), job: id)
                #expect(try await fx.waitForEnd(id).state == .finished)
            }
        }
    }

    /// The host with the most room already has a domain of the VM's name: it refuses the job
    /// before anything is made there, the job goes to the next host, the log says why, and the
    /// other domain is left as it was.
    @Test func aHostThatRefusesPassesTheJobOn() async throws {
        try await withHosts(2) { fx, hosts in
            try writeHosts(fx, [(hosts[0], 1024), (hosts[1], 512)])
            let name = fx.domainName("taken")
            let xml = try tinyDomain(name, in: fx)
            try await withDomain(name, on: hosts, in: fx) {
                let defined = try await fx.virsh(["define", xml], uri: hosts[0].tcpURI)
                try #require(defined.code == 0, "\(defined.stderr)")
                let before = try await fx.virsh(["dumpxml", name], uri: hosts[0].tcpURI)
                let guest = try await Guest.quick.guest()
                let id = try await submit(fx, placedArguments(fx, name: "taken", guest: guest))
                let end = try await fx.waitForEnd(id)
                #expect(end.state == .finished, "\(end.error ?? "")")
                #expect(end.host == hosts[1].tcpURI)
                let text = log(fx, id)
                #expect(
                    text.contains("host \(hosts[0].tcpURI) refused the job before anything was made there"), "\(text)")
                #expect(text.contains("already has a domain named \(name)"), "\(text)")
                let after = try await fx.virsh(["dumpxml", name], uri: hosts[0].tcpURI)
                #expect(after.code == 0 && after.stdout == before.stdout, "the other domain is as it was")
                #expect(try await fx.jobs(["--delete", id.description]).code == 0)
                #expect(try await fx.virsh(["dominfo", name], uri: hosts[0].tcpURI).code == 0)
                #expect(try await fx.virsh(["dominfo", name], uri: hosts[1].tcpURI).code != 0)
            }
        }
    }
}
