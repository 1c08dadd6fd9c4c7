import VMInstallKit

/// Shared rendering of one job's status.
enum JobsOutput {
    static func status(_ status: JobStatus, json: Bool, control: JobControl) {
        if json, let report = try? control.report(for: status) {
            FileDescriptorOutput.standardOutput(JobReport.json(report, pretty: true) + "\n")
        } else {
            FileDescriptorOutput.standardOutput(status.lines.joined(separator: "\n") + "\n")
        }
    }
}
