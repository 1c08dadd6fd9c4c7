import Glibc
import Testing
import VMInstallKit

/// `vm-install-jobs --screenshot` and the installer's last screen, with real QEMU (TCG).
@Suite(.serialized) struct ScreenTests {
    @Test func screenshotOfAFinishedJobsVM() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let id = try await fx.startJob(name: "shown", guest: guest, extra: ["--vnc"])
            #expect(try await fx.waitForEnd(id).state == .finished)
            #expect(await fx.serialShows("shown", Guest.runtimeMark))

            let file = "\(fx.root)/given.png"
            let given = try await fx.jobs(["--screenshot", id.description, file])
            #expect(given.code == 0, "\(given.stderr)")
            #expect(given.stdout == "\(file)\n")
            let size = try #require(pngSize(file), "not a PNG")
            #expect(size.width > 0 && size.height > 0)
            #expect([640, 720].contains(size.width), "\(size)")

            // Without FILE: NAME-YYYYMMDD-HHMMSS.png in the current directory, printed whole.
            let here = "\(fx.root)/cwd"
            #expect(mkdir(here, 0o700) == 0)
            let tool = "\(Fixture.buildDirectory)/vm-install-jobs"
            let generated = try await fx.run(
                "/usr/bin/env", ["-C", here, tool, "--state-dir", fx.stateDir, "--screenshot", id.description])
            #expect(generated.code == 0, "\(generated.stderr)")
            let printed = generated.stdout.trimmed
            let name = String(printed.dropFirst("\(here)/".count))
            #expect(
                printed.hasPrefix("\(here)/shown-") && name.count == "shown-20261125-145327.png".count, "\(printed)")
            #expect(name.hasSuffix(".png") && name.dropFirst(6).prefix(15).filter(\.isNumber).count == 14, "\(name)")
            #expect(try FileIO.listDirectory(here) == [name])
            #expect(pngSize(printed) != nil)
            // A directory as FILE takes the generated name.
            let into = try await fx.jobs(["--screenshot", id.description, here])
            #expect(into.code == 0 && into.stdout.hasPrefix("\(here)/shown-"), "\(into.stdout) \(into.stderr)")

            // A job that finished keeps no last screen.
            let json = try JSONSerializationFree.object(
                try await fx.jobs(["--status", id.description, "--json"]).stdout)
            #expect(json["last_screen"] is NSNullFree)
            #expect(!FileIO.exists(fx.store.paths(id).lastScreen))

            // A VM that no longer runs has no screen to take.
            try QEMUDriver().stopAll(files: fx.vmFiles("shown"), deadline: .after(seconds: 5))
            let stopped = try await fx.jobs(["--screenshot", id.description, "\(fx.root)/late.png"])
            #expect(stopped.code == JobsToolExitCode.wrongState.rawValue, "\(stopped.stderr)")
            #expect(stopped.stderr.contains("its VM is not running"))
            #expect(!FileIO.exists("\(fx.root)/late.png"))
        }
    }

    @Test func aVMWithoutAScreenIsOneClearLine() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let id = try await fx.startJob(name: "headless", guest: guest, extra: ["--graphics", "none"])
            #expect(try await fx.waitForEnd(id).state == .finished)
            #expect(QEMUDriver().isRunning(files: fx.vmFiles("headless")))
            let result = try await fx.jobs(["--screenshot", id.description, "\(fx.root)/none.png"])
            #expect(result.code == JobsToolExitCode.noScreen.rawValue, "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("has no screen"), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(!FileIO.exists("\(fx.root)/none.png"))
        }
    }

    /// Jobs recorded in states without a VM, jobs that do not exist, and malformed requests.
    @Test func refusals() async throws {
        try await Fixture.with { fx in
            for state in JobState.allCases where ![.install, .runtime, .finished].contains(state) {
                let id = try fx.recordJob(in: state, name: "s\(state.rawValue)")
                let result = try await fx.jobs(["--screenshot", id.description, "\(fx.root)/x.png"])
                #expect(result.code == JobsToolExitCode.wrongState.rawValue, "\(state): \(result.stderr)")
                #expect(result.stderr.contains("state \(state)"), "\(result.stderr)")
            }
            // In a state with a VM, but none was ever started (the record names no VM).
            let finished = try fx.recordJob(in: .finished, name: "novm")
            #expect(
                try await fx.jobs(["--screenshot", finished.description]).code == JobsToolExitCode.wrongState.rawValue)
            #expect(try await fx.jobs(["--screenshot", "99"]).code == JobsToolExitCode.noSuchJob.rawValue)
            #expect(!FileIO.exists("\(fx.root)/x.png"))
            for bad in [
                ["--screenshot", "1", ""], ["--screenshot", "x"], ["--screenshot"], ["--screenshot", "1", "--json"],
                ["--screenshot", "1", "a.png", "b.png"], ["--screenshot", "1", "--list"],
            ] {
                let result = try await fx.jobs(bad)
                #expect(result.code == JobsToolExitCode.usage.rawValue, "\(bad): \(result.stderr)")
            }
            let bare = try await fx.jobs(["--status", "1", "a.png"])
            #expect(bare.code == JobsToolExitCode.usage.rawValue)
            #expect(bare.stderr.contains("a bare job id goes only with --watch"))
        }
    }

    /// During INSTALL the runner holds the VM's QMP socket; the screenshot goes through the
    /// second one. A canceled install keeps its last screen.
    @Test func screenshotDuringInstallAndTheLastScreenOfACancel() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let id = try await fx.startJob(name: "installing", guest: guest, extra: ["--vnc"])
            try await fx.waitFor(id) { _ in fileContains(fx.vmFiles("installing").serialLog, "INSTALLER START") }
            #expect(try fx.store.read(id).state == .install)
            let file = "\(fx.root)/during.png"
            let shot = try await fx.jobs(["--screenshot", id.description, file])
            #expect(shot.code == 0, "\(shot.stderr)")
            #expect(pngSize(file) != nil)
            #expect(try fx.store.read(id).state == .install, "the screenshot disturbed the install")

            #expect(try await fx.jobs(["--cancel", id.description]).code == 0)
            #expect(try await fx.waitForEnd(id).state == .canceled)
            let kept = fx.store.paths(id).lastScreen
            let size = try #require(pngSize(kept), "no last screen")
            #expect(size.width > 0 && size.height > 0)
            #expect(fileContains(fx.store.paths(id).log, "last screen: \(kept)"))
            let json = try JSONSerializationFree.object(
                try await fx.jobs(["--status", id.description, "--json"]).stdout)
            #expect(json["last_screen"] as? String == kept)
            // The plain status keeps exactly the manual's keys.
            let keys = try await fx.jobs(["--status", id.description]).keys
            #expect(Set(keys.keys) == ["exit", "id", "inotify", "log", "state", "uuid", "vnc"])
            #expect(!QEMUDriver().isRunning(files: fx.vmFiles("installing")))
        }
    }
}
