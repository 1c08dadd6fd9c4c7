import Glibc
import VMInstallKit

/// `--watch [ID]`: on a terminal, a table redrawn on every change, on resize and once a
/// second (for the time in state); otherwise JSON lines, one per event. Ends on Ctrl-C.
enum JobsWatch {
    static func run(_ only: JobID?, control: JobControl) throws(VMInstallError) {
        let signals = try SignalPipe([SIGINT, SIGTERM, SIGHUP, SIGWINCH])
        let watch = try JobWatch(control: control, only: only)
        let terminal = isatty(1) == 1
        if terminal { FileDescriptorOutput.standardOutput("\u{1B}[?25l") }
        defer { if terminal { FileDescriptorOutput.standardOutput("\u{1B}[?25h\n") } }
        var changes = try watch.refresh()
        while true {
            if terminal {
                FileDescriptorOutput.standardOutput(table(watch.jobs, width: terminalWidth()))
            } else {
                for change in changes { FileDescriptorOutput.standardOutput(eventLine(change) + "\n") }
            }
            if let only, changes.contains(.removed(only)) { return }
            _ = waitReadable([watch.fd, signals.fd], until: terminal ? .after(seconds: 1) : .never)
            if signals.take().contains(where: { $0 != SIGWINCH }) { return }
            changes = try watch.refresh()
        }
    }

    struct Event: Encodable {
        let time: String
        let event: String
        let id: UInt64
        let state: Int?
        let stateName: String?
        let name: String?
        let exit: Int32?
        let vnc: String?
        let waiting: String?
        let host: String?

        enum CodingKeys: String, CodingKey {
            case time, event, id, state, name, exit, vnc, waiting, host
            case stateName = "state_name"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(time, forKey: .time)
            try c.encode(event, forKey: .event)
            try c.encode(id, forKey: .id)
            try c.encode(state, forKey: .state)
            try c.encode(stateName, forKey: .stateName)
            try c.encode(name, forKey: .name)
            try c.encode(exit, forKey: .exit)
            try c.encode(vnc, forKey: .vnc)
            try c.encode(waiting, forKey: .waiting)
            try c.encode(host, forKey: .host)
        }
    }

    static func eventLine(_ change: JobWatch.Change) -> String {
        let now = Timestamp.nowMilliseconds()
        func event(_ kind: String, _ job: JobWatch.Job) -> Event {
            Event(
                time: now, event: kind, id: job.status.id.value, state: job.status.state.rawValue,
                stateName: job.status.state.name, name: job.name, exit: job.status.exit, vnc: job.status.vnc,
                waiting: job.waiting, host: job.host)
        }
        let e: Event
        switch change {
        case .present(let job): e = event("present", job)
        case .created(let job): e = event("created", job)
        case .stateChanged(let job): e = event("state", job)
        case .waitingChanged(let job): e = event("waiting", job)
        case .removed(let id):
            e = Event(
                time: now, event: "removed", id: id.value, state: nil, stateName: nil, name: nil, exit: nil, vnc: nil,
                waiting: nil, host: nil)
        }
        return JobReport.json(e, pretty: false)
    }

    static func table(_ jobs: [JobID: JobWatch.Job], width: Int) -> String {
        let now = Int64(time(nil))
        var rows = [["ID", "NAME", "STATE", "IN STATE", "HOST", "VNC"]]
        for id in jobs.keys.sorted() {
            let job = jobs[id]!
            rows.append([
                id.description, job.name,
                "\(job.status.state.rawValue) \(job.status.state.name)" + (job.waiting == nil ? "" : " (waiting)"),
                elapsed(max(0, now.subtractingReportingOverflow(job.stateSince).partialValue)), job.host ?? "-",
                job.status.vnc ?? "-",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = "\u{1B}[H\u{1B}[2J"
        for row in rows {
            var line = zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(
                separator: "  ")
            while line.last == " " { line.removeLast() }
            out += String(line.prefix(max(width, 1))) + "\n"
        }
        if jobs.isEmpty { out += "(no jobs)\n" }
        return out
    }

    static func elapsed(_ seconds: Int64) -> String {
        let s = seconds % 60
        let m = (seconds / 60) % 60
        let h = seconds / 3600
        return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(m):\(two(s))"
    }

    private static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func terminalWidth() -> Int {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
