import Glibc

/// Types --boot-keys into the install VM's console once it runs: after the boot wait (and,
/// with --boot-wait-for, once its serial console has shown the text), one key press every
/// --boot-key-interval milliseconds, through the session (QMP's send-key, libvirt's
/// virDomainSendKey). Every pause watches the VM, so an install that ends or is canceled
/// while keys are typed ends at once. The text is never logged: only a summary of its
/// special keys and counts of plain characters.
struct BootTyping {
    let keys: BootKeys
    let waitSeconds: Double
    let waitFor: String?
    let intervalMilliseconds: Double
    let serialLog: String
    let log: JobLog

    /// What --boot-keys asks to type, with the placeholders filled in; nil without it.
    static func forInstall(_ spec: VMSpec, services: InstallServices?, serialLog: String, log: JobLog)
        throws(VMInstallError) -> BootTyping?
    {
        guard let text = spec.bootKeys else { return nil }
        let keys: BootKeys
        do { keys = try BootKeys(parsing: try services?.expand(text) ?? text) } catch let error as BootKeys.Failure {
            throw VMInstallError(.usage, "--boot-keys: \(error.message)")
        } catch let error as VMInstallError { throw error } catch { throw VMInstallError(.internal, "\(error)") }
        return BootTyping(
            keys: keys, waitSeconds: spec.effectiveBootWaitSeconds, waitFor: spec.bootWaitFor,
            intervalMilliseconds: spec.bootKeyIntervalMilliseconds, serialLog: serialLog, log: log)
    }

    /// How long each key is held down: a fifth of the interval, at most 20 ms.
    var holdMilliseconds: Int { max(1, min(Int(intervalMilliseconds / 5), 20)) }

    /// The pause after pressing `keys` keys together: the interval, but at least the time the
    /// hypervisor takes to play them. QEMU queues a press of n keys as n presses and n releases
    /// each followed by the hold time, behind the keys sent before; keys sent faster than that
    /// pile up in its input queue, which drops events past 50 (a lost Shift release leaves Shift
    /// held: "a" arrives as "A", "1" as "!").
    func pauseMilliseconds(keys: Int) -> Double {
        max(intervalMilliseconds, Double((2 * keys + 1) * holdMilliseconds))
    }

    /// Types the keys; nil once they are typed, or how the VM ended meanwhile.
    func run(_ session: any VMSession, cancel: CancelSignal, deadline: Deadline) throws(VMInstallError) -> VMEnd? {
        let serialStart = Self.size(of: serialLog)
        if waitSeconds > 0 {
            log.write("boot keys: waiting \(Self.seconds(waitSeconds)) s (--boot-wait)")
            if let end = pause(session, seconds: waitSeconds, cancel: cancel, deadline: deadline) { return end }
        }
        if let waitFor {
            log.write("boot keys: waiting for the serial console to show the --boot-wait-for text")
            while !Self.file(serialLog, from: serialStart, contains: waitFor) {
                if let end = pause(session, seconds: 0.2, cancel: cancel, deadline: deadline) { return end }
            }
        }
        log.write(
            "boot keys: typing \(keys.summary) (\(keys.pressCount) key presses, \(Self.seconds(intervalMilliseconds)) ms apart)"
        )
        let start = Deadline.now()
        for step in keys.steps {
            switch step {
            case .wait(let seconds):
                if let end = pause(session, seconds: seconds, cancel: cancel, deadline: deadline) { return end }
            case .press(let combination):
                try session.sendKeys(combination.map(\.code), holdMilliseconds: holdMilliseconds)
                let wait = pauseMilliseconds(keys: combination.count) / 1000
                if let end = pause(session, seconds: wait, cancel: cancel, deadline: deadline) {
                    return end
                }
            }
        }
        let took = Double(Deadline.now() - start) / 1e9
        log.write(
            "boot keys: typed \(keys.pressCount) key presses (\(keys.characterCount) characters) in \(Self.seconds(took)) s"
        )
        return nil
    }

    /// Waits, watching the VM; nil when the time passed with the VM still running.
    private func pause(_ session: any VMSession, seconds: Double, cancel: CancelSignal, deadline: Deadline) -> VMEnd? {
        let step = Deadline.after(seconds: seconds)
        let end = session.waitForEnd(
            cancel: cancel, deadline: step.nanoseconds < deadline.nanoseconds ? step : deadline)
        guard end == .timedOut else { return end }
        return deadline.hasPassed ? .timedOut : nil
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() && value < 1e9 ? String(Int(value)) : String((value * 100).rounded() / 100)
    }

    static func size(of path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Whether the file shows `text` past `offset` (the last 64 KiB of it at most).
    static func file(_ path: String, from offset: Int, contains text: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        let start = max(offset, Int(st.st_size) - 65536)
        let length = Int(st.st_size) - start
        guard length > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: length)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(start)) }
        guard n > 0 else { return false }
        return buffer[0..<n].firstRange(of: Array(text.utf8)) != nil
    }
}
