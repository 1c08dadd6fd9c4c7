import ArgumentParser
import Glibc
import VMInstallKit

/// Runs a command the way both tools want it run: one line on stderr for any failure, and
/// the exit codes of their manuals (2 for any command-line error, which argument-parser
/// would report as 64).
enum CommandMain {
    static func exit(_ code: Int32) -> Never {
        fflush(nil)
        Glibc.exit(code)
    }

    static func fail(_ tool: String, _ message: String, code: Int32) -> Never {
        fflush(nil)
        FileDescriptorOutput.standardError("\(tool): \(message)\n")
        exit(code)
    }

    /// Parses arguments; on a parse error, help or version, prints and exits.
    static func parse<C: ParsableCommand>(_ command: C.Type, _ arguments: [String], usageCode: Int32) -> C {
        do {
            return try command.parse(arguments)
        } catch {
            let code = command.exitCode(for: error)
            let message = command.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            FileDescriptorOutput.standardError(message + "\n")
            exit(usageCode)
        }
    }
}

/// Unbuffered output: a watcher's line must leave the moment it is made.
enum FileDescriptorOutput {
    static func standardError(_ text: String) {
        write(2, text)
    }

    static func standardOutput(_ text: String) {
        write(1, text)
    }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
