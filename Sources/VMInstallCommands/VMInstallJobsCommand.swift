import ArgumentParser
import VMInstallKit

/// vm-install-jobs: the manual's five actions on background jobs, and ways to watch them.
/// Exactly one action per call.
public struct VMInstallJobsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm-install-jobs",
        abstract: "Query and manage VM creation jobs started by vm-install --background.",
        discussion: """
            Job states: 0 SETTINGS, 1 PREP_INSTALL, 2 INSTALL, 3 POST_INSTALL, 4 RUNTIME_CONF, \
            5 RUNTIME, 6 FINISHED, 7 FAILED, 8 CANCELED.

            Exit status: 0 success, 1 request failed, 2 usage error, 3 no such job, 4 wrong state \
            (also: no VM running for --screenshot), 5 damaged job; with --wait also 6 job failed, \
            7 job canceled, 8 timed out, 9 job finished without reaching the --until state; \
            with --screenshot 10 the VM has no screen. See vm-install-jobs(8).

            Examples:
              vm-install-jobs --wait 7 --timeout 3600 && echo installed
              vm-install-jobs --watch | jq -c 'select(.event == "state")'
              vm-install-jobs --screenshot 7 /tmp/installer.png
            """,
        version: VMInstallVersion.string)

    @Flag(help: "List all job ids, one per line.")
    var list = false

    @Option(
        name: .customLong("status"), parsing: .unconditional,
        help: ArgumentHelp("Print the job's status as key=value lines.", valueName: "id"))
    var statusID: String?

    @Option(
        name: .customLong("cancel"), parsing: .unconditional,
        help: ArgumentHelp("Cancel an unfinished job (states 0-5).", valueName: "id"))
    var cancelID: String?

    @Option(
        name: .customLong("delete"), parsing: .unconditional,
        help: ArgumentHelp("Delete an ended job (states 6-8) with the VM and the disks it created.", valueName: "id"))
    var deleteID: String?

    @Option(
        name: .customLong("detach"), parsing: .unconditional,
        help: ArgumentHelp("Forget a FINISHED job; the VM and its disks stay.", valueName: "id"))
    var detachID: String?

    @Option(
        name: .customLong("wait"), parsing: .unconditional,
        help: ArgumentHelp("Block until the job ends (or reaches --until), then print its status.", valueName: "id"))
    var waitID: String?

    @Flag(
        help:
            "Follow jobs as they change: a live table on a terminal, JSON lines otherwise. Give a job id to follow one job."
    )
    var watch = false

    @Option(
        name: .customLong("log"), parsing: .unconditional, help: ArgumentHelp("Print the job's log.", valueName: "id"))
    var logID: String?

    @Option(
        name: .customLong("screenshot"), parsing: .unconditional,
        help: ArgumentHelp(
            "Write a PNG of the screen of the job's running VM (install or installed VM) to the file given after the id, or to NAME-YYYYMMDD-HHMMSS.png here, and print its path.",
            valueName: "id"))
    var screenshotID: String?

    @Argument(
        help: ArgumentHelp(
            "With --watch: the one job to follow. With --screenshot ID: the PNG file to write (or a directory for it).",
            valueName: "id|file"))
    var operand: String?

    @Flag(help: "With --status, --list or --wait: print JSON.")
    var json = false

    @Option(help: ArgumentHelp("With --wait: give up after this many seconds.", valueName: "seconds"))
    var timeout: Double?

    @Option(
        help: ArgumentHelp(
            "With --wait: the state to wait for, by name or number (default: the job's end).", valueName: "state"))
    var until: JobState?

    @Flag(help: "With --log: keep printing until the job has ended.")
    var follow = false

    @Option(
        help: ArgumentHelp(
            "State directory (default: $VM_INSTALL_STATE_DIR, /var/lib/vm-install for root, else ~/.local/state/vm-install).",
            valueName: "dir"))
    var stateDir: String?

    public init() {}

    enum Action {
        case list
        case status(JobID)
        case cancel(JobID)
        case delete(JobID)
        case detach(JobID)
        case wait(JobID)
        case watch(JobID?)
        case log(JobID)
        case screenshot(JobID, file: String?)
    }

    func action() throws -> Action {
        let given =
            [statusID, cancelID, deleteID, detachID, waitID, logID, screenshotID].compactMap { $0 }.count
            + (list ? 1 : 0) + (watch ? 1 : 0)
        guard given == 1 else {
            throw ValidationError(
                "give exactly one of --list, --status ID, --cancel ID, --delete ID, --detach ID, --wait ID, --watch [ID], --log ID, --screenshot ID [FILE]"
            )
        }
        func id(_ text: String) throws -> JobID {
            guard let id = JobID(parsing: text) else {
                throw ValidationError(
                    "'\(text)' is not a job id: job ids are positive whole numbers, as --list prints them")
            }
            return id
        }
        let action: Action
        if list {
            action = .list
        } else if let statusID {
            action = .status(try id(statusID))
        } else if let cancelID {
            action = .cancel(try id(cancelID))
        } else if let deleteID {
            action = .delete(try id(deleteID))
        } else if let detachID {
            action = .detach(try id(detachID))
        } else if let waitID {
            action = .wait(try id(waitID))
        } else if let logID {
            action = .log(try id(logID))
        } else if let screenshotID {
            action = .screenshot(try id(screenshotID), file: operand)
        } else {
            action = .watch(try operand.map(id))
        }

        if operand != nil, !watch, screenshotID == nil {
            throw ValidationError("a bare job id goes only with --watch; use --status ID and the like")
        }
        if case .screenshot(_, let file?) = action, file.isEmpty || file.contains("\0") {
            throw ValidationError("--screenshot ID FILE: give the name of the PNG file to write, or leave FILE out")
        }
        switch action {
        case .status, .list, .wait: break
        default: if json { throw ValidationError("--json goes with --status, --list or --wait") }
        }
        if case .wait = action {
        } else if timeout != nil || until != nil {
            throw ValidationError("--timeout and --until go with --wait")
        }
        if case .log = action {} else if follow { throw ValidationError("--follow goes with --log") }
        if let timeout, !(timeout >= 0 && timeout.isFinite) {
            throw ValidationError("--timeout: give seconds, 0 or more")
        }
        return action
    }

    public func validate() throws {
        _ = try action()
    }

    /// Runs the action; returns the exit code for actions that report one of their own.
    public func execute() throws -> JobsToolExitCode {
        let store = JobStore(StateDirectory.locate(option: stateDir))
        let control = JobControl(store: store)
        switch try action() {
        case .list where json:
            var reports: [JobReport] = []
            for id in try store.listIDs() { if let report = try? control.report(id) { reports.append(report) } }
            FileDescriptorOutput.standardOutput(JobReport.json(JobList(jobs: reports), pretty: true) + "\n")
        case .list:
            try JobsFastPath.run(.list(stateDir: stateDir))
        case .status(let id):
            JobsOutput.status(try control.status(id), json: json, control: control)
        case .cancel(let id):
            try control.cancel(id)
        case .delete(let id):
            try control.delete(id)
        case .detach(let id):
            try control.detach(id)
        case .wait(let id):
            return try JobsWait.run(id, until: until, timeout: timeout, json: json, control: control)
        case .watch(let id):
            try JobsWatch.run(id, control: control)
        case .log(let id):
            try JobsLog.run(id, follow: follow, control: control)
        case .screenshot(let id, let file):
            FileDescriptorOutput.standardOutput(try control.screenshot(id, to: file) + "\n")
        }
        return .success
    }

    struct JobList: Encodable {
        let jobs: [JobReport]
    }

    /// Entry point of the vm-install-jobs executable.
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        do {
            if let request = JobsFastPath.match(arguments) {
                try JobsFastPath.run(request)
                CommandMain.exit(0)
            }
            let command = CommandMain.parse(Self.self, arguments, usageCode: JobsToolExitCode.usage.rawValue)
            CommandMain.exit(try command.execute().rawValue)
        } catch let error as VMInstallError {
            CommandMain.fail("vm-install-jobs", error.message, code: JobsToolExitCode(for: error.kind).rawValue)
        } catch {
            CommandMain.fail("vm-install-jobs", "\(error)", code: JobsToolExitCode.requestFailed.rawValue)
        }
    }
}

extension JobState: ExpressibleByArgument {
    /// A state by number or by name, in any case: 6, FINISHED, finished.
    public init?(argument: String) {
        if let n = Int(argument), let state = JobState(rawValue: n) {
            self = state
        } else if let state = JobState.allCases.first(where: { $0.name == argument.uppercased() }) {
            self = state
        } else {
            return nil
        }
    }
}
