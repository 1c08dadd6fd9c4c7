import Subprocess
import SystemPackage

/// A short-lived helper program run to its end with its output collected (qemu-img, and
/// QEMU's daemonizing parent, which exits once the VM is up).
struct CommandResult: Sendable {
    let exitCode: Int32?
    let standardOutput: String
    let standardError: String

    var succeeded: Bool { exitCode == 0 }

    /// The last non-empty line of stderr, which is where QEMU tools say what went wrong.
    var errorSummary: String {
        let lines = standardError.split(separator: "\n").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        if let last = lines.last { return String(last) }
        return exitCode.map { "exit status \($0)" } ?? "killed by a signal"
    }

    /// Runs with stderr on this process's stderr: for a helper that draws its own progress
    /// for a person at the terminal (its error text is not collected then).
    static func runShowingProgress(_ program: String, _ arguments: [String]) async throws -> CommandResult {
        let result = try await Subprocess.run(
            executable(program), arguments: Arguments(arguments), output: .discarded, error: .currentStandardError)
        var code: Int32?
        if case .exited(let c) = result.terminationStatus { code = Int32(c) }
        return CommandResult(exitCode: code, standardOutput: "", standardError: "")
    }

    /// The program by its full path, found on $PATH here: by name, swift-subprocess tries to
    /// start it in every $PATH directory in turn, a failed process each (7 on a typical
    /// root PATH before /usr/bin).
    private static func executable(_ program: String) -> Executable {
        if program.hasPrefix("/") { return .path(FilePath(program)) }
        return Executables.find(program).map { .path(FilePath($0)) } ?? .name(program)
    }

    static func run(_ program: String, _ arguments: [String]) async throws -> CommandResult {
        let result = try await Subprocess.run(
            executable(program), arguments: Arguments(arguments),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        var code: Int32?
        if case .exited(let c) = result.terminationStatus { code = Int32(c) }
        return CommandResult(
            exitCode: code, standardOutput: result.standardOutput, standardError: result.standardError)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
