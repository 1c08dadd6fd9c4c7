import Glibc

/// Looks at /proc for the processes of a session.
enum ProcessTable {
    /// Live (non-zombie) processes whose session id is `sid`.
    static func sessionMembers(_ sid: pid_t) -> [pid_t] {
        var members: [pid_t] = []
        for entry in (try? FileIO.listDirectory("/proc")) ?? [] {
            guard let pid = pid_t(entry), let text = try? FileIO.readString("/proc/\(pid)/stat", limit: 4096),
                let close = text.lastIndex(of: ")")
            else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 3, fields[0] != "Z", fields[0] != "X", pid_t(fields[3]) == sid else { continue }
            members.append(pid)
        }
        return members
    }

    /// Waits until no live process is left in the session of a dead session leader (the
    /// background runner is one), and kills what is left at the deadline. Linux does not give
    /// a pid to a new process while a session still carries it, so with the leader gone the
    /// members are the dead runner's; a live process with that pid means the pid was reused
    /// after the session ended, and nothing is touched.
    static func waitForSessionToEnd(_ sid: pid_t, deadline: Deadline) {
        if let leader = ProcStat.read(sid), !leader.isZombie { return }
        while !sessionMembers(sid).isEmpty {
            if deadline.hasPassed {
                for pid in sessionMembers(sid) { kill(pid, SIGKILL) }
                return
            }
            usleep(20_000)
        }
    }
}
