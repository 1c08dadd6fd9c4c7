import Glibc
import Testing
import VMInstallKit

/// A file the command line names that exists but that an ordinary user cannot read (root's,
/// mode 0600, or behind a directory the user cannot search) is refused before the job
/// exists, in the foreground and with --background alike, as a missing file would be.
@Suite(.serialized, .enabled(if: OrdinaryUser.canBeMade, "needs root, useradd and runuser to make an ordinary user"))
struct OrdinaryUserUnreadableFileTests {
    @Test func filesTheUserCannotReadAreRefusedAlikeBeforeTheJob() async throws {
        try await Fixture.with { fx in
            try await OrdinaryUser.with(fx) { user in
                let guest = try await user.reach(try await Guest.quick.guest())
                chmod(fx.root, 0o755)
                // Root's own file, and a readable file in a directory only root may enter.
                let secret = "\(fx.root)/secret"
                try FileIO.writeAtomically(secret, "root's only\n")
                chmod(secret, 0o600)
                let hidden = "\(fx.root)/hidden"
                try FileIO.makeDirectory(hidden, mode: 0o700)
                let behind = "\(hidden)/file"
                try FileIO.writeAtomically(behind, "readable, but out of reach\n")
                chmod(behind, 0o644)
                try #require(try await user.run("/usr/bin/test", ["-e", secret]).code == 0)
                try #require(try await user.run("/usr/bin/test", ["-r", secret]).code != 0)

                var n = 0
                func refused(
                    _ source: [String]?, _ extra: [String], _ words: String,
                    sourceLocation: SourceLocation = #_sourceLocation
                ) async throws {
                    n += 1
                    var arguments = user.vmArguments(name: "u\(n)", guest: guest)
                    if let source {
                        let at = arguments.firstIndex(of: "--source")!
                        arguments.replaceSubrange(at...(at + 1), with: source)
                    }
                    try await user.expectRefusedAlike(
                        arguments + extra, .settings, [words], sourceLocation: sourceLocation)
                }

                for (file, why) in [
                    (secret, "is not readable by \(user.name)"), (behind, "is out of \(user.name)'s reach"),
                ] {
                    try await refused(
                        ["--source", file], [], "the install source \(file) is missing or unreadable")
                    try await refused(["--kernel", file], [], "--kernel \(file) is missing or unreadable")
                    try await refused(
                        ["--kernel", guest.iso, "--initrd", file], [], "--initrd \(file) is missing or unreadable")
                    try await refused(nil, ["--disk", "\(file),device=cdrom"], "disk \(file) \(why)")
                    try await refused(
                        nil, ["--cloud-init", "user-data=\(file)"],
                        "\(file) (--cloud-init or --autoinstall) is missing or unreadable")
                    try await refused(
                        nil, ["--autoinstall", file], "\(file) (--cloud-init or --autoinstall) is missing or unreadable"
                    )
                    try await refused(
                        nil, ["--os-type", "fedora37", "--unattended", "admin-password-file=\(file)"],
                        "--unattended admin-password-file=\(file): the file is missing or unreadable")
                    try await refused(
                        nil, ["--os-type", "fedora37", "--unattended", "user-password-file=\(file)"],
                        "--unattended user-password-file=\(file): the file is missing or unreadable")
                }
                // A directory to serve that the user cannot list: root's own, mode 0700.
                try await refused(
                    nil, ["--serve", hidden, "--boot-keys", "x"], "--serve \(hidden) cannot be read: Permission denied")
                #expect(try FileIO.listDirectory(user.home).allSatisfy { $0.hasPrefix(".") }, "no disk was made")
            }
        }
    }
}
