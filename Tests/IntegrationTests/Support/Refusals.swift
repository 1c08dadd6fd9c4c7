import Testing
import VMInstallKit

/// A refusal before the job exists: the exit code, one line holding all of `words`, no job,
/// and no sign of a later phase or of QEMU's own error.
func expectRefusal(
    _ result: ToolResult, _ code: JobExitCode, _ words: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.code == code.rawValue, "\(result.stderr)", sourceLocation: sourceLocation)
    let failures = result.stderr.split(separator: "\n").filter { $0.hasPrefix("vm-install: ") }
    #expect(
        failures.count == 1 && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)",
        sourceLocation: sourceLocation)
    #expect(
        !result.stderr.contains("vm-install: job "), "no job for a refusal: \(result.stderr)",
        sourceLocation: sourceLocation)
    for word in words {
        #expect(
            failures.first?.contains(word) == true, "'\(word)' not in: \(result.stderr)", sourceLocation: sourceLocation
        )
    }
    #expect(
        !result.stderr.contains("PREP_INSTALL") && !result.stderr.contains("QEMU refused"), "\(result.stderr)",
        sourceLocation: sourceLocation)
}

extension OrdinaryUser {
    /// vm-install as this user, in the foreground and then with --background: the foreground
    /// refuses before the job exists (`expectRefusal`), and --background refuses alike, with
    /// the same line and exit status; neither prints a job id, and `stateDirectory` (the
    /// user's default one unless given) holds no job. Returns the foreground's result.
    @discardableResult
    func expectRefusedAlike(
        _ arguments: [String], _ code: JobExitCode, _ words: [String], environment: [String: String] = [:],
        stateDirectory: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> ToolResult {
        let foreground = try await vmInstall(arguments, environment: environment)
        let background = try await vmInstall(arguments + ["--background"], environment: environment)
        expectRefusal(foreground, code, words, sourceLocation: sourceLocation)
        #expect(
            background.code == foreground.code, "--background exits \(background.code): \(background.stderr)",
            sourceLocation: sourceLocation)
        #expect(
            background.stderr == foreground.stderr,
            "--background says \(background.stderr), the foreground \(foreground.stderr)",
            sourceLocation: sourceLocation)
        #expect(
            foreground.stdout.isEmpty && background.stdout.isEmpty, "no job id: \(background.stdout)",
            sourceLocation: sourceLocation)
        let store = JobStore(root: stateDirectory ?? defaultStateDir)
        #expect(try store.listIDs().isEmpty, "no job in \(store.root)", sourceLocation: sourceLocation)
        return foreground
    }
}
