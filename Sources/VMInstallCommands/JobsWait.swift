import VMInstallKit

/// `--wait ID [--timeout SECONDS] [--until STATE]`.
enum JobsWait {
    static func run(_ id: JobID, until target: JobState?, timeout: Double?, json: Bool, control: JobControl)
        throws(VMInstallError) -> JobsToolExitCode
    {
        let deadline = timeout.map { Deadline.after(seconds: $0) } ?? .never
        let outcome = try JobWait(control: control).wait(for: id, until: target, deadline: deadline)
        let status: JobStatus
        let code: JobsToolExitCode
        switch outcome {
        case .reached(let s):
            (status, code) = (s, .success)
        case .timedOut(let s):
            (status, code) = (s, .waitTimedOut)
        case .ended(let s):
            status = s
            switch s.state {
            case .failed: code = .waitFailed
            case .canceled: code = .waitCanceled
            default: code = .waitEndedElsewhere
            }
        }
        JobsOutput.status(status, json: json, control: control)
        if code == .waitTimedOut {
            FileDescriptorOutput.standardError(
                "vm-install-jobs: job \(id) is still in state \(status.state) after \(timeout ?? 0) seconds\n")
        }
        return code
    }
}
