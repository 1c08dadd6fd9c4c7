import FoundationEssentials
import Glibc
import Testing
import VMInstallKit

extension RealSystem {
    /// A real Debian 12 with real cloud-init (scripts/debian-image.sh builds and caches the
    /// image), imported as a new qcow2 overlay and configured from vm-install's NoCloud seed.
    @Suite(.serialized) struct DebianCloudInitTests {
        static let name = "deb-ci"
        static let markPrefix = "VMI-CLOUD-INIT-MARK host="
        /// What the guest's shell prints once cloud-init has run the user-data: the host name
        /// comes from the seed's meta-data, 42 is the shell's own sum (the user-data only has
        /// the formula), and cloud-init's log has no error or traceback. Any warning lines of
        /// that log go to the console first, for the failure message.
        static let userData = """
            #cloud-config
            runcmd:
              - grep -E -A4 'Traceback|\\[ERROR\\]|WARNING' /var/log/cloud-init.log > /dev/ttyS0 || true
              - echo "\(markPrefix)$(hostname) sum=$((6 * 7)) errors=$(grep -c -E 'Traceback|\\[ERROR\\]' /var/log/cloud-init.log)" > /dev/ttyS0

            """

        @Test(.timeLimit(.minutes(40)))
        func cloudInitConfiguresAnImportedDebianImage() async throws {
            try await Fixture.with { fx in
                var timings: [String] = []
                defer { print("RealSystem Debian cloud-init timings: " + timings.joined(separator: ", ")) }

                let imageStart = ContinuousClock.now
                let built = try await fx.run("/bin/bash", ["\(Fixture.repositoryRoot)/scripts/debian-image.sh"])
                try #require(built.code == 0, "scripts/debian-image.sh failed:\n\(built.stderr)")
                let image = try #require(built.stdout.split(separator: "\n").last.map { String($0).trimmed })
                timings.append("image ready \(RealSystem.seconds(since: imageStart))")
                let imageHash = try await RealSystem.sha256(fx, image)

                let userData = "\(fx.root)/user-data"
                try FileIO.writeAtomically(userData, Self.userData)
                let disk = "\(fx.root)/\(Self.name).qcow2"
                let start = ContinuousClock.now
                let result = try await fx.vmInstall([
                    "--name", Self.name, "--import", "--disk", "\(disk),backing=\(image)", "--cloud-init",
                    "user-data=\(userData)",
                    "--accel", "tcg", "--memory", "1024", "--vnc", "--settle", "5", "--background",
                ])
                try #require(result.code == 0, "vm-install failed: \(result.stderr)")
                let id = try #require(JobID(parsing: result.stdout.trimmed))
                let record = try await fx.waitFor(id, seconds: 300) { $0.state.isTerminal }
                timings.append("vm-install → FINISHED \(RealSystem.seconds(since: start))")
                try #require(
                    record.state == .finished && record.exit == 0,
                    "job ended in \(record.state), exit \(String(describing: record.exit)): \(fileText(fx.store.paths(id).log))"
                )

                // Minutes under TCG: the kernel, systemd, then cloud-init's four stages.
                let serialLog = fx.vmFiles(Self.name).serialLog
                let mark = await serialLine(serialLog, startingWith: Self.markPrefix, seconds: 900)
                timings.append(
                    "vm-install → cloud-init mark \(mark == nil ? "none after " : "")\(RealSystem.seconds(since: start))"
                )
                try #require(
                    mark != nil,
                    "no cloud-init mark on the serial console; its end:\n\(fileText(serialLog).suffix(4000))")
                #expect(mark == "\(Self.markPrefix)\(Self.name) sum=42 errors=0", "\(fileText(serialLog).suffix(4000))")

                #expect(try await RealSystem.sha256(fx, image) == imageHash, "the backing image was written to")
                struct Info: Decodable {
                    let format: String
                    let backingFilename: String?
                    let backingFormat: String?
                    enum CodingKeys: String, CodingKey {
                        case format
                        case backingFilename = "backing-filename"
                        case backingFormat = "backing-filename-format"
                    }
                }
                let info = try await fx.run("/usr/bin/qemu-img", ["info", "--output=json", "--force-share", disk])
                let overlay = try JSONDecoder().decode(Info.self, from: Data(info.stdout.utf8))
                #expect(
                    overlay.format == "qcow2" && overlay.backingFilename == image && overlay.backingFormat == "qcow2",
                    "\(info.stdout)")

                // The VM's screen, through vm-install-jobs (the VM has one with --vnc).
                let png = "\(fx.root)/screen.png"
                let shot = try await fx.jobs(["--screenshot", id.description, png])
                #expect(
                    shot.code == 0 && shot.stdout.contains(png),
                    "vm-install-jobs --screenshot: \(shot.stdout) \(shot.stderr)")
                let size = pngSize((try? FileIO.read(png, limit: 64 << 20)) ?? [])
                #expect(
                    (size?.width ?? 0) > 0 && (size?.height ?? 0) > 0,
                    "\(png) is no PNG with a size: \(String(describing: size))")

                #expect(try await fx.jobs(["--delete", id.description]).code == 0)
                #expect(!FileIO.exists(disk), "the overlay the job created goes with it")
                #expect(try await RealSystem.sha256(fx, image) == imageHash, "the backing image stays as it was")
            }
        }

        /// The first whole line of the serial log that starts with `prefix` (the guest writes a
        /// line byte by byte), or nil when none is there in time.
        func serialLine(_ path: String, startingWith prefix: String, seconds: Double) async -> String? {
            let deadline = Deadline.after(seconds: seconds)
            while !deadline.hasPassed {
                let text = fileText(path)
                if let range = text.firstRange(of: prefix),
                    let end = text[range.lowerBound...].firstIndex(where: \.isNewline)
                {
                    return String(text[range.lowerBound..<end])
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return nil
        }

        func fileText(_ path: String) -> String { (try? FileIO.readString(path, limit: 16 << 20)) ?? "" }

        /// Width and height from a PNG's IHDR chunk, or nil when the bytes are not a PNG.
        func pngSize(_ bytes: [UInt8]) -> (width: UInt32, height: UInt32)? {
            guard bytes.count >= 24, bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
                Array(bytes[12..<16]) == Array("IHDR".utf8)
            else { return nil }
            func u32(_ i: Int) -> UInt32 { bytes[i..<(i + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
            return (u32(16), u32(20))
        }
    }
}
