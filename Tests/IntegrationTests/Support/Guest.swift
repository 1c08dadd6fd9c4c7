import Glibc
import Subprocess
import SystemPackage
import Testing
import VMInstallKit

/// The tiny test guests of guests/, assembled with nasm at test time: an installer ISO that
/// writes a boot sector to the first disk and powers off, and that boot sector, which prints
/// `VM-INSTALL RUNTIME OK` on the serial console when the VM boots from its disk.
struct Guest: Sendable {
    let iso: String

    static let runtimeMark = "VM-INSTALL RUNTIME OK"
    /// What the installer prints first, and what the held one prints when its key came.
    static let startMark = "VM-INSTALL INSTALLER START"
    static let goMark = "VM-INSTALL INSTALLER GO"

    /// Powers off right after writing the disk.
    static let quick = Build(flags: [])
    /// Waits in INSTALL, silent, until a key is pressed on its keyboard, then finishes like
    /// `quick`: a test holds the job in INSTALL for as long as it needs and lets it go on
    /// with `Fixture.release(_:)`.
    static let held = Build(flags: ["--wait-key"])
    /// Never finishes its install: for cancel tests.
    static let endless = Build(flags: ["--never-finish"])

    /// Builds each variant once per test process; concurrent tests share one build.
    actor Build {
        let flags: [String]
        private var building: Task<Guest, any Error>?

        init(flags: [String]) { self.flags = flags }

        func guest() async throws -> Guest {
            if building == nil {
                let flags = flags
                building = Task { try await Self.build(flags) }
            }
            return try await building!.value
        }

        private static func build(_ flags: [String]) async throws -> Guest {
            Guest.removeAtExit()
            let dir = "\(Guest.root)/\(flags.joined().filter { $0.isLetter || $0.isNumber })"
            let result = try await Subprocess.run(
                .path(FilePath("/bin/bash")),
                arguments: Arguments(["\(Fixture.repositoryRoot)/guests/build.sh", dir] + flags),
                output: .discarded, error: .string(limit: 1 << 16))
            try #require(result.terminationStatus.isSuccess, "guests/build.sh failed: \(result.standardError)")
            return Guest(iso: "\(dir)/install.iso")
        }
    }
}

extension Guest {
    /// Where this test process builds its guests; removed when the process exits.
    static let root = "/tmp/vmi-guests-\(getpid())"

    private static let cleanupRegistered: Bool = {
        atexit { try? FileIO.removeTree(Guest.root) }
        return true
    }()

    static func removeAtExit() { _ = cleanupRegistered }

    /// Reboots at the end of its install instead of powering off.
    static let rebooting = Build(flags: ["--reboot"])
}
