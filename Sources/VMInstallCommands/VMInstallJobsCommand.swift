import ArgumentParser
import VMInstallKit

/// vm-install-jobs: the manual's five actions on background jobs. Exactly one per call.
public struct VMInstallJobsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm-install-jobs",
        abstract: "Query and manage VM creation jobs started by vm-install --background.",
        discussion: """
            Job states: 0 SETTINGS, 1 PREP_INSTALL, 2 INSTALL, 3 POST_INSTALL, 4 RUNTIME_CONF,
            5 RUNTIME, 6 FINISHED, 7 FAILED, 8 CANCELED. Exit status: 0 success, 1 request failed,
            2 usage error, 3 no such job, 4 wrong state, 5 damaged job. See vm-install-jobs(8).
            """,
        version: VMInstallVersion.string)

    @Flag(help: "List all job ids, one per line.")
    var list = false

    @Option(name: .customLong("status"), parsing: .unconditional, help: ArgumentHelp("Print the job's status as key=value lines.", valueName: "id"))
    var statusID: String?

    @Option(name: .customLong("cancel"), parsing: .unconditional, help: ArgumentHelp("Cancel an unfinished job (states 0-5).", valueName: "id"))
    var cancelID: String?

    @Option(name: .customLong("delete"), parsing: .unconditional, help: ArgumentHelp("Delete an ended job (states 6-8) with the VM and the disks it created.", valueName: "id"))
    var deleteID: String?

    @Option(name: .customLong("detach"), parsing: .unconditional, help: ArgumentHelp("Forget a FINISHED job; the VM and its disks stay.", valueName: "id"))
    var detachID: String?

    @Option(help: ArgumentHelp("State directory (default: $VM_INSTALL_STATE_DIR, /var/lib/vm-install for root, else ~/.local/state/vm-install).", valueName: "dir"))
    var stateDir: String?

    public init() {}

    enum Action {
        case list
        case status(JobID)
        case cancel(JobID)
        case delete(JobID)
        case detach(JobID)
    }

    func action() throws -> Action {
        let given = [statusID, cancelID, deleteID, detachID].compactMap { $0 }.count + (list ? 1 : 0)
        guard given == 1 else {
            throw ValidationError("give exactly one of --list, --status ID, --cancel ID, --delete ID, --detach ID")
        }
        func id(_ text: String) throws -> JobID {
            guard let id = JobID(parsing: text) else {
                throw ValidationError("'\(text)' is not a job id: job ids are positive whole numbers, as --list prints them")
            }
            return id
        }
        if list { return .list }
        if let statusID { return .status(try id(statusID)) }
        if let cancelID { return .cancel(try id(cancelID)) }
        if let deleteID { return .delete(try id(deleteID)) }
        return .detach(try id(detachID!))
    }

    public func validate() throws {
        _ = try action()
    }

    public func run() throws {
        let store = JobStore(root: StateDirectory.resolve(option: stateDir))
        switch try action() {
        case .list:
            let ids = try store.listIDs()
            if !ids.isEmpty { print(ids.map(\.description).joined(separator: "\n")) }
        case .status(let id):
            print(try JobControl(store: store).status(id).lines.joined(separator: "\n"))
        case .cancel(let id):
            try JobControl(store: store).cancel(id)
        case .delete(let id):
            try JobControl(store: store).delete(id)
        case .detach(let id):
            try JobControl(store: store).detach(id)
        }
    }

    /// Entry point of the vm-install-jobs executable.
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let command = CommandMain.parse(Self.self, arguments, usageCode: JobsToolExitCode.usage.rawValue)
        do {
            try command.run()
        } catch let error as VMInstallError {
            CommandMain.fail("vm-install-jobs", error.message, code: JobsToolExitCode(for: error.kind).rawValue)
        } catch {
            CommandMain.fail("vm-install-jobs", "\(error)", code: JobsToolExitCode.requestFailed.rawValue)
        }
        CommandMain.exit(0)
    }
}
