import Glibc
import Testing

/// Tests that boot real operating systems under TCG. They take minutes (and the first run
/// builds their images), so they run only with VMI_REAL_TESTS=1, as scripts/test-real.sh
/// sets it; `scripts/test.sh` skips them. Each suite of this folder nests in this one
/// (`extension RealSystem { @Suite struct … }`): the switch covers it and
/// `swift test --filter RealSystem` picks it.
@Suite(.enabled(if: realSystemTestsEnabled, "slow: runs with VMI_REAL_TESTS=1 (scripts/test-real.sh)"))
enum RealSystem {

    /// Seconds from `start` until now, for the timings the tests print.
    static func seconds(since start: ContinuousClock.Instant) -> String {
        let d = start.duration(to: .now).components
        return "\((Double(d.seconds * 10) + Double(d.attoseconds) / 1e17).rounded() / 10) s"
    }

    /// The sha256 of a file, as sha256sum prints it.
    static func sha256(_ fx: Fixture, _ path: String) async throws -> String {
        let result = try await fx.run("/usr/bin/sha256sum", [path])
        try #require(result.code == 0, "sha256sum \(path): \(result.stderr)")
        return String(result.stdout.prefix { $0 != " " })
    }
}

let realSystemTestsEnabled = getenv("VMI_REAL_TESTS").map { String(cString: $0) } == "1"
