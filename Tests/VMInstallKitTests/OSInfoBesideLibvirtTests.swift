import Glibc
import Synchronization
import Testing

@testable import VMInstallKit

/// libosinfo's synchronous calls run a GLib main loop. With libvirt loaded in the same
/// process, libvirt's event loop thread iterates GLib's global default context; were
/// libosinfo's loop on that context too, the two threads would contend for it and a media
/// read could hang (seen in the suite: a runner's recognition stuck in g_main_loop_run).
@Suite struct OSInfoBesideLibvirtTests {
    @Test func mediaAreReadWhileLibvirtsEventLoopRuns() async throws {
        // A busy connection keeps libvirt's event loop at work (the test driver needs no daemon),
        // on a thread of its own: a loop that never yields would hold one of the tasks' threads.
        let connection = try LibvirtConnection("test:///default")
        let stop = StopFlag()
        let busy = Task {
            try await OffPool.run { while !stop.raised.load(ordering: .relaxed) { _ = try? connection.capabilities() } }
        }
        defer { stop.raised.store(true, ordering: .relaxed) }
        try await OSIndexTests.withDirectory { dir in
            try FileIO.makeDirectory("\(dir)/stage", mode: 0o755)
            try FileIO.writeAtomically("\(dir)/stage/boot.bin", bytes: [UInt8](repeating: 0, count: 2048))
            let iso = "\(dir)/fedora.iso"
            let made = try await CommandResult.run(
                "/usr/bin/xorriso",
                [
                    "-as", "mkisofs", "-quiet", "-V", "Fedora-S-dvd-x86_64-37", "-b", "boot.bin", "-no-emul-boot", "-o",
                    iso,
                    "\(dir)/stage",
                ])
            try #require(made.succeeded, "\(made.standardError)")
            // The answer must come each time; a hang would leave the loop below stuck.
            let reads = 100
            let found = try await OSInfoDatabase.with { db in
                (0..<reads).map { _ in OSIdentification(.media(iso), in: db).shortID }
            }
            #expect(found == Array(repeating: "fedora37", count: reads))
        }
        stop.raised.store(true, ordering: .relaxed)
        try await busy.value
    }
}

private final class StopFlag: Sendable {
    let raised = Atomic(false)
}
