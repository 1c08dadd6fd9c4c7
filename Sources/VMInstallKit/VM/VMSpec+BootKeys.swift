/// The command line's own sense of --boot-keys, --boot-wait, --boot-wait-for,
/// --boot-key-interval, --serve and the placeholders of --extra-args: usage errors (exit
/// status 2) before the job exists.
extension VMSpec {
    public static let bootKeyIntervalRange = 1.0...10_000
    public static let defaultBootWaitSeconds = 10.0

    /// The boot wait in force: --boot-wait, else 10 s, or none when typing waits for text.
    public var effectiveBootWaitSeconds: Double {
        bootWaitSeconds ?? (bootWaitFor != nil ? 0 : Self.defaultBootWaitSeconds)
    }

    /// The servers the placeholders of --boot-keys and --extra-args name.
    func templateServers() throws(VMInstallError) -> Set<InstallTemplate.Server> {
        var servers = Set<InstallTemplate.Server>()
        for (option, text) in [("--boot-keys", bootKeys), ("--extra-args", kernelArguments)] {
            guard let text else { continue }
            do { servers.formUnion(try InstallTemplate.servers(in: text)) } catch {
                throw VMInstallError(.usage, "\(option): \(error.message)")
            }
        }
        return servers
    }

    /// The answer server runs: --serve, a placeholder for it, or an --autoinstall file that
    /// the installer must fetch (media booting their own loader, driven with --boot-keys).
    func needsAnswerServer(bootsOwnLoader: Bool) throws(VMInstallError) -> Bool {
        let named = try templateServers()
        return serve != nil || named.contains(.http) || answerFileIsFetched(bootsOwnLoader: bootsOwnLoader)
    }

    /// --autoinstall for media that boot their own loader, with --boot-keys to type the
    /// installer's arguments: the file is served over HTTP, not put on an OEMDRV CD-ROM.
    func answerFileIsFetched(bootsOwnLoader: Bool) -> Bool {
        autoinstall != nil && bootKeys != nil && bootsOwnLoader
    }

    func validateBootKeys() throws(VMInstallError) {
        _ = try templateServers()
        if importDisk, bootKeys != nil || serve != nil {
            throw VMInstallError(
                .usage,
                "--\(bootKeys != nil ? "boot-keys" : "serve") is for an installer; --import has no install phase")
        }
        if let bootKeys {
            let expanded = try InstallTemplate.expand(bootKeys) { _, part in
                part == "ip" ? "10.0.2.2" : part == "port" ? "65535" : "10.0.2.2:65535"
            }
            do { _ = try BootKeys(parsing: expanded) } catch {
                throw VMInstallError(.usage, "--boot-keys: \(error.message)")
            }
        }
        if bootKeys == nil, bootWaitSeconds != nil || bootWaitFor != nil {
            throw VMInstallError(
                .usage, "--\(bootWaitFor != nil ? "boot-wait-for" : "boot-wait") goes with --boot-keys")
        }
        if let wait = bootWaitSeconds, !(wait >= 0 && wait <= 3600) {
            throw VMInstallError(.usage, "--boot-wait \(wait): give seconds between 0 and 3600")
        }
        if let text = bootWaitFor, text.isEmpty || text.contains(where: \.isNewline) || text.contains("\0") {
            throw VMInstallError(.usage, "--boot-wait-for: give the text of one line")
        }
        guard Self.bootKeyIntervalRange.contains(bootKeyIntervalMilliseconds) else {
            throw VMInstallError(
                .usage,
                "--boot-key-interval \(bootKeyIntervalMilliseconds): give milliseconds between 1 and 10000")
        }
        if let serve, serve.isEmpty || serve.contains("\0") || serve.contains("\n") {
            throw VMInstallError(.usage, "--serve takes a directory")
        }
    }
}
