/// Fetches install files over http, https and ftp with curl(1), which speaks all three and
/// the proxies and certificates an administrator has set up.
enum Downloader {
    static let binary = "curl"

    /// True when the URL answers with a file (its first byte can be read).
    static func exists(_ url: String) async -> Bool {
        guard
            let result = try? await CommandResult.run(
                binary,
                [
                    "--fail", "--silent", "--location", "--max-time", "20", "--range", "0-0", "--output", "/dev/null",
                    "--", url,
                ])
        else { return false }
        return result.succeeded
    }

    /// A small text file's contents (a .treeinfo), or nil when it cannot be had.
    static func text(_ url: String) async -> String? {
        guard
            let result = try? await CommandResult.run(
                binary, ["--fail", "--silent", "--location", "--max-time", "20", "--max-filesize", "65536", "--", url]),
            result.succeeded
        else { return nil }
        return result.standardOutput
    }

    /// With `progress`, curl draws its progress bar on our stderr (a terminal).
    static func fetch(_ url: String, to path: String, progress: Bool) async throws(VMInstallError) {
        let result: CommandResult
        do {
            if progress {
                result = try await CommandResult.runShowingProgress(
                    binary, ["--fail", "--progress-bar", "--location", "--output", path, "--", url])
            } else {
                result = try await CommandResult.run(
                    binary, ["--fail", "--silent", "--show-error", "--location", "--output", path, "--", url])
            }
        } catch {
            throw VMInstallError(
                .host, "cannot run \(binary) to download \(url): \(error); install Debian's curl package")
        }
        guard result.succeeded else {
            throw VMInstallError(.settings, "cannot download \(url): \(result.errorSummary)")
        }
    }
}
